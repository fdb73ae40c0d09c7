using System.Runtime.InteropServices;
using System.Text.Json;

namespace PocketCoder.Agents.Processes;

/// <summary>
/// What an agent's npm launcher would start, started directly. Copilot CLI's <c>copilot</c> (<c>npm-loader.js</c>) and Qwen Code's
/// <c>qwen</c> (<c>cli-entry.js</c>) are each a Node process that starts the real program as a child and then waits on it for the
/// whole session: 45 MB of the session's memory and a Node start-up before every start and every resume (docs/performance.md,
/// "Resources"). Only the two launchers read here are recognised, by their package's name and their file; anything else, or a
/// package laid out otherwise, is started as it is.
/// </summary>
public static class NpmLaunchers
{
    /// <summary>How to start the program directly: the executable, arguments before the agent's own, and variables to set.</summary>
    public sealed record Direct(string Executable, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment);

    /// <summary>The program <paramref name="executable"/> launches, or null to start <paramref name="executable"/> itself.</summary>
    /// <param name="command">The agent's command: its PATH finds the <c>node</c> a launcher's <c>#!/usr/bin/env node</c> would.</param>
    public static Direct? Of(string executable, AgentCommand command)
    {
        var real = FileSystem.RealPath.Resolve(executable) ?? executable;
        var package = Path.GetDirectoryName(real);
        if (package is null)
        {
            return null;
        }

        return (Path.GetFileName(real), PackageField(package, "name")) switch
        {
            ("npm-loader.js", "@github/copilot") => Copilot(package),
            ("cli-entry.js", "@qwen-code/qwen-code") => Qwen(executable, package, command),
            _ => null,
        };
    }

    /// <summary>
    /// Copilot CLI 1.0's loader starts the native binary of its platform package, <c>@github/copilot-linux-x64/copilot</c>, with the
    /// same arguments and environment (<c>linuxmusl</c> on a musl system). The package is found as Node's resolution finds it from
    /// the loader: in the loader package's own <c>node_modules</c> first (a global install nests it there), then in each
    /// <c>node_modules</c> above; and only of the loader's own version, so a stray platform package of another never runs instead.
    /// </summary>
    private static Direct? Copilot(string package)
    {
        var platform = RuntimeInformation.RuntimeIdentifier.StartsWith("linux-musl", StringComparison.Ordinal) ? "linuxmusl" : "linux";
        var arch = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            _ => null,
        };
        if (arch is null || PackageField(package, "version") is not { } version)
        {
            return null;
        }

        var name = Path.Combine("@github", $"copilot-{platform}-{arch}");
        var found = NodeModulesFrom(package).Select(modules => Path.Combine(modules, name)).FirstOrDefault(Directory.Exists);
        return found is not null && PackageField(found, "version") == version && File.Exists(Path.Combine(found, "copilot"))
            ? new Direct(Path.Combine(found, "copilot"), [], new Dictionary<string, string>())
            : null;
    }

    /// <summary>The <c>node_modules</c> folders Node looks in for a package required from <paramref name="folder"/>, nearest first.</summary>
    private static IEnumerable<string> NodeModulesFrom(string folder)
    {
        for (var current = folder; current is not null; current = Path.GetDirectoryName(current))
        {
            if (Path.GetFileName(current) != "node_modules")
            {
                yield return Path.Combine(current, "node_modules");
            }
        }
    }

    /// <summary>
    /// Qwen Code 0.24's entry runs <c>node --expose-gc cli.js</c> beside it with the same arguments (its memory monitor calls
    /// <c>gc()</c>). <c>QWEN_CODE_CLI</c>, which it sets for the agent to call itself by, names the launcher as before.
    /// </summary>
    private static Direct? Qwen(string executable, string package, AgentCommand command)
    {
        var cli = Path.Combine(package, "cli.js");
        var node = new AgentCommand("node", command.Environment).Resolve();
        return File.Exists(cli) && node is not null && Path.IsPathRooted(node)
            ? new Direct(node, ["--expose-gc", cli], new Dictionary<string, string> { ["QWEN_CODE_CLI"] = executable })
            : null;
    }

    /// <summary>A string field of the package.json in <paramref name="folder"/>, or null.</summary>
    /// <summary>
    /// The version of the npm package <paramref name="executable"/> belongs to (its link followed, the nearest <c>package.json</c>
    /// above it, a few folders at most, inside a <c>node_modules</c>), read and never run; null for anything not installed so.
    /// </summary>
    public static string? PackageVersion(string executable)
    {
        var real = FileSystem.RealPath.Resolve(executable) ?? executable;
        var folder = Path.GetDirectoryName(real);
        for (var depth = 0; depth < 4 && folder is not null && Path.GetFileName(folder) != "node_modules"; depth++, folder = Path.GetDirectoryName(folder))
        {
            // Only a package's own folder: a package.json of the project or the system the executable happens to lie under is not its.
            if (folder.Contains("/node_modules/", StringComparison.Ordinal) && File.Exists(Path.Combine(folder, "package.json")))
            {
                return PackageField(folder, "version");
            }
        }

        return null;
    }

    private static string? PackageField(string folder, string field)
    {
        try
        {
            using var stream = File.OpenRead(Path.Combine(folder, "package.json"));
            using var json = JsonDocument.Parse(stream);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(field, out var value)
                && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
