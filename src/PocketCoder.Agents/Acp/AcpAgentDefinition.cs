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

    /// <summary>Variables it gets when it runs sandboxed (claude-agent-acp: CLAUDE_CONFIG_DIR, so its state file is in its state folder).</summary>
    public IReadOnlyDictionary<string, string> SandboxedEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>Its state as its sandbox gives it, every path resolved against the owner's home.</summary>
    public AgentState State => AgentState.Of(StateFolders.Select(InHome), Config.Select(c => c with { Path = InHome(c.Path) }), Logins.Select(InHome),
        AdminPolicy is null ? [] : [AdminPolicy]);

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
            StateFolders = [".gemini"],
            // Its settings (tools.allowed and the like would let Gemini run tools without asking; hooks run commands), the folders
            // it trusts, its extensions, policies, subagents, skills, commands and instructions.
            Config =
            [
                new(".gemini/settings.json", Placeholder.JsonObject),
                new(".gemini/trustedFolders.json", Placeholder.JsonObject),
                new(".gemini/GEMINI.md", Placeholder.Empty),
                // Variables it loads (an API base URL would send every later session's prompts elsewhere).
                new(".gemini/.env", Placeholder.Empty),
                .. new[] { "extensions", "policies", "agents", "skills", "commands" }.Select(f => new AgentConfig($".gemini/{f}", Placeholder.Folder)),
            ],
            Logins = [".gemini/oauth_creds.json", ".gemini/google_accounts.json", ".gemini/mcp-oauth-tokens.json"],
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
}
