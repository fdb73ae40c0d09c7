using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// OpenCode, driven through its own HTTP server (<c>opencode serve</c>): one server per project on a private
/// loopback port with a generated password, shared by that project's sessions, started on first use and stopped
/// when its last session stops. Every sensitive tool call comes back as <c>permission.asked</c> and is decided
/// by the gatekeeper.
/// </summary>
/// <param name="flavor">OpenCode itself, or a fork that keeps its server (Kilo Code: <see cref="OpenCodeFlavor.Kilo"/>).</param>
public sealed class OpenCodeAdapter(AgentCommand command, OpenCodeFlavor? flavor = null) : IAgentAdapter, IAgentConversations
{
    public const string AgentId = "opencode";

    private readonly OpenCodeFlavor _flavor = flavor ?? OpenCodeFlavor.OpenCode;
    private readonly Dictionary<string, OpenCodeServer> _servers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _serversLock = new(1, 1);

    public string Id => _flavor.AgentId;

    private string Name => _flavor.Name;

    private string InstallHint => _flavor.InstallHint;

    // `opencode --version` prints "1.18.33".
    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) =>
        command.ProbeAsync(Name, InstallHint, ["--version"], line => line.Split(' ')[^1], cancellationToken);

    public string ProcessName => _flavor.Executable;

    public Task<IReadOnlyList<AgentConversation>> ListConversationsAsync(string projectPath, CancellationToken cancellationToken) =>
        new OpenCodeConversations(command, Name, InstallHint).ListAsync(projectPath, cancellationToken);

    public Task<ConversationHistory?> ReadConversationAsync(string projectPath, string conversationId, CancellationToken cancellationToken) =>
        new OpenCodeConversations(command, Name, InstallHint).ReadAsync(projectPath, conversationId, cancellationToken);

    /// <summary>
    /// OpenCode keeps its sessions in its own database: one is carried over with its own CLI, exported from one home and imported
    /// into the other, where the source's changed later. On the agent's home's side opencode runs with an empty config folder:
    /// what the agent wrote into its config folder is never loaded outside its sandbox.
    /// </summary>
    public async Task<bool> CopyConversationAsync(string workingDirectory, string conversationId, string agentHome, bool toAgentHome,
        CancellationToken cancellationToken)
    {
        var config = Directory.CreateTempSubdirectory("pocketcoder-opencode-");
        try
        {
            var home = new AgentHome(agentHome, command.Home);
            var agents = new OpenCodeConversations(command with
            {
                Environment = new Dictionary<string, string?>(command.Environment, StringComparer.Ordinal)
                {
                    ["XDG_DATA_HOME"] = home.Map(command.Xdg("XDG_DATA_HOME", ".local/share")),
                    ["XDG_STATE_HOME"] = home.Map(command.Xdg("XDG_STATE_HOME", ".local/state")),
                    ["XDG_CACHE_HOME"] = home.Map(command.Xdg("XDG_CACHE_HOME", ".cache")),
                    ["XDG_CONFIG_HOME"] = config.FullName,
                    [_flavor.Variable("CONFIG_DIR")] = null,
                    [_flavor.Variable("CONFIG")] = null,
                    [_flavor.Variable("CONFIG_CONTENT")] = null,
                },
            }, Name, InstallHint);
            var owners = new OpenCodeConversations(command, Name, InstallHint);
            var (from, to) = toAgentHome ? (owners, agents) : (agents, owners);
            if (await from.ExportAsync(workingDirectory, conversationId, cancellationToken).ConfigureAwait(false) is not { } export)
            {
                return false;
            }

            if (await to.ExportAsync(workingDirectory, conversationId, cancellationToken).ConfigureAwait(false) is not { } there || there.Updated < export.Updated)
            {
                var file = Path.Combine(config.FullName, "session.json");
                await File.WriteAllTextAsync(file, toAgentHome ? export.Json : AsData(export.Json), cancellationToken).ConfigureAwait(false);
                await to.ImportAsync(workingDirectory, file, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            config.Delete(recursive: true);
        }
    }

    /// <summary>
    /// What of a session, exported from the agent's home, the owner's OpenCode imports: its messages, and of its description
    /// only what names and dates it. A session's own permission rules outrank every config (an allowed command could have set
    /// "allow everything" in the agent's database), and none of the agent's reaches the owner's.
    /// </summary>
    internal static string AsData(string export)
    {
        var session = JsonNode.Parse(export) as JsonObject ?? throw new JsonException("An OpenCode export is a JSON object.");
        if (session["info"] is JsonObject info)
        {
            foreach (var key in info.Select(property => property.Key).Where(key => !SessionDescription.Contains(key)).ToList())
            {
                info.Remove(key);
            }
        }

        return session.ToJsonString();
    }

    private static readonly HashSet<string> SessionDescription = new(StringComparer.Ordinal)
    {
        "id", "slug", "projectID", "directory", "parentID", "title", "version", "time", "summary",
    };

    // The opencode this server runs; `opencode --session ID` opens the session in OpenCode's own terminal interface.
    public IReadOnlyList<string> ResumeCommand(string conversationId) => [command.Resolve() ?? _flavor.Executable, "--session", conversationId];

    public async Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        var server = await AcquireServerAsync(options, cancellationToken).ConfigureAwait(false);
        try
        {
            return await OpenCodeSession.StartAsync(server, options, sink, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ReleaseServerAsync(server).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<OpenCodeServer> AcquireServerAsync(AgentStartOptions options, CancellationToken cancellationToken)
    {
        var executable = command.ResolveToStart(Id, Name, InstallHint);
        var directory = Path.GetFullPath(options.WorkingDirectory);
        if (OpenCodeProjectCheck.FindRepositoryCode(directory, _flavor) is { } problem)
        {
            throw new AgentUnavailableException(Id, problem);
        }

        // One server serves the sessions of a folder that get the same MCP servers (their config is the server's own).
        var environment = command.EnvironmentWith([]);
        var key = directory;
        if (options.McpServers.Servers.Count > 0)
        {
            CheckMcpNames(options.McpServers.Servers.Select(s => s.Name).ToList());
            var (config, secrets) = Mcp.McpFormats.OpenCode(options.McpServers.Servers);
            environment = command.EnvironmentWith(secrets);
            environment[_flavor.Variable("CONFIG_CONTENT")] = MergedConfig(command.Setting(_flavor.Variable("CONFIG_CONTENT")), config);
            key = $"{directory}\n{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
                string.Join("\n", secrets.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}")) + "\n" + config)))}";
        }

        var state = State();
        if (options.Sandbox is { } sandbox)
        {
            var home = new AgentHome(sandbox.Home, command.Home);
            foreach (var marker in _flavor.MigrationMarkers.Select(name => Path.Combine(ConfigFolder, name)).Where(path => home.Probe(path) is null))
            {
                home.Write(marker, "");
            }

            // Its keys as placeholders, its providers pointed at PocketCoder's model endpoints; auth.json is written here, not copied.
            var forwards = OpenCodeSecrets.Hold(command, _flavor, ConfigFolder, DataFolder, home, state.Endpoints, environment);
            state = state with { Forwards = forwards, Logins = [] };
        }

        await _serversLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_servers.TryGetValue(key, out var running) && running.IsAlive)
            {
                running.AddUser();
                return running;
            }

            var server = await OpenCodeServer.StartAsync(_flavor, directory, key, environment,
                (arguments, confined) => options.Spec(_flavor.Executable, executable, arguments, confined, state, workingDirectory: directory), ReleaseServerAsync,
                cancellationToken).ConfigureAwait(false);
            _servers[key] = server;
            server.AddUser();
            return server;
        }
        finally
        {
            _serversLock.Release();
        }
    }

    /// <summary>One session is done with the project's server; the last one out stops it.</summary>
    private async Task ReleaseServerAsync(OpenCodeServer server)
    {
        await _serversLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (server.RemoveUser() > 0)
            {
                return;
            }

            if (_servers.TryGetValue(server.Key, out var current) && current == server)
            {
                _servers.Remove(server.Key);
            }
        }
        finally
        {
            _serversLock.Release();
        }

        await server.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Names OpenCode's own permissions begin with (<c>apply_patch</c>, <c>external_directory</c>, <c>doom_loop</c>,
    /// <c>plan_enter</c>): a server so named would have a tool (<c>apply</c>'s <c>patch</c>) that OpenCode names like one of its
    /// own, shown and granted as that. Such a server is not given to OpenCode.
    /// </summary>
    private static readonly HashSet<string> ReservedMcpNames = new(StringComparer.OrdinalIgnoreCase) { "apply", "external", "doom", "plan", "workflow", "read", "list" };

    public bool TakesMcpServer(Mcp.McpServer server) => !ReservedMcpNames.Contains(server.Name);

    /// <summary>
    /// Refuses to start OpenCode with a server named like one of its own config's (OpenCode would merge the two: the owner's
    /// token sent to the repository's URL), or with two servers one of whose names begins the other's and an <c>_</c>
    /// (OpenCode names tools <c>SERVER_TOOL</c>: <c>probe_touch_file</c> could be either's, and be ruled as the wrong one).
    /// </summary>
    private void CheckMcpNames(IReadOnlyList<string> given)
    {
        var own = OwnMcpServerNames();
        if (given.FirstOrDefault(name => own.Contains(name)) is { } taken)
        {
            throw new AgentUnavailableException(Id, $"The MCP server \"{taken}\" is both in OpenCode's own config and enabled in PocketCoder: " +
                "OpenCode would merge the two. Turn one off, or rename one.");
        }

        var all = given.Concat(own).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var name in all)
        {
            if (all.FirstOrDefault(other => other.Length > name.Length && other.StartsWith(name + "_", StringComparison.OrdinalIgnoreCase)) is { } longer)
            {
                throw new AgentUnavailableException(Id, $"The MCP servers \"{name}\" and \"{longer}\" would give OpenCode tools it names alike " +
                    $"({name}_…): rename one, or turn one off for OpenCode sessions.");
            }
        }
    }

    /// <summary>
    /// The names in the <c>mcp</c> of every config file OpenCode 1.18 reads for the owner: its config folder's, the older
    /// TOML <c>config</c> there, <c>~/.opencode/</c>'s, OPENCODE_CONFIG_DIR's, OPENCODE_CONFIG and OPENCODE_CONFIG_CONTENT.
    /// (An organisation's remote config, fetched by OpenCode itself, cannot be read here: docs/security.md.)
    /// </summary>
    private HashSet<string> OwnMcpServerNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (ReadText(Path.Combine(ConfigFolder, "config")) is { } tomlConfig)
        {
            names.UnionWith(System.Text.RegularExpressions.Regex.Matches(tomlConfig, @"^\s*\[\s*mcp\.""?([^\]"".]+)",
                System.Text.RegularExpressions.RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()));
        }

        var folders = OtherConfigFolders(onlyExisting: false);
        var files = Settings().Concat(folders.SelectMany(folder => _flavor.ConfigFiles.Select(file => Path.Combine(folder, file))))
            .Append(command.Setting(_flavor.Variable("CONFIG")) ?? "");
        var texts = files.Select(ReadText).Append(command.Setting(_flavor.Variable("CONFIG_CONTENT")));
        foreach (var text in texts.OfType<string>())
        {
            if (ParseConfig(text)?["mcp"] is JsonObject mcp)
            {
                names.UnionWith(mcp.Select(server => server.Key));
            }
        }

        return names;
    }

    /// <summary>A config file's text; null where there is none, or none OpenCode could read either.</summary>
    private static string? ReadText(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadAllText(file) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>OpenCode's config as it reads it: JSON with comments and trailing commas; null where it is not.</summary>
    private static JsonObject? ParseConfig(string text)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
                as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The owner's own inline config (if they set one), with the enabled MCP servers added to its <c>mcp</c>.</summary>
    private static string MergedConfig(string? owners, string ours)
    {
        // Unreadable to OpenCode as well, if it is not JSON with comments.
        var merged = owners is { Length: > 0 } && ParseConfig(owners) is { } theirs ? theirs : [];

        var mcp = merged["mcp"] as JsonObject ?? [];
        foreach (var (name, server) in JsonNode.Parse(ours)!["mcp"]!.AsObject().ToList())
        {
            mcp[name] = server!.DeepClone();
        }

        merged["mcp"] = mcp;
        return merged.ToJsonString();
    }

    private string ConfigFolder => Path.Combine(command.Xdg("XDG_CONFIG_HOME", ".config"), _flavor.Folder);

    /// <summary>
    /// Where OpenCode keeps its sessions, logs, caches and config: an opencode folder in each XDG base folder, from the agent's
    /// home of PocketCoder's own in a sandbox. It writes to its config folders on start (a .gitignore, its plugin package), so
    /// they stay writable, <c>~/.opencode</c> and OPENCODE_CONFIG_DIR too (1.18 hung at start where that was read-only); its
    /// settings files and the folders of its plugins, agents, commands, modes and tools there do not (plugins never load anyway:
    /// OPENCODE_PURE); the owner's login is copied in.
    /// </summary>
    private AgentState State() => AgentState.Of(
    [
        ConfigFolder,
        DataFolder,
        Path.Combine(command.Xdg("XDG_STATE_HOME", ".local/state"), _flavor.Folder),
        Path.Combine(command.Xdg("XDG_CACHE_HOME", ".cache"), _flavor.Folder),
        .. _flavor.MoreStateFolders.Select(folder => Path.Combine(command.Xdg("XDG_STATE_HOME", ".local/state"), folder)),
        .. OtherConfigFolders(onlyExisting: true),
    ],
    [
        .. Settings().Select(file => new AgentConfig(file, file.EndsWith(".json", StringComparison.Ordinal) ? Placeholder.JsonObject : Placeholder.Empty)),
        new(Path.Combine(ConfigFolder, "config"), Placeholder.Empty),
        new(Path.Combine(ConfigFolder, "AGENTS.md"), Placeholder.Empty),
        .. OtherConfigFolders(onlyExisting: true).SelectMany(folder => _flavor.ConfigFiles
            .Select(file => new AgentConfig(Path.Combine(folder, file), Placeholder.JsonObject))),
        .. OtherConfigFolders(onlyExisting: true).Prepend(ConfigFolder).SelectMany(config =>
            new[] { "plugin", "plugins", "agent", "agents", "command", "commands", "mode", "modes", "tool", "tools" }
            .Select(folder => new AgentConfig(Path.Combine(config, folder), Placeholder.Folder))),
    ], [Path.Combine(DataFolder, "auth.json")]) with
    {
        Endpoints = Processes.Network.ModelHosts.OpenCode(command.Setting, _flavor, ConfigFolder, DataFolder),
        // PocketCoder talks to its server on the sandbox's loopback.
        Serves = true,
    };

    /// <summary>
    /// The config folders OpenCode reads besides its own: <c>~/.opencode</c> and OPENCODE_CONFIG_DIR. Sandboxed, only those the
    /// owner has (a mount point made in the owner's home would be a config folder to the owner's own OpenCode from then on).
    /// </summary>
    private IEnumerable<string> OtherConfigFolders(bool onlyExisting) =>
        _flavor.ProjectFolders.Select(folder => Path.Combine(command.Home, folder))
            .Append(command.Setting(_flavor.Variable("CONFIG_DIR")) is { Length: > 0 } named ? command.InHome(named) : null)
            .OfType<string>().Where(folder => !onlyExisting || Directory.Exists(folder));

    private string DataFolder => Path.Combine(command.Xdg("XDG_DATA_HOME", ".local/share"), _flavor.Folder);

    /// <summary>The files OpenCode reads its settings from (permissions, agents, MCP servers): read-only in its sandbox.</summary>
    private IEnumerable<string> Settings() => _flavor.ConfigFiles.Append("config.json").Select(file => Path.Combine(ConfigFolder, file));

    /// <summary>OpenCode's plan agent only proposes; build acts. Every other mode is enforced by the gatekeeper.</summary>
    internal static string AgentFor(string mode, OpenCodeFlavor flavor) => mode == SessionModes.Plan ? "plan" : flavor.BuildAgent;
}
