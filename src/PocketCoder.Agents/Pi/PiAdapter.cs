using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Pi;

/// <summary>
/// pi (<c>@mariozechner/pi-coding-agent</c>), driven as one long-lived <c>pi --mode rpc</c> process per session: JSON lines on
/// stdin/stdout, every tool call held by PocketCoder's gate extension (<see cref="PiGate"/>) until the gatekeeper decides. pi
/// runs an edited input (the extension hands it the owner's), so "edit, then allow" works as with Claude Code.
/// </summary>
/// <param name="folder">Where its gate extension is written (the data folder's <c>agents/pi</c>).</param>
public sealed class PiAdapter(AgentCommand command, string folder) : IAgentAdapter
{
    public const string AgentId = "pi";

    internal const string Name = "pi";

    private const string InstallHint =
        "Install it with `npm install -g @mariozechner/pi-coding-agent`, or point POCKETCODER_PI_PATH at the pi executable.";

    public string Id => AgentId;

    public string? TitleOf(string tool, System.Text.Json.JsonElement input) => PiUpdates.TitleOf(tool, input);

    /// <summary>pi has no MCP client (by design: tools come from extensions, and only PocketCoder's gate is loaded).</summary>
    public bool TakesMcpServer(Mcp.McpServer server) => false;

    // `pi --version` prints "0.73.1".
    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) =>
        command.ProbeAsync(Name, InstallHint, ["--version"], line => line.Trim(), cancellationToken);

    /// <summary>Its folder: settings, custom models, logins, sessions, extensions (<c>PI_CODING_AGENT_DIR</c>, else <c>~/.pi/agent</c>).</summary>
    private string AgentFolder => command.Folder("PI_CODING_AGENT_DIR", Path.Combine(".pi", "agent"));

    /// <summary>Where it keeps the conversations of <paramref name="project"/>: as pi does, unless the owner named a folder for them.</summary>
    private string SessionFolder(string project) => command.Setting("PI_CODING_AGENT_SESSION_DIR") is { Length: > 0 } named
        ? command.InHome(named)
        : Path.Combine(AgentFolder, "sessions", $"--{project.TrimStart('/').Replace('/', '-').Replace(':', '-')}--");

    /// <summary>
    /// Its state in a sandbox: its folder (and a session folder of the owner's elsewhere), from the agent's home of PocketCoder's own.
    /// What decides what it may do or run comes in read-only, the owner's own: its settings, custom models (where its prompts go),
    /// extensions, skills, prompt templates, themes and instructions; its login is copied in.
    /// </summary>
    internal AgentState State(string project) => AgentState.Of(
        [AgentFolder, .. command.Setting("PI_CODING_AGENT_SESSION_DIR") is { Length: > 0 } ? new[] { SessionFolder(project) } : []],
        [
            new(Path.Combine(AgentFolder, "settings.json"), Placeholder.JsonObject),
            new(Path.Combine(AgentFolder, "models.json"), Placeholder.JsonObject),
            new(Path.Combine(AgentFolder, "keybindings.json"), Placeholder.JsonObject),
            .. new[] { "AGENTS.md", "SYSTEM.md", "APPEND_SYSTEM.md" }.Select(f => new AgentConfig(Path.Combine(AgentFolder, f), Placeholder.Empty)),
            .. new[] { "extensions", "skills", "prompts", "themes", "tools" }.Select(f => new AgentConfig(Path.Combine(AgentFolder, f), Placeholder.Folder)),
        ],
        [Path.Combine(AgentFolder, "auth.json")],
        [PiGate.ExtensionPath(folder)]) with { Endpoints = Processes.Network.ModelHosts.Pi(command.Setting, AgentFolder) };

    public async Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        var executable = command.ResolveToStart(AgentId, Name, InstallHint);
        if ((AgentCommand.RelativeFolderProblem(Name, "PI_CODING_AGENT_DIR", AgentFolder)
             ?? PiGate.Refusal(options.WorkingDirectory, AgentFolder)) is { } refusal)
        {
            throw new AgentUnavailableException(AgentId, refusal);
        }

        PiGate.Write(folder);
        var sessions = SessionFolder(options.WorkingDirectory);
        List<string> arguments =
        [
            "--mode", "rpc",
            // No extension but the gate: the owner's and a repository's are programs pi runs in its own process.
            "--no-extensions", "-e", PiGate.ExtensionPath(folder),
            // No install at start of the packages settings name (their npm scripts would run), no update check.
            "--offline",
            // Named, so that a repository's settings cannot send its conversations elsewhere.
            "--session-dir", sessions,
        ];
        var resumeMissing = false;
        if (options.ResumeAgentSessionId is { } resume)
        {
            // The conversation's file, in the agent's home of PocketCoder's own when sandboxed.
            var onDisk = options.Sandbox is { } sandbox ? new AgentHome(sandbox.Home, command.Home).Map(resume) : resume;
            resumeMissing = !File.Exists(onDisk);
            if (!resumeMissing)
            {
                arguments.AddRange(["--session", resume]);
            }
        }

        if (options.Model is { Length: > 0 } model)
        {
            arguments.AddRange(["--model", model]);
        }

        if (ProjectInstructions.With(null, options.Instructions) is { } instructions)
        {
            arguments.AddRange(["--append-system-prompt", instructions]);
        }

        var environment = new Dictionary<string, string?>(command.Environment, StringComparer.Ordinal)
        {
            ["PI_CODING_AGENT_DIR"] = AgentFolder,
            ["PI_OFFLINE"] = "1",
            ["PI_SKIP_VERSION_CHECK"] = "1",
        };
        var state = State(options.WorkingDirectory);
        if (options.Sandbox is { } sandboxed)
        {
            // Its keys as placeholders, its providers pointed at PocketCoder's model endpoints; auth.json is written here, not copied.
            var (forwards, modelsJson) = PiSecrets.Hold(command, AgentFolder, folder, new AgentHome(sandboxed.Home, command.Home), state.Endpoints, environment);
            state = state with
            {
                Forwards = forwards, Logins = [],
                Config = modelsJson is null ? state.Config : [modelsJson, .. state.Config.Where(c => c.Path != modelsJson.Path)],
            };
        }

        var session = await PiSession.StartAsync(options.Spec("pi", executable, arguments, environment, state), sink, cancellationToken)
            .ConfigureAwait(false);
        if (resumeMissing)
        {
            await sink.OnEventAsync(new AgentError($"pi has no conversation file {options.ResumeAgentSessionId} any more, so it starts a new conversation."),
                cancellationToken).ConfigureAwait(false);
        }

        return session;
    }
}
