using System.Text.Json;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// What GitHub Copilot CLI 1.0.102 would run over ACP that nobody asked for, found before it starts (Gate/CopilotBypassTests):
/// <list type="bullet">
/// <item>Hooks. It runs a repository's <c>.github/hooks/*.json</c> and the hooks of its <c>.github/copilot/settings*.json</c> in a
/// folder it does not trust, and the owner's (<c>~/.copilot/settings.json</c>, <c>~/.copilot/hooks/</c>), at session start and
/// before every prompt, whatever <c>disableAllHooks</c> says. No option turns them off, so PocketCoder does not start it
/// where there are any, naming the file.</item>
/// <item>MCP servers of its own configs (<c>~/.copilot/mcp-config.json</c>; a repository's <c>.mcp.json</c>, <c>.github/mcp.json</c>
/// and <c>.vscode/mcp.json</c> where the folder is trusted): each turned off by name with <c>--disable-mcp-server</c>. The ones
/// the owner enabled in PocketCoder come through <c>session/new</c>.</item>
/// </list>
/// </summary>
public static class CopilotGate
{
    /// <summary>The arguments that turn off the servers of its own configs; throws when hooks would run.</summary>
    /// <param name="project">The session's folder.</param>
    /// <param name="home">The owner's home as the agent sees it.</param>
    /// <exception cref="AgentUnavailableException">A hook was found.</exception>
    public static IReadOnlyList<string> Arguments(string agentId, string project, string home)
    {
        var copilotHome = Path.Combine(home, ".copilot");
        if (Hooks(project, copilotHome) is { } found)
        {
            throw new AgentUnavailableException(agentId,
                $"Copilot CLI would run the hooks in {found} without asking: it runs every hook it finds, a repository's too, and cannot be told " +
                "not to. PocketCoder does not start Copilot CLI where there are any: remove them (or move them out of that file), or use another agent.");
        }

        List<string> arguments = [];
        var configs = new[] { Path.Combine(copilotHome, "mcp-config.json") }
            .Concat(RepositoryFolders(project).SelectMany(folder => new[]
            {
                Path.Combine(folder, ".mcp.json"), Path.Combine(folder, ".github", "mcp.json"), Path.Combine(folder, ".vscode", "mcp.json"),
            }));
        foreach (var name in configs.SelectMany(ServerNames).Distinct(StringComparer.Ordinal))
        {
            arguments.AddRange(["--disable-mcp-server", name]);
        }

        return arguments;
    }

    /// <summary>The first file with hooks, or null.</summary>
    private static string? Hooks(string project, string copilotHome)
    {
        var hookFolders = RepositoryFolders(project).Select(folder => Path.Combine(folder, ".github", "hooks")).Append(Path.Combine(copilotHome, "hooks"));
        foreach (var folder in hookFolders.Where(Directory.Exists))
        {
            if (Directory.EnumerateFiles(folder, "*.json").FirstOrDefault() is { } file)
            {
                return file;
            }
        }

        var settings = RepositoryFolders(project)
            .SelectMany(folder => new[] { Path.Combine(folder, ".github", "copilot", "settings.json"), Path.Combine(folder, ".github", "copilot", "settings.local.json") })
            .Append(Path.Combine(copilotHome, "settings.json"));
        return settings.FirstOrDefault(file => Read(file) is { ValueKind: JsonValueKind.Object } root
            && root.TryGetProperty("hooks", out var hooks) && hooks.ValueKind == JsonValueKind.Object && hooks.EnumerateObject().Any());
    }

    /// <summary>The working folder and those above it up to its repository's root (where Copilot looks for a repository's config).</summary>
    private static IEnumerable<string> RepositoryFolders(string project)
    {
        for (var current = new DirectoryInfo(project); current is not null; current = current.Parent)
        {
            yield return current.FullName;
            if (Directory.Exists(Path.Combine(current.FullName, ".git")) || File.Exists(Path.Combine(current.FullName, ".git")))
            {
                yield break;
            }
        }
    }

    private static IEnumerable<string> ServerNames(string file) =>
        Read(file) is { ValueKind: JsonValueKind.Object } root
        && (root.TryGetProperty("mcpServers", out var servers) || root.TryGetProperty("servers", out servers))
        && servers.ValueKind == JsonValueKind.Object
            ? [.. servers.EnumerateObject().Select(server => server.Name)]
            : [];

    private static JsonElement? Read(string file)
    {
        try
        {
            // Copilot's settings files may have comments ("// User settings belong in settings.json.").
            return File.Exists(file) && new FileInfo(file).Length < 1_000_000
                ? JsonElement.Parse(File.ReadAllText(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
                : null;
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
