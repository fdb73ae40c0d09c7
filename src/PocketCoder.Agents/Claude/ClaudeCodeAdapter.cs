using System.Text.Json.Nodes;
using PocketCoder.Agents.Mcp;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// Claude Code, driven as ONE long-lived <c>claude -p</c> process per session speaking stream-json on
/// stdin/stdout, with every permission question asked on the same pipe (<c>--permission-prompt-tool stdio</c>).
/// Claude's own allow-lists (read-only commands, reads inside the project, the owner's allow rules) would decide
/// before it ever asks; a PreToolUse hook registered over the same pipe answers "ask" for every tool, which Claude
/// ranks above any other hook's "allow" and above its allow rules, so every call comes to the gatekeeper.
/// </summary>
public sealed class ClaudeCodeAdapter(AgentCommand command) : IAgentAdapter, IAgentConversations, IAgentFolders, IAgentMcpConfig
{
    /// <summary>Claude Code's switch for its nonessential traffic (update checks, telemetry, error reports).</summary>
    internal const string NonessentialTraffic = "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC";

    private readonly ClaudeTranscripts _transcripts = new(command);

    public const string AgentId = "claude-code";

    public string Id => AgentId;

    /// <summary>Claude copies a conversation up to a chain entry into a new one (<c>--fork-session --resume-session-at</c>).</summary>
    public bool CanFork => true;

    public string? TitleOf(string tool, System.Text.Json.JsonElement input) => ClaudeTools.Describe(tool, input).Title;

    /// <summary>
    /// Only plan mode is handed to Claude (it then proposes a plan instead of acting). Every other mode
    /// stays Claude's "default", so Claude asks us about every edit and command and the gatekeeper
    /// decides: Claude's own acceptEdits would also run some shell commands without asking.
    /// </summary>
    internal static string PermissionMode(string mode) => mode == SessionModes.Plan ? "plan" : "default";

    /// <summary>
    /// Settings given on the command line (loaded whatever <c>--setting-sources</c> says): a PreToolUse hook on every tool
    /// whose shell command prints a fixed "ask" (printf is the shell's own, so it cannot be missing). "ask" ranks above
    /// Claude's allow rules; the decision then comes from <c>can_use_tool</c>, i.e. the gatekeeper. The same settings go to
    /// claude-agent-acp (<see cref="Acp.AcpSession.ClaudeAgentGate"/>), where the decision comes from session/request_permission.
    /// </summary>
    internal static string AskFirstSettings => ClaudeJson.Write(AskFirstHooks);

    /// <summary><see cref="AskFirstSettings"/> as settings (the command is a fixed string, nothing from outside in it).</summary>
    internal static ClaudeSettings AskFirstHooks { get; } = new(new HookSettings([new HookMatcher("*", [new HookCommand("command",
        $"printf '%s' '{ClaudeJson.Write(new ControlAnswer(HookSpecificOutput: new HookOutput("ask", "PocketCoder puts every tool call to the owner.")))}'")])]));

    private const string Name = "Claude Code";
    private const string InstallHint =
        "Install it with `npm install -g @anthropic-ai/claude-code`, or point POCKETCODER_CLAUDE_PATH at the claude executable.";

    // `claude --version` prints "2.0.5 (Claude Code)".
    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) =>
        command.ProbeAsync(Name, InstallHint, ["--version"], line => line.Split(' ')[0], cancellationToken);

    public string ProcessName => "claude";

    /// <summary>Where Claude Code keeps its settings, logins and transcripts: CLAUDE_CONFIG_DIR, else ~/.claude.</summary>
    internal static string ConfigFolder(AgentCommand command) =>
        command.Setting("CLAUDE_CONFIG_DIR") is { Length: > 0 } configured ? configured : Path.Combine(command.Home, ".claude");

    /// <summary>Claude Code's state file in home, beside its config folder (inside it when CLAUDE_CONFIG_DIR is set).</summary>
    internal static string StateFile(AgentCommand command) =>
        Path.Combine(command.Setting("CLAUDE_CONFIG_DIR") is { Length: > 0 } configured ? configured : command.Home, ".claude.json");

    /// <summary>
    /// Claude's state in a sandbox: its config folder, from the agent's home of PocketCoder's own. The owner's settings (hooks, allow
    /// rules, plugins, MCP servers), instructions, subagents, commands, skills and output styles come in read-only, an empty stand-in
    /// where the owner has none; the owner's login is copied in.
    /// </summary>
    internal static AgentState State(AgentCommand command)
    {
        var state = StateIn(ConfigFolder(command)) with { Endpoints = Processes.Network.ModelHosts.Claude(command.Setting, ConfigFolder(command)) };
        // Logged in by its environment (an API key, or the long-lived token of `claude setup-token`): the owner's subscription
        // login, whose refresh token outlives any session, is not copied in.
        return KeyedByEnvironment(command) ? state with { Logins = [] } : state;
    }

    /// <summary>Whether Claude's environment logs it in by itself (a key or a token that needs no refresh).</summary>
    internal static bool KeyedByEnvironment(AgentCommand command) => KeyVariables.Any(name => command.Setting(name) is { Length: > 0 });

    /// <summary>The variables that carry Claude's key or token (sent as <c>x-api-key</c> or <c>Authorization: Bearer</c>).</summary>
    private static readonly string[] KeyVariables = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"];

    /// <summary><see cref="State"/> for a Claude config folder (claude-agent-acp's too: it runs Claude Code).</summary>
    internal static AgentState StateIn(string folder) => AgentState.Of([folder],
    [
        new(Path.Combine(folder, "settings.json"), Placeholder.JsonObject),
        new(Path.Combine(folder, "settings.local.json"), Placeholder.JsonObject),
        new(Path.Combine(folder, "CLAUDE.md"), Placeholder.Empty),
        .. new[] { "agents", "commands", "skills", "plugins", "output-styles", "hooks" }.Select(f => new AgentConfig(Path.Combine(folder, f), Placeholder.Folder)),
    ], [Path.Combine(folder, ".credentials.json")]);

    /// <summary>What of the owner's <c>~/.claude.json</c> logs Claude in (a key from <c>/login</c>, the account): copied in as data.</summary>
    private static readonly string[] LoginKeys = ["primaryApiKey", "oauthAccount"];

    /// <summary>Never: <c>--strict-mcp-config</c> leaves out the servers of its own files; one the owner enables is passed like any other.</summary>
    public bool LoadsOwnMcpServers => false;

    /// <summary>The owner's servers in <c>~/.claude.json</c>: its user scope, then the project's local scope (what <c>claude mcp add</c> writes).</summary>
    public IReadOnlyList<OwnMcpServer> OwnMcpServers(string projectPath)
    {
        var file = StateFile(command);
        var servers = McpJson.ReadFile(file, root =>
        [
            McpJson.Property(root, "mcpServers"),
            McpJson.Property(root, "projects") is { } projects && McpJson.Property(projects, projectPath) is { } project ? McpJson.Property(project, "mcpServers") : null,
        ], out var unreadable, maxBytes: 64 * 1024 * 1024);
        return unreadable is not null
            ? [new OwnMcpServer(Path.GetFileName(file), null, file, unreadable)]
            : servers.Select(s => new OwnMcpServer(s.Name, s.Server, file, s.Problem)).ToList();
    }

    public Task<IReadOnlyList<AgentConversation>> ListConversationsAsync(string projectPath, CancellationToken cancellationToken) =>
        Task.FromResult(_transcripts.List(projectPath));

    public Task<ConversationHistory?> ReadConversationAsync(string projectPath, string conversationId, CancellationToken cancellationToken) =>
        Task.FromResult(_transcripts.Read(projectPath, conversationId));

    public Task<IReadOnlyList<AgentFolder>> ListFoldersAsync(int max, CancellationToken cancellationToken) =>
        Task.FromResult(_transcripts.Folders(max, cancellationToken));

    public Task<bool> CopyConversationAsync(string workingDirectory, string conversationId, string agentHome, bool toAgentHome,
        CancellationToken cancellationToken) =>
        Task.FromResult(_transcripts.Copy(workingDirectory, conversationId, ConfigFolder(command), new AgentHome(agentHome, command.Home), toAgentHome));

    // The executable this server runs (POCKETCODER_CLAUDE_PATH, or claude on PATH), so the terminal resumes with the same one.
    public IReadOnlyList<string> ResumeCommand(string conversationId) => [command.Resolve() ?? "claude", "--resume", conversationId];

    /// <summary>
    /// Puts the owner's login keys (<see cref="LoginKeys"/>) into the agent's own state file (<paramref name="agents"/>, a path in
    /// the owner's home whose copy is in <paramref name="home"/>), and nothing else of the owner's: the agent's file keeps the
    /// rest of what it wrote itself. Read and written as the agent's home's files are (<see cref="AgentHome.Read"/>): never
    /// through a link it left there. A key (<c>primaryApiKey</c>) goes in as its placeholder: the real one is returned, for the
    /// model endpoint to put back (docs/security.md, "Secrets").
    /// </summary>
    private static HeldSecret? CopyLogin(string owners, AgentHome home, string agents, bool hold)
    {
        if (Parse(File.Exists(owners) && new FileInfo(owners).Length < MaxStateFile ? File.ReadAllText(owners) : null) is not { } owner)
        {
            return null;
        }

        var agent = Parse(home.Read(agents, MaxStateFile)) ?? [];
        HeldSecret? held = null;
        foreach (var key in LoginKeys)
        {
            if (owner[key] is { } value)
            {
                agent[key] = hold && value.GetValueKind() == System.Text.Json.JsonValueKind.String && key == "primaryApiKey"
                    ? (held = HeldSecret.Of("primaryApiKey (~/.claude.json)", value.GetValue<string>())).Placeholder
                    : value.DeepClone();
            }
            else
            {
                agent.Remove(key);
            }
        }

        home.Write(agents, agent.ToJsonString());
        return held;
    }

    /// <summary>Claude's environment and login in a sandbox; the model endpoint that puts its real keys in.</summary>
    private IReadOnlyList<ModelForward> Sandboxed(AgentSandbox sandbox, Dictionary<string, string?> environment)
    {
        // Its state file (MCP servers, and commands such as awsAuthRefresh that Claude runs) moves into its config folder, which
        // is the agent's home's: nothing it writes reaches the ~/.claude.json the owner's own claude reads.
        environment["CLAUDE_CONFIG_DIR"] = ConfigFolder(command);
        // Its login as the owner made it (/login's key, the account): what a sandboxed Claude needs when nothing else logs it in.
        // The owner's settings.json `env` outranks Claude's environment: a base URL or key set there would take Claude past the
        // endpoint with a placeholder (or hand it the real key anyway). Such a set-up keeps its keys as they are (docs/agents.md).
        var hold = Holds(ConfigFolder(command));
        var home = new AgentHome(sandbox.Home, command.Home);
        var login = KeyedByEnvironment(command) ? null
            : CopyLogin(StateFile(command), home, Path.Combine(ConfigFolder(command), ".claude.json"), hold);
        environment.Remove(ClaudeOAuthLogin.TokenEndpoint.Setting);
        if (!hold)
        {
            return [];
        }

        var subscription = KeyedByEnvironment(command) || Cloud(command) ? null : HoldSubscription(command, home);
        return HoldSecrets(command, environment, [.. new[] { login, subscription }.OfType<HeldSecret>()]);
    }

    /// <summary>
    /// Whether Claude's keys can be held outside: not when the owner's <c>settings.json</c> <c>env</c> in <paramref name="configFolder"/>
    /// names the base URL or a key, which outranks Claude's environment and would take it past the endpoint.
    /// </summary>
    private static bool Holds(string configFolder) =>
        !(ModelHosts.ReadJson(Path.Combine(configFolder, "settings.json"))?["env"] is JsonObject settings
            && KeyVariables.Append("ANTHROPIC_BASE_URL").Any(settings.ContainsKey));

    /// <summary>
    /// claude-agent-acp's keys in a sandbox (it runs Claude Code, which reads them as Claude does): the key variables of its environment
    /// as placeholders, its base URL the model endpoint (<see cref="HoldSecrets"/>). Its config folder is <paramref name="configFolder"/>.
    /// </summary>
    internal static IReadOnlyList<ModelForward> HoldKeys(AgentCommand command, string configFolder, Dictionary<string, string?> environment) =>
        Holds(configFolder) ? HoldSecrets(command, environment, []) : [];

    /// <summary>
    /// A subscription login (<c>.credentials.json</c>), held outside: the agent's copy gets placeholders that never expire, the server
    /// keeps the real one current in the owner's file (<see cref="ClaudeOAuthLogin"/>). Null when the owner has none.
    /// </summary>
    private static HeldSecret? HoldSubscription(AgentCommand command, AgentHome home)
    {
        var file = Path.Combine(ConfigFolder(command), ".credentials.json");
        var tokenUrl = ClaudeOAuthLogin.TokenEndpoint.For(command);
        if (ClaudeOAuthLogin.Of(file, tokenUrl) is not { } subscription || subscription.SandboxCopy(out var real) is not { } copy || real is null)
        {
            return null;
        }

        // Written over whatever the agent's copy was (a real login copied in by an earlier version, or one Claude emptied).
        home.Write(file, copy);
        return subscription.Secret(real);
    }

    /// <summary>Whether Claude logs in with a cloud's credentials (Bedrock, Vertex, Foundry), none of which the endpoint holds.</summary>
    private static bool Cloud(AgentCommand command) =>
        new[] { "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY" }.Any(name => command.Setting(name) is { Length: > 0 } and not "0");

    /// <summary>
    /// Claude's sandbox state with its model endpoints (<paramref name="forwards"/>). A subscription held outside is in the agent's
    /// home as placeholders already, so the owner's file is not copied over them; and its token endpoint's host no longer passes:
    /// should Claude try a refresh anyway (a model answering 401 does that), it fails to connect and keeps its placeholders,
    /// where <c>platform.claude.com</c> refusing the placeholder would make it empty its login (both seen with 2.1.332).
    /// </summary>
    internal static AgentState HeldState(AgentState state, IReadOnlyList<ModelForward> forwards) =>
        forwards.Any(forward => forward.Secrets.Any(secret => secret.Live is ClaudeOAuthLogin))
            ? state with { Forwards = forwards, Logins = [], Endpoints = [.. state.Endpoints.Where(e => e.Host != ClaudeOAuthLogin.TokenEndpoint.Url.Host)] }
            : state with { Forwards = forwards };

    /// <summary>
    /// In a sandbox, the keys of Claude's environment go in as placeholders, and its base URL becomes PocketCoder's model endpoint
    /// inside, which puts the real ones back on the way to the owner's base URL or Anthropic's API. Bedrock, Vertex and Foundry log
    /// in with their clouds' credentials, not these: left as they are.
    /// </summary>
    private static IReadOnlyList<ModelForward> HoldSecrets(AgentCommand command, Dictionary<string, string?> environment, IReadOnlyList<HeldSecret> logins)
    {
        List<HeldSecret> held = [.. logins];
        foreach (var name in KeyVariables)
        {
            if (command.Setting(name) is { Length: > 0 } real)
            {
                var secret = HeldSecret.Of(name, real);
                environment[name] = secret.Placeholder;
                held.Add(secret);
            }
        }

        if (held.Count == 0 || Cloud(command))
        {
            return [];
        }

        var upstream = command.Setting("ANTHROPIC_BASE_URL") is { Length: > 0 } given && Uri.TryCreate(given.Trim(), UriKind.Absolute, out var uri)
            && uri.Scheme is "http" or "https" ? uri : new Uri("https://api.anthropic.com");
        return [new ModelForward("ANTHROPIC_BASE_URL", upstream, held)];
    }

    private const long MaxStateFile = 64 * 1024 * 1024;

    private static JsonObject? Parse(string? text)
    {
        try
        {
            return text is null ? null : JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        var executable = command.ResolveToStart(AgentId, Name, InstallHint);

        List<string> arguments =
        [
            "-p",
            "--input-format", "stream-json",
            "--output-format", "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--permission-prompt-tool", "stdio",
            // The repository is not trusted: its .claude/settings*.json could carry hooks (shell commands run on every
            // tool call), allow rules and permission modes. Only the owner's own user settings are loaded.
            "--setting-sources=user",
            // MCP servers are programs: a repository's .mcp.json (or the owner's own config) must not start one. Only those
            // the owner enabled in PocketCoder are loaded, from --mcp-config below (see docs/security.md).
            "--strict-mcp-config",
            // The gate hook arrives over stdin, and Claude may act before it has read it: a resumed conversation runs a
            // deferred call first. A hook of its own settings answers "ask" for every call from the start, so nothing
            // is ever left to Claude's own allow rules (see docs/security.md).
            "--settings", AskFirstSettings,
        ];
        arguments.AddRange(options.ResumeAgentSessionId is { } resume ? ["--resume", resume] : ["--session-id", options.NewAgentSessionId]);
        if (options is { ResumeAgentSessionId: null, Fork: { } fork })
        {
            // A copy of the earlier conversation under the new id, cut after the kept turn's last entry: the earlier one's
            // transcript stays as it was (what a fork leaves untouched, and what a second rewind cuts again).
            arguments.AddRange(["--fork-session", "--resume", fork.ConversationId]);
            if (fork.At is { } at)
            {
                arguments.AddRange(["--resume-session-at", at]);
            }
        }
        if (options.Model is { Length: > 0 } model)
        {
            arguments.AddRange(["--model", model]);
        }

        arguments.AddRange(["--permission-mode", PermissionMode(options.Mode)]);
        if (ProjectInstructions.With(ProjectInstructions.Read(options.WorkingDirectory, ProjectInstructions.Claude), options.Instructions) is { } instructions)
        {
            arguments.AddRange(["--append-system-prompt", instructions]);
        }

        var (mcpConfig, secrets) = McpFormats.Claude(options.McpServers.Servers);
        if (options.McpServers.Servers.Count > 0)
        {
            arguments.AddRange(["--mcp-config", mcpConfig]);
        }

        var environment = command.EnvironmentWith(secrets);
        // Headless sessions still show up in the user's own `claude --resume` list.
        environment["CLAUDE_CODE_ENTRYPOINT"] = "sdk-pocketcoder";
        // Claude Code's own switch for its update checks, telemetry and error reports: in the sandbox each would be a refused
        // connection in the session's timeline and the ledger at every start, and none is the owner's work. A value the
        // owner set (in the server's environment) stands.
        if (command.Setting(NonessentialTraffic) is null)
        {
            environment[NonessentialTraffic] = "1";
        }

        var forwards = options.Sandbox is { } sandbox ? Sandboxed(sandbox, environment) : [];

        var plans = Path.Combine(ConfigFolder(command), "plans");
        var plansOnDisk = options.Sandbox is { } confined ? new AgentHome(confined.Home, command.Home).Map(plans) : plans;
        var state = HeldState(State(command), forwards);
        IAgentSession session = ClaudeCodeSession.Start(options.Spec("claude", executable, arguments, environment, state),
            options.ResumeAgentSessionId ?? options.NewAgentSessionId, sink, options.PausesAfter, options.ResumeAgentSessionId is null ? null : options.Paused,
            options.Model is { Length: > 0 } chosen ? chosen : null, new ClaudePlanFiles(plans, plansOnDisk));
        return Task.FromResult(session);
    }
}
