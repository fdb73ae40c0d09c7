using PocketCoder.Agents.Mcp;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// OpenAI Codex, driven as ONE long-lived <c>codex app-server</c> process per session: JSON-RPC lines over
/// stdio, one thread per session, and every command or file change it wants to make asked on the same pipe.
/// </summary>
public sealed class CodexAdapter(AgentCommand command) : IAgentAdapter, IAgentConversations, IAgentFolders, IAgentMcpConfig
{
    public const string AgentId = "codex";

    public string Id => AgentId;

    private const string Name = "Codex";
    private const string InstallHint = "Install it with `npm install -g @openai/codex`, or point POCKETCODER_CODEX_PATH at the codex executable.";

    // `codex --version` prints "codex-cli 0.169.0".
    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) =>
        command.ProbeAsync(Name, InstallHint, ["--version"], line => line.Split(' ')[^1], cancellationToken);

    public string ProcessName => "codex";

    private string CodexHome => command.Setting("CODEX_HOME") is { Length: > 0 } codexHome ? codexHome : Path.Combine(command.Home, ".codex");

    /// <summary>
    /// Codex's state in a sandbox: CODEX_HOME from the agent's home of PocketCoder's own. What decides what Codex may run comes in
    /// read-only, an empty stand-in where the owner has none: its config (MCP servers, the <c>notify</c> program), command rules,
    /// hooks, subagents, prompts and instructions; the owner's login is copied in.
    /// </summary>
    private AgentState State() => new AgentState([CodexHome],
    [
        new(Path.Combine(CodexHome, "config.toml"), Placeholder.Empty),
        new(Path.Combine(CodexHome, "AGENTS.md"), Placeholder.Empty),
        new(Path.Combine(CodexHome, "AGENTS.override.md"), Placeholder.Empty),
        new(Path.Combine(CodexHome, "hooks.json"), Placeholder.JsonObject),
        // Variables Codex loads at every start (BASH_ENV, PATH, LD_PRELOAD would reach every command of every later session).
        new(Path.Combine(CodexHome, ".env"), Placeholder.Empty),
        .. new[] { "rules", "hooks", "agents", "prompts" }.Select(f => new AgentConfig(Path.Combine(CodexHome, f), Placeholder.Folder)),
    ], Processes.Network.ModelHosts.CodexUsesOpenAi(CodexHome) ? [Path.Combine(CodexHome, "auth.json")] : [], [])
    {
        // auth.json (an OpenAI key, or a ChatGPT login with its refresh token) is copied in only for OpenAI's own provider: one of the
        // owner's (model_provider) logs in with its own key variable.
        Endpoints = Processes.Network.ModelHosts.Codex(command.Setting, CodexHome),
    };

    /// <summary>
    /// What sandboxed Codex runs without: its update check and its plugins, which at every start fetch a plugin marketplace from
    /// GitHub and a catalog from ChatGPT (verified with 0.169: with these off it reaches its model and nothing else). Its sandbox
    /// would otherwise have those connections refused, or asked about at the start of every session.
    /// </summary>
    private static readonly string[] Sandboxed = ["-c", "check_for_update_on_startup=false", "-c", "features.plugins=false"];

    /// <summary>Codex loads the servers of its config.toml itself; PocketCoder makes their tools ask, and can turn one off.</summary>
    public bool LoadsOwnMcpServers => true;

    // Only the names: what each runs stays in the owner's TOML, which Codex reads.
    public IReadOnlyList<OwnMcpServer> OwnMcpServers(string projectPath)
    {
        var config = Path.Combine(CodexHome, "config.toml");
        return CodexMcpApprovals.For(config).Servers.Select(name => new OwnMcpServer(name, null, config)).ToList();
    }

    public Task<IReadOnlyList<AgentConversation>> ListConversationsAsync(string projectPath, CancellationToken cancellationToken) =>
        new CodexConversations(command, Name, InstallHint).ListAsync(projectPath, cancellationToken);

    public Task<ConversationHistory?> ReadConversationAsync(string projectPath, string conversationId, CancellationToken cancellationToken) =>
        new CodexConversations(command, Name, InstallHint).ReadAsync(projectPath, conversationId, cancellationToken);

    public Task<IReadOnlyList<AgentFolder>> ListFoldersAsync(int max, CancellationToken cancellationToken) =>
        new CodexConversations(command, Name, InstallHint).FoldersAsync(max, cancellationToken);

    /// <summary>
    /// Codex keeps a thread in one rollout file, <c>CODEX_HOME/sessions/YYYY/MM/DD/rollout-TIME-ID.jsonl</c>: copied to the same place
    /// in the other home, toward the owner's with only its JSON lines.
    /// </summary>
    public Task<bool> CopyConversationAsync(string workingDirectory, string conversationId, string agentHome, bool toAgentHome,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(conversationId, out var guid) || guid.ToString("D") != conversationId)
        {
            return Task.FromResult(false);
        }

        // Found by name in the owner's CODEX_HOME, or in the agent's copy of it; the agent's is then read through a handle of its
        // home's root (never through a link it left there) and checked to be a regular file.
        var home = new AgentHome(agentHome, command.Home);
        var sessions = toAgentHome ? Path.Combine(CodexHome, "sessions") : home.Map(Path.Combine(CodexHome, "sessions"));
        var found = Directory.Exists(sessions)
            ? new DirectoryInfo(sessions).EnumerateFiles($"rollout-*-{conversationId}.jsonl", SearchOption.AllDirectories)
                .Where(f => f.LinkTarget is null).OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault()
            : null;
        if (found is null)
        {
            return Task.FromResult(false);
        }

        var owners = Path.Combine(CodexHome, "sessions", Path.GetRelativePath(sessions, found.FullName));
        return Task.FromResult(toAgentHome ? home.CopyIn(owners) : home.CopyOut(owners, MaxRollout, lines => lines.Where(JsonFields.IsObjectLine)));
    }

    /// <summary>A rollout larger than this is not copied to the owner (read whole, it would weigh on the server).</summary>
    private const long MaxRollout = 256L * 1024 * 1024;

    // The codex this server runs; `codex resume ID` opens the thread in Codex's own terminal interface.
    public IReadOnlyList<string> ResumeCommand(string conversationId) => [command.Resolve() ?? "codex", "resume", conversationId];

    public async Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        var executable = command.ResolveToStart(AgentId, Name, InstallHint);
        if (CodexRules.FindAllowingRule(options.WorkingDirectory, command.Environment) is { } bypass)
        {
            throw new AgentUnavailableException(AgentId, bypass);
        }

        var (mcpApprovals, mcpServers, mcpProblem) = CodexMcpApprovals.For(Path.Combine(CodexHome, "config.toml"));
        if (mcpProblem is not null)
        {
            throw new AgentUnavailableException(AgentId, mcpProblem);
        }

        var (enabled, secrets) = McpFormats.Codex(options.McpServers, mcpServers, command.Setting);
        var environment = command.EnvironmentWith(secrets);
        var state = State();
        environment.Remove(CodexChatGptLogin.TokenEndpoint.Setting);
        // Sandboxed, its key (or its ChatGPT login) is a placeholder and its base URL PocketCoder's model endpoint, which puts the
        // real one back.
        IReadOnlyList<Processes.Network.ModelForward> forwards = [];
        IReadOnlyList<string> pointed = [];
        if (options.Sandbox is { } sandbox && CodexSecrets.HoldChatGpt(command, CodexHome, new AgentHome(sandbox.Home, command.Home), state) is { } chatGpt)
        {
            (forwards, pointed, state) = chatGpt;
        }
        else if (options.Sandbox is { } keysOnly)
        {
            (state, var savedKey) = CodexSecrets.WithoutChatGptLogin(CodexHome, new AgentHome(keysOnly.Home, command.Home), state);
            (forwards, pointed) = CodexSecrets.Hold(command, CodexHome, state.Endpoints, environment, savedKey);
        }

        // Codex asks the owner questions (request_user_input) only in its Plan mode unless this is on; the phone answers them.
        var spec = options.Spec("codex", executable, ["app-server", "-c", "features.default_mode_request_user_input=true", .. mcpApprovals, .. enabled,
            .. options.Sandbox is null ? [] : Sandboxed, .. pointed], environment, state with { Forwards = forwards });
        var servers = mcpServers.Except(options.McpServers.Disabled).Concat(options.McpServers.Servers.Select(s => s.Name)).ToList();
        return await CodexSession.StartAsync(spec, options, sink, servers, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Codex's approval policy stays "untrusted" in every mode: it then asks before any command that is not
    /// a known read-only one and before every file change, and the gatekeeper decides (plan, accept_edits and
    /// trusted are enforced there). Plan mode also runs Codex in a read-only sandbox, so even a command the
    /// owner lets through cannot write while the agent is only meant to propose.
    /// </summary>
    internal const string ApprovalPolicy = "untrusted";

    internal static string SandboxMode(string mode) => mode == SessionModes.Plan ? "read-only" : "workspace-write";

    internal static string SandboxPolicyType(string mode) => mode == SessionModes.Plan ? "readOnly" : "workspaceWrite";
}
