using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// One agent driven through the Agent Client Protocol: how to launch it and the few ways agents differ.
/// </summary>
/// <param name="Id">The agent id in the API (<c>gemini</c>, or one the owner registered).</param>
/// <param name="Name">What to call it in messages.</param>
/// <param name="Command">The executable and extra environment.</param>
/// <param name="Arguments">Arguments that make it speak ACP on stdio (<c>--acp</c>).</param>
/// <param name="ModelArgument">The option that selects a model (<c>-m</c>), or null when models cannot be chosen at launch.</param>
/// <param name="DefaultModel">The model passed when the session names none, or null to let the agent choose.</param>
/// <param name="VersionArguments">How to ask its version without starting it (<c>--version</c>), or null when unknown:
/// some ACP agents start serving on any argument and would hang a probe.</param>
/// <param name="MissingFileReadsEmpty">Answer <c>fs/read_text_file</c> of a missing file inside the project with empty
/// content instead of the standard "Resource not found" error (see docs/agents-acp.md: Gemini CLI 0.61.0 cannot create
/// new files otherwise).</param>
/// <param name="InstallHint">What the user can do when it is missing.</param>
public sealed record AcpAgentDefinition(
    string Id,
    string Name,
    AgentCommand Command,
    IReadOnlyList<string> Arguments,
    string? ModelArgument,
    string? DefaultModel,
    IReadOnlyList<string>? VersionArguments,
    bool MissingFileReadsEmpty,
    string InstallHint)
{
    public const string GeminiId = "gemini";

    public const string CopilotId = "copilot";

    public const string QwenId = "qwen";

    /// <summary>
    /// Instruction files in the project root the agent no longer reads itself because PocketCoder keeps the project's
    /// configuration from it; they go with the first prompt of a new conversation.
    /// </summary>
    public IReadOnlyList<string> InstructionFiles { get; init; } = [];

    /// <summary>
    /// The folders outside the project the agent writes its state to (settings, logins, sessions): in its sandbox, from the agent's
    /// home of PocketCoder's own. Relative ones are under the owner's home.
    /// </summary>
    public IReadOnlyList<string> StateFolders { get; init; } = [];

    /// <summary>What inside those folders decides what it may do or run: read-only in its sandbox (relative ones under home).</summary>
    public IReadOnlyList<AgentConfig> Config { get; init; } = [];

    /// <summary>Its login files inside those folders, copied in from the owner's (relative ones under home).</summary>
    public IReadOnlyList<string> Logins { get; init; } = [];

    /// <summary>
    /// Whether it logs in with <see cref="Logins"/> as configured: an agent its environment or settings log in with a key does not
    /// need them, and an OAuth login's refresh token then stays out of its sandbox. Always, unless an agent says otherwise.
    /// </summary>
    public Func<AgentCommand, bool> NeedsLogins { get; init; } = _ => true;

    /// <summary>
    /// Sandboxed, its keys as placeholders in the environment given, and its state given back with the model endpoints that put the
    /// real ones back (and a file written to stand for one of the owner's that holds a key: Gemini's <c>.env</c>) (docs/security.md,
    /// "Secrets"); null for an agent whose keys stay as they are (docs/agents.md says why).
    /// </summary>
    public Func<AgentCommand, Dictionary<string, string?>, AgentState, AgentState>? HoldSecrets { get; init; }

    /// <summary>Variables it gets when it runs sandboxed (claude-agent-acp: CLAUDE_CONFIG_DIR, so its state file is in its state folder).</summary>
    public IReadOnlyDictionary<string, string> SandboxedEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>Its state as its sandbox gives it, every path resolved against the owner's home, and where its model is.</summary>
    public AgentState State => AgentState.Of(StateFolders.Select(InHome), Config.Select(c => c with { Path = InHome(c.Path) }),
        NeedsLogins(Command) ? Logins.Select(InHome) : [],
        [.. AdminPolicy is null ? [] : new[] { AdminPolicy }, .. Provided]) with { Endpoints = [.. (ModelEndpoints?.Invoke(Command) ?? []).Concat(Hosts).Distinct()] };

    /// <summary>Where the agent's model is, read from its configuration as it reads it (<see cref="Processes.Network.ModelHosts"/>); null: nowhere known.</summary>
    public Func<AgentCommand, IReadOnlyList<Processes.Network.NetworkEndpoint>>? ModelEndpoints { get; init; }

    /// <summary>More hosts its traffic reaches unasked from a sandbox: the owner's word in agents.json (<c>hosts</c>), for a model the
    /// agent's own configuration does not show (a launcher that sets it).</summary>
    public IReadOnlyList<Processes.Network.NetworkEndpoint> Hosts { get; init; } = [];

    /// <summary>Files PocketCoder writes for it in the data folder (Qwen Code's gate): in its sandbox, read-only at their own path.</summary>
    public IReadOnlyList<string> Provided { get; init; } = [];

    /// <summary>
    /// Runs before every start, with the session's options: writes what it is given (<see cref="Provided"/>), checks the project and
    /// returns more arguments, or refuses with an <see cref="AgentUnavailableException"/> saying why. Null for agents without one.
    /// </summary>
    public Func<AgentStartOptions, IReadOnlyList<string>>? Prepare { get; init; }

    /// <summary>
    /// Where PocketCoder writes Gemini CLI's gate (<see cref="GeminiGate"/>), handed over with <c>--admin-policy</c> at every start;
    /// null for agents without one.
    /// </summary>
    public string? AdminPolicy { get; init; }

    /// <summary>
    /// What some of its tools are, by name, where the kind the agent reports says less (Gemini CLI's web search reports "search",
    /// which reads like a look inside the project).
    /// </summary>
    public IReadOnlyDictionary<string, ToolKind> ToolKinds { get; init; } = new Dictionary<string, ToolKind>();

    private string InHome(string path) => Path.Combine(Command.Home, path);

    /// <summary>Absolute paths the agent reads that its sandbox's private /tmp would hide (its install, when that lives there).</summary>
    public IReadOnlyList<string> ReadPaths { get; init; } = [];

    /// <summary>Does it start the MCP servers <c>session/new</c> names? (Gemini CLI starts none in an untrusted workspace.)</summary>
    public bool StartsMcpServers { get; init; } = true;

    /// <summary>Keep Gemini CLI's chat files alive around every session/load (<see cref="GeminiChats"/>): 0.61 loses a conversation loaded twice.</summary>
    public bool GuardsGeminiChats { get; init; }

    /// <summary>
    /// Whether it may go on replaying a loaded conversation after it answered session/load (Gemini CLI 0.61 streams the replay
    /// unawaited), so that the first prompt waits for a short silence. Agents read to replay first and answer after, as the
    /// protocol has it (Qwen Code, Copilot CLI, claude-agent-acp), are prompted as soon as the answer comes: the wait cost a
    /// resumed call ~0.3 s (docs/performance.md, "Resources (#52)"). True where unknown.
    /// </summary>
    public bool ReplaysAfterLoad { get; init; } = true;

    /// <summary>
    /// Gemini CLI (<c>gemini --acp -m MODEL</c>). A model is always passed: the default "auto" first asks a router
    /// model and stalls for over a minute when that answer is not what it expects.
    /// </summary>
    /// <param name="adminPolicy">Where its gate policy is written (<see cref="AdminPolicy"/>): in the data folder.</param>
    public static AcpAgentDefinition Gemini(AgentCommand command, string adminPolicy, string defaultModel = "gemini-2.5-flash")
    {
        var environment = new Dictionary<string, string?>(command.Environment, StringComparer.Ordinal);
        // Gemini CLI otherwise re-launches itself in a second node process for a bigger heap: ~150 MB more per session.
        environment.TryAdd("GEMINI_CLI_NO_RELAUNCH", "true");

        // An untrusted workspace: Gemini CLI then ignores the project's .gemini/settings.json (tools.allowed, approval
        // modes, hooks, MCP servers, tool discovery commands: each runs code or skips asking), its policies, agents and
        // .env (bar API keys), and forces the default approval mode. Set last: nothing in the environment undoes it.
        environment["GEMINI_CLI_TRUST_WORKSPACE"] = "false";

        // Its folder: .gemini in GEMINI_CLI_HOME (taken as it is, no ~), else in home.
        var geminiHome = command.Setting("GEMINI_CLI_HOME") is { Length: > 0 } named ? named : command.Home;
        string InGemini(string path) => Path.Combine(geminiHome, ".gemini", path);

        return new AcpAgentDefinition(
            GeminiId,
            "Gemini CLI",
            command with { Environment = environment },
            ["--acp"],
            "-m",
            defaultModel,
            ["--version"],
            MissingFileReadsEmpty: true,
            "Install it with `npm install -g @google/gemini-cli`, or point POCKETCODER_GEMINI_PATH at the gemini executable.")
        {
            // Gemini reads GEMINI.md only in a trusted workspace.
            InstructionFiles = ProjectInstructions.Gemini,
            StateFolders = [InGemini("")],
            // Its settings (tools.allowed and the like would let Gemini run tools without asking; hooks run commands), the folders
            // it trusts, its extensions, policies, subagents, skills, commands and instructions.
            Config =
            [
                new(InGemini("settings.json"), Placeholder.JsonObject),
                new(InGemini("trustedFolders.json"), Placeholder.JsonObject),
                new(InGemini("GEMINI.md"), Placeholder.Empty),
                // Variables it loads (an API base URL would send every later session's prompts elsewhere).
                new(InGemini(".env"), Placeholder.Empty),
                .. new[] { "extensions", "policies", "agents", "skills", "commands" }.Select(f => new AgentConfig(InGemini(f), Placeholder.Folder)),
            ],
            Logins = [InGemini("oauth_creds.json"), InGemini("google_accounts.json"), InGemini("mcp-oauth-tokens.json")],
            ModelEndpoints = agent => Processes.Network.ModelHosts.Gemini(agent.Setting, Path.Combine(geminiHome, ".gemini")),
            // A Google login (oauth_creds.json: a refresh token) only when no key logs it in.
            NeedsLogins = agent => !Processes.Network.ModelHosts.GeminiKeyed(agent.Setting, Path.Combine(geminiHome, ".gemini")),
            // Its Gemini API key as a placeholder, its base URL the model endpoint. A Google login's refresh token is still its own.
            // A key it is given in ~/.gemini/.env, which it does not read itself in an untrusted workspace, is put in as a placeholder the
            // same way, and the sandbox's .env is a copy with its keys placeholders.
            HoldSecrets = (agent, environment, state) => GeminiSecrets.Hold(agent.Setting, Path.Combine(geminiHome, ".gemini"),
                Path.GetDirectoryName(adminPolicy)!, environment, state),
            Prepare = _ => AgentCommand.RelativeFolderProblem("Gemini CLI", "GEMINI_CLI_HOME", geminiHome) is { } problem
                ? throw new AgentUnavailableException(GeminiId, problem)
                : [],
            // 0.61 starts no MCP server in an untrusted workspace (a stdio one is refused: "uses stdio transport but current
            // folder is not trusted"; a URL one is never contacted), and the workspace must stay untrusted (above).
            StartsMcpServers = false,
            GuardsGeminiChats = true,
            AdminPolicy = adminPolicy,
            ToolKinds = new Dictionary<string, ToolKind>(StringComparer.Ordinal)
            {
                // A query sent to Google, asked like Claude's WebSearch; Gemini reports it as a "search".
                ["google_web_search"] = ToolKind.Fetch,
                // Its to-do list and its narration of what it does: no effect outside the agent, like Claude's TodoWrite.
                ["write_todos"] = ToolKind.Bookkeeping,
                ["update_topic"] = ToolKind.Bookkeeping,
            },
        };
    }

    /// <summary>
    /// GitHub Copilot CLI (<c>copilot --acp</c>, docs/agents-acp.md). Its own approvals stay on (it asks over ACP about every
    /// write, command, fetch and path outside the project); what would turn them off from the environment is removed, and
    /// nothing under the system's temporary folder is readable unasked.
    /// </summary>
    public static AcpAgentDefinition Copilot(AgentCommand command)
    {
        // Its folder (COPILOT_HOME, else ~/.copilot) and the cache it unpacks its own JavaScript into (COPILOT_CACHE_HOME, else
        // XDG_CACHE_HOME's copilot folder, else ~/.cache/copilot): both named when it starts, so that it, its sandbox and
        // CopilotGate agree on them.
        var copilotHome = command.Folder("COPILOT_HOME", ".copilot");
        var cache = command.Setting("COPILOT_CACHE_HOME") is { Length: > 0 } ? command.Folder("COPILOT_CACHE_HOME", ".cache/copilot")
            : Path.Combine(command.Xdg("XDG_CACHE_HOME", ".cache"), "copilot");
        string InCopilot(string path) => Path.Combine(copilotHome, path);
        var environment = new Dictionary<string, string?>(command.Environment, StringComparer.Ordinal)
        {
            // "true" approves every call and trusts the folder (its hooks, MCP servers, plugins and skills load); any truthy value
            // approves every call.
            ["COPILOT_ALLOW_ALL"] = null,
            // An LLM judge that approves what it deems safe: not the owner's decision.
            ["COPILOT_ASSISTED_APPROVAL"] = null,
            // Opt-ins that load a repository's hooks, MCP servers and extensions in an untrusted folder.
            ["GITHUB_COPILOT_PROMPT_MODE_REPO_HOOKS"] = null,
            ["GITHUB_COPILOT_PROMPT_MODE_WORKSPACE_MCP"] = null,
            ["GITHUB_COPILOT_PROMPT_MODE_EXTENSIONS"] = null,
            // A downloaded newer version would run instead of the one the owner installed (and PocketCoder was checked against).
            ["COPILOT_AUTO_UPDATE"] = "false",
            // Its state is where its sandbox gives it, and where CopilotGate looks for hooks.
            ["COPILOT_HOME"] = copilotHome,
            ["COPILOT_CACHE_HOME"] = cache,
            ["COPILOT_PKG_CACHE_HOME"] = null,
            // At start, with COPILOT_HOME unset, it moves hooks, config.json (the installed plugins), MCP config and plugins into
            // ~/.copilot from these folders' .copilot where ~/.copilot has none: after CopilotGate looked (Gate/CopilotBypassTests).
            // COPILOT_HOME is set now; they stay removed all the same.
            ["XDG_CONFIG_HOME"] = null,
            ["XDG_STATE_HOME"] = null,
        };

        return new AcpAgentDefinition(
            CopilotId,
            "Copilot CLI",
            command with { Environment = environment },
            // --disallow-temp-dir: Copilot otherwise reads and writes the system's temporary folder without asking.
            ["--acp", "--disallow-temp-dir", "--no-auto-update"],
            "--model",
            DefaultModel: null,
            ["--version"],
            MissingFileReadsEmpty: false,
            "Install it with `npm install -g @github/copilot`, or point POCKETCODER_COPILOT_PATH at the copilot executable.")
        {
            // Its sessions, logs and memories; its package cache (the CLI unpacks its own JavaScript there on first run).
            StateFolders = [copilotHome, cache],
            // Its settings (allow-lists, trusted folders, hooks, a permission mode), MCP servers, agents, skills, plugins, extensions
            // and instructions: each decides what it may run.
            Config =
            [
                new(InCopilot("settings.json"), Placeholder.JsonObject),
                new(InCopilot("mcp-config.json"), Placeholder.JsonObject),
                new(InCopilot("lsp-config.json"), Placeholder.JsonObject),
                new(InCopilot("copilot-instructions.md"), Placeholder.Empty),
                .. new[] { "hooks", "agents", "skills", "installed-plugins", "extensions" }.Select(f => new AgentConfig(InCopilot(f), Placeholder.Folder)),
            ],
            // Its own state file, with the signed-in account (1.0.102 exits at start when it cannot write it, so it cannot be
            // read-only); what it keeps there is checked at every start (docs/agents-acp.md, Copilot CLI).
            Logins = [InCopilot("config.json")],
            ModelEndpoints = agent => Processes.Network.ModelHosts.Copilot(agent.Setting),
            // Its bring-your-own-key provider's key as a placeholder, the provider's base URL the model endpoint. GitHub's own token
            // goes to GitHub's HTTPS hosts, which no setting of its moves: it stays as it is (docs/agents.md).
            HoldSecrets = (agent, environment, state) => agent.Setting("COPILOT_PROVIDER_BASE_URL") is { Length: > 0 }
                && Processes.Network.ModelForward.OfVariables(agent.Setting, ["COPILOT_PROVIDER_API_KEY"], "COPILOT_PROVIDER_BASE_URL", "", environment) is { } forward
                    ? state with { Forwards = [forward] } : state,
            // 1.0.102 sends the replay before its answer (seen on the wire: what follows is its commands' list).
            ReplaysAfterLoad = false,
            // Sandboxed, it reads the agent's home of PocketCoder's own, whose config.json it writes (so may a command it runs
            // there: a trusted folder, a plugin): that home is looked through as well as the owner's.
            Prepare = options =>
                (AgentCommand.RelativeFolderProblem("Copilot CLI", "COPILOT_HOME", copilotHome)
                 ?? AgentCommand.RelativeFolderProblem("Copilot CLI", "COPILOT_CACHE_HOME", cache)) is { } problem
                    ? throw new AgentUnavailableException(CopilotId, problem)
                : options.Sandbox is { } sandbox
                    ? [.. CopilotGate.Arguments(CopilotId, options.WorkingDirectory, copilotHome),
                       .. CopilotGate.Arguments(CopilotId, options.WorkingDirectory, new AgentHome(sandbox.Home, command.Home).Map(copilotHome))]
                    : CopilotGate.Arguments(CopilotId, options.WorkingDirectory, copilotHome),
        };
    }

    /// <summary>
    /// Qwen Code (<c>qwen --acp</c>, docs/agents-acp.md) behind <see cref="QwenGate"/>: a system settings file of PocketCoder's
    /// above every other makes it ask about every call, in an untrusted workspace, without hooks, MCP servers of its own configs
    /// or background memory agents; and it starts in its "default" approval mode, which asks (its own default is "auto", where a
    /// model decides).
    /// </summary>
    /// <param name="folder">Where its gate's files are written (the data folder's <c>agents/qwen</c>).</param>
    public static AcpAgentDefinition Qwen(AgentCommand command, string folder)
    {
        var (settings, trustedFolders) = QwenGate.Paths(folder);
        var qwenHome = QwenGate.Home(command);
        // Where it writes its conversations, temporary files and logs: QWEN_RUNTIME_DIR, else a setting of its own, else its home.
        var runtime = command.Setting("QWEN_RUNTIME_DIR") is { Length: > 0 } ? command.Folder("QWEN_RUNTIME_DIR", ".qwen") : null;
        var environment = new Dictionary<string, string?>(command.Environment, StringComparer.Ordinal)
        {
            ["QWEN_CODE_SYSTEM_SETTINGS_PATH"] = settings,
            ["QWEN_CODE_TRUSTED_FOLDERS_PATH"] = trustedFolders,
            // Qwen Code otherwise re-launches itself in a second node process for a bigger heap.
            ["QWEN_CODE_NO_RELAUNCH"] = "true",
            // Named, so that it does not look for one in ~/.env and its sandbox, its gate and it agree on the folder.
            ["QWEN_HOME"] = qwenHome,
        };

        return new AcpAgentDefinition(
            QwenId,
            "Qwen Code",
            command with { Environment = environment },
            ["--acp", "--approval-mode", "default"],
            // Not by -m: its models are chosen over the protocol, by the ids it reports (`$runtime|openai|qwen3-coder(openai)`) or
            // their names, which -m would take as a model name of its current provider.
            ModelArgument: null,
            DefaultModel: null,
            ["--version"],
            MissingFileReadsEmpty: false,
            "Install it with `npm install -g @qwen-code/qwen-code`, or point POCKETCODER_QWEN_PATH at the qwen executable.")
        {
            StateFolders = [qwenHome, .. runtime is null ? [] : new[] { runtime }],
            Config =
            [
                new(Path.Combine(qwenHome, "settings.json"), Placeholder.JsonObject),
                new(Path.Combine(qwenHome, "trustedFolders.json"), Placeholder.JsonObject),
                new(Path.Combine(qwenHome, "QWEN.md"), Placeholder.Empty),
                new(Path.Combine(qwenHome, ".env"), Placeholder.Empty),
                .. new[] { "extensions", "agents", "skills", "commands", "hooks" }.Select(f => new AgentConfig(Path.Combine(qwenHome, f), Placeholder.Folder)),
            ],
            Logins = [Path.Combine(qwenHome, "oauth_creds.json")],
            ModelEndpoints = agent => Processes.Network.ModelHosts.Qwen(agent.Setting, qwenHome),
            // Its Qwen login (oauth_creds.json: a refresh token) only when it signs in with it, not with an OpenAI-compatible key.
            NeedsLogins = _ => Processes.Network.ModelHosts.QwenSignsIn(qwenHome),
            HoldSecrets = (agent, environment, state) => state with { Forwards = Processes.Network.ModelHosts.QwenKey(agent.Setting, qwenHome, environment) },
            // Sandboxed, its home is writable but a runtime folder its settings name elsewhere is not: that goes to its home too.
            SandboxedEnvironment = new Dictionary<string, string> { ["QWEN_RUNTIME_DIR"] = runtime ?? qwenHome },
            // Its gate turns off every MCP server, the ones session/new names too (Qwen Code gives them no way apart).
            StartsMcpServers = false,
            // 0.24 awaits its history's replay before it answers session/load.
            ReplaysAfterLoad = false,
            Provided = [settings, trustedFolders],
            Prepare = _ =>
            {
                if ((AgentCommand.RelativeFolderProblem("Qwen Code", "QWEN_HOME", qwenHome)
                     ?? AgentCommand.RelativeFolderProblem("Qwen Code", "QWEN_RUNTIME_DIR", runtime)) is { } problem)
                {
                    throw new AgentUnavailableException(QwenId, problem);
                }

                QwenGate.Write(folder);
                return [];
            },
        };
    }
}
