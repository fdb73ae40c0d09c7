using System.Text.Json;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// What GitHub Copilot CLI 1.0.102 would run over ACP that nobody asked for, found before it starts (Gate/CopilotBypassTests):
/// <list type="bullet">
/// <item>Hooks. It runs a repository's <c>.github/hooks/*.json</c> and the hooks of its <c>.github/copilot/settings*.json</c> in a
/// folder it does not trust, and the owner's (<c>~/.copilot/settings.json</c>, <c>~/.copilot/hooks/</c>), at session start and
/// before every prompt, whatever <c>disableAllHooks</c> says. No option turns them off, so PocketCoder does not start it
/// where there are any, naming the file.</item>
/// <item>MCP servers of its own configs: the owner's (<c>~/.copilot/mcp-config.json</c>) each turned off by name with
/// <c>--disable-mcp-server</c>; a repository's (<c>.mcp.json</c>, <c>.github/mcp.json</c>, <c>.vscode/mcp.json</c>) start only in a
/// folder the owner trusts (<c>trustedFolders</c> of <c>~/.copilot/config.json</c>), and there they started whatever that flag said,
/// so it is not started in a trusted folder whose repository has any. The ones the owner enabled in PocketCoder come through
/// <c>session/new</c>.</item>
/// <item>Plugins the owner installed (<c>copilot plugin install</c>): listed in <c>~/.copilot/config.json</c> with the folder their
/// files are in (under <c>~/.copilot/installed-plugins</c>, or wherever that says). It loads them in any folder, trusted or not:
/// their hooks run like the ones above, and their MCP servers start unasked, <c>--disable-mcp-server</c> or not, within a turn. So it is
/// not started where a plugin has either.</item>
/// </list>
/// </summary>
public static class CopilotGate
{
    /// <summary>The arguments that turn off the servers of its own configs; throws when hooks would run.</summary>
    /// <param name="project">The session's folder.</param>
    /// <param name="copilotHome">Its folder as it sees it (<c>COPILOT_HOME</c>, else <c>~/.copilot</c>).</param>
    /// <exception cref="AgentUnavailableException">A hook was found.</exception>
    public static IReadOnlyList<string> Arguments(string agentId, string project, string copilotHome)
    {
        if (Hooks(project, copilotHome) is { } found)
        {
            throw new AgentUnavailableException(agentId,
                $"Copilot CLI would run the hooks in {found} without asking: it runs every hook it finds, a repository's too, and cannot be told " +
                "not to. PocketCoder does not start Copilot CLI where there are any: remove them (or move them out of that file), or use another agent.");
        }

        var plugins = Plugins(copilotHome).ToList();
        if (plugins.Select(PluginCode).FirstOrDefault(file => file is not null) is { } pluginCode)
        {
            throw new AgentUnavailableException(agentId,
                $"Copilot CLI would run the hooks or MCP servers of the plugin in {pluginCode} without asking: it runs every installed plugin's, and " +
                "cannot be told not to. PocketCoder does not start Copilot CLI where there are any: uninstall that plugin (`copilot plugin uninstall`), or use another agent.");
        }

        var repositoryConfigs = RepositoryFolders(project).SelectMany(folder => new[]
        {
            Path.Combine(folder, ".mcp.json"), Path.Combine(folder, ".github", "mcp.json"), Path.Combine(folder, ".vscode", "mcp.json"),
        }).ToList();
        if (Trusted(project, copilotHome) && repositoryConfigs.FirstOrDefault(file => ServerNames(file).Any()) is { } repositoryServers)
        {
            throw new AgentUnavailableException(agentId,
                $"Copilot CLI trusts this folder (trustedFolders in {Path.Combine(copilotHome, "config.json")}), and would start the MCP servers of " +
                $"{repositoryServers} without asking: it does not keep a trusted folder's servers off when told to. Remove the folder from its trusted " +
                "folders, or use another agent.");
        }

        List<string> arguments = [];
        var configs = new[] { Path.Combine(copilotHome, "mcp-config.json") }.Concat(repositoryConfigs);
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

    /// <summary>
    /// Does the owner trust the folder or one above it? 1.0.102 keeps its trusted folders in config.json (it ignores settings.json's
    /// <c>trustedFolders</c>, "not recognized"); both are read, as a later version may not.
    /// </summary>
    private static bool Trusted(string project, string copilotHome)
    {
        var folder = Path.GetFullPath(project).TrimEnd(Path.DirectorySeparatorChar);
        return new[] { ("config.json", "trustedFolders"), ("config.json", "trusted_folders"), ("settings.json", "trustedFolders") }
            .Select(source => Read(Path.Combine(copilotHome, source.Item1)) is { ValueKind: JsonValueKind.Object } root
                && root.TryGetProperty(source.Item2, out var list) && list.ValueKind == JsonValueKind.Array ? list : (JsonElement?)null)
            .OfType<JsonElement>()
            .SelectMany(list => list.EnumerateArray())
            .Where(entry => entry.ValueKind == JsonValueKind.String && entry.GetString() is { Length: > 0 })
            .Select(entry => Path.GetFullPath(entry.GetString()!).TrimEnd(Path.DirectorySeparatorChar))
            .Any(trusted => trusted.Length == 0 || folder == trusted || folder.StartsWith(trusted + Path.DirectorySeparatorChar, StringComparison.Ordinal));
    }

    // Where a plugin's manifest may be, as 1.0.102 looks for it.
    private static readonly string[] Manifests = ["plugin.json", ".plugin/plugin.json", ".github/plugin/plugin.json", ".claude-plugin/plugin.json"];

    /// <summary>The folders of the installed plugins: those config.json lists, and any under installed-plugins (MARKETPLACE/NAME).</summary>
    private static IEnumerable<string> Plugins(string copilotHome)
    {
        var root = Path.Combine(copilotHome, "installed-plugins");
        var listed = Read(Path.Combine(copilotHome, "config.json")) is { ValueKind: JsonValueKind.Object } config
            && config.TryGetProperty("installedPlugins", out var installed) && installed.ValueKind == JsonValueKind.Array
                ? installed.EnumerateArray()
                    .Select(plugin => plugin.ValueKind == JsonValueKind.Object && plugin.TryGetProperty("cache_path", out var folder)
                        && folder.ValueKind == JsonValueKind.String && folder.GetString() is { Length: > 0 } path ? Path.GetFullPath(path, root) : null)
                    .OfType<string>()
                : [];
        return listed.Concat(Folders(root).SelectMany(Folders)).Where(Directory.Exists).Distinct(StringComparer.Ordinal);
    }

    /// <summary>
    /// The file that gives a plugin hooks or MCP servers (its default <c>hooks/hooks.json</c> or <c>.mcp.json</c> with any, or a
    /// manifest naming some), or null.
    /// </summary>
    private static string? PluginCode(string plugin) =>
        new[] { Path.Combine(plugin, "hooks", "hooks.json"), Path.Combine(plugin, "hooks.json") }.FirstOrDefault(File.Exists)
        ?? new[] { Path.Combine(plugin, ".mcp.json") }.FirstOrDefault(file => ServerNames(file).Any())
        ?? Manifests.Select(manifest => Path.Combine(plugin, manifest))
            .FirstOrDefault(manifest => Read(manifest) is { ValueKind: JsonValueKind.Object } root
                && new[] { "hooks", "mcpServers" }.Any(key => root.TryGetProperty(key, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)));

    private static IEnumerable<string> Folders(string folder)
    {
        try
        {
            return Directory.Exists(folder) ? [.. Directory.EnumerateDirectories(folder)] : [];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return [];
        }
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
