using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Codex;
using PocketCoder.Agents.OpenCode;
using PocketCoder.Agents.Processes;
using PocketCoder.Reach;

namespace PocketCoder.Server;

/// <summary>Everything that differs between one PocketCoder server and another. Built by the CLI, or by tests.</summary>
public sealed class PocketCoderOptions
{
    public const string DefaultListen = "http://127.0.0.1:7420";

    public required string DataDirectory { get; init; }

    public string Listen { get; init; } = DefaultListen;

    /// <summary>The address phones open, when it is not <see cref="Listen"/> (a reverse proxy, Tailscale, a LAN name).</summary>
    public string? PublicUrl { get; init; }

    /// <summary>The preview origin's port, on <see cref="Listen"/>'s address (0: a free one, chosen at each start).</summary>
    public int PreviewPort { get; init; }

    /// <summary>What an https:// <see cref="Listen"/> presents.</summary>
    public TlsCertificate? Certificate { get; init; }

    /// <summary>
    /// What the preview origin's name on the hub (<c>preview.&lt;machine&gt;.&lt;hub domain&gt;</c>) presents: ACME's second
    /// certificate. Null: <see cref="Certificate"/>, which must then name it too (the owner's own certificate).
    /// </summary>
    public TlsCertificate? PreviewCertificate { get; init; }

    /// <summary>The hub this machine joined (<c>pocketcoder hub join</c>): phones reach it through the hub too. Null: not joined.</summary>
    public Reach.Hub.HubMembership? Hub { get; init; }

    /// <summary>Where the hub name's certificate comes from when the owner gave none (<c>--acme</c>); null: no ACME.</summary>
    public Reach.Acme.AcmeSettings? Acme { get; init; }

    /// <summary>Host names the server answers to besides its listen address, loopback names and IP literals (DNS rebinding guard).</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>How to launch each agent, by adapter id.</summary>
    public IReadOnlyDictionary<string, AgentCommand> AgentCommands { get; init; } = AgentCommandsAt(DefaultExecutables);

    /// <summary>Each built-in agent's executable as it is usually called (looked up on PATH), the ones refused by name too.</summary>
    public static IReadOnlyDictionary<string, string> DefaultExecutables { get; } = new Dictionary<string, string>(
    [
        KeyValuePair.Create(ClaudeCodeAdapter.AgentId, "claude"),
        KeyValuePair.Create(CodexAdapter.AgentId, "codex"),
        KeyValuePair.Create(OpenCodeAdapter.AgentId, "opencode"),
        KeyValuePair.Create(AcpAgentDefinition.GeminiId, "gemini"),
        KeyValuePair.Create(AcpAgentDefinition.CopilotId, "copilot"),
        KeyValuePair.Create(AcpAgentDefinition.QwenId, "qwen"),
        KeyValuePair.Create(Agents.Pi.PiAdapter.AgentId, "pi"),
        KeyValuePair.Create(OpenCodeFlavor.KiloId, "kilo"),
        .. Agents.RefusedAgents.All.Select(agent => KeyValuePair.Create(agent.Id, agent.Executable)),
    ], StringComparer.Ordinal);

    /// <summary>The bubblewrap agents are sandboxed with; null: <c>bwrap</c> from PATH. (Tests name one that does not work.)</summary>
    public string? Bubblewrap { get; init; }

    /// <summary>
    /// Names the sandboxes' proxy connects to at an address of the owner's choosing instead of asking DNS, like an entry of
    /// <c>/etc/hosts</c> for PocketCoder alone (or <c>curl --resolve</c>). Taken as the owner's word: a loopback address named
    /// here is reached once a connection to the name is allowed (tests reach their own servers this way).
    /// </summary>
    public IReadOnlyDictionary<string, string> NetworkHosts { get; init; } = new Dictionary<string, string>();

    /// <summary><c>NAME=ADDRESS,…</c> as the setting is written; an entry that is not a name and an address is refused.</summary>
    /// <exception cref="InvalidDataException">An entry that cannot be used, named.</exception>
    public static IReadOnlyDictionary<string, string> ParseNetworkHosts(string? setting)
    {
        var hosts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in (setting ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !Agents.Processes.Network.NetworkEndpoint.IsName(parts[0]) || !System.Net.IPAddress.TryParse(parts[1], out _))
            {
                throw new InvalidDataException($"NetworkHosts: '{entry}' is not NAME=ADDRESS.");
            }

            hosts[parts[0].ToLowerInvariant()] = parts[1];
        }

        return hosts;
    }

    /// <summary>
    /// The owner's home (HOME of the server process): the one folder a phone may browse to pick a project's folder
    /// (<see cref="Projects.Folders"/>). Tests give a temp folder.
    /// </summary>
    public string OwnerHome { get; init; } = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home
        ? home
        : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>The model a Gemini session uses when it names none (Gemini CLI is always given one; see docs/agents-acp.md).</summary>
    public string GeminiDefaultModel { get; init; } = "gemini-2.5-flash";

    /// <summary>A comment line on every event stream at least this often keeps proxies and phones from closing an idle one.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Events buffered per live SSE subscriber before it falls back to reading the database.</summary>
    public int SubscriberBuffer { get; init; } = 1024;

    public bool ConsoleLogging { get; init; } = true;

    /// <summary>
    /// Generate the OpenAPI document from the endpoints on each request instead of serving the copy built in (see
    /// <see cref="ApiDocument"/>). Tests turn it on to prove the copy is what the endpoints say.
    /// </summary>
    public bool LiveApiDocument { get; init; }

    /// <summary>Another place the log goes besides the console: how tests read what the server logged.</summary>
    public ILoggerProvider? LogSink { get; init; }

    /// <summary>
    /// Whether the ledger keeps the text typed into project terminals (<c>--ledger-terminal-text</c>). Off by default:
    /// who typed, when and how much is always recorded, but a terminal also receives passwords typed at prompts.
    /// </summary>
    public bool LedgerTerminalText { get; init; }

    /// <summary>
    /// Variables set (or, when null, removed) for the project terminals' tmux server and so for every shell in it. Empty
    /// for a real server, whose shells are the owner's own; tests give them a fresh HOME so the machine's shell start-up
    /// files (a pyenv rehash waiting on a stale lock, say) cannot decide whether a test passes.
    /// </summary>
    public IReadOnlyDictionary<string, string?> TerminalEnvironment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// Variables the owner's registered agents (agents.json) see over the server's own environment, which they otherwise inherit.
    /// Empty for a real server; an in-process test gives them what a real server's environment would hold (a key it holds outside).
    /// </summary>
    public IReadOnlyDictionary<string, string?> RegisteredAgentEnvironment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// How many agent processes may run at once on this machine (<c>--max-agents</c>); sessions beyond it wait in line, never
    /// killed. Null: derived from the machine's memory (<see cref="Sessions.Running.AgentSlots.DefaultFor"/>). The owner may
    /// change it through the API (kept in the database, winning over this until cleared).
    /// </summary>
    public int? MaxRunningAgents { get; init; }

    /// <summary>An agent process idle this long is stopped (its conversation kept) until the next message. Zero: never.</summary>
    public TimeSpan SuspendIdleAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// A turn that runs this long with no word from the agent (and no question open) is reported as stalled, once per
    /// stall, so the phone never shows "Working…" forever. Zero: never.
    /// </summary>
    public TimeSpan StallAfter { get; init; } = TimeSpan.FromSeconds(180);

    /// <summary>
    /// A call that has waited this long for the owner stops its agent's process (where the agent can resume on the very
    /// call: Claude Code), to be resumed when the owner decides. Zero: never.
    /// </summary>
    public TimeSpan PauseWaitingAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A paused agent is started again when someone who may decide its call opens the session (the call in front of them), so
    /// their decision runs it without the agent's start-up; undecided for this long, it is stopped again. Zero: never.
    /// </summary>
    public TimeSpan WarmPausedFor { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A question shown on a device whose app was open is not pushed there; if the device still has not been shown it
    /// after this long (a stream that died quietly), it is pushed after all.
    /// </summary>
    public TimeSpan NotifyEscalateAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The least time between two calls a bridge makes in one chat, in place of each platform's own (Telegram asks for 3 s
    /// in a group). Null, as on every real server: the platform's. Tests of what the bridges say set it short, since their
    /// fake platforms have no such limit; the outbox's own tests prove the pacing.
    /// </summary>
    public TimeSpan? ChatInterval { get; init; }

    /// <summary>
    /// Hosts the server's own senders (Web Push, push relays) may reach at any address, on the owner's word: a push service
    /// or another PocketCoder on this machine's network, a tailnet, or loopback. Any other goes only to addresses on the
    /// internet (<see cref="Notifications.OutboundPolicy"/>).
    /// </summary>
    public IReadOnlyList<string> PushHosts { get; init; } = [];

    /// <summary>VAPID's contact (<c>sub</c>); when null, the public https URL, else a mailto: naming this server.</summary>
    public string? PushContact { get; init; }

    /// <summary>The data folder: <c>POCKETCODER_DATA</c>, else <c>$XDG_DATA_HOME/pocketcoder</c>, else <c>~/.local/share/pocketcoder</c>.</summary>
    public static string DefaultDataDirectory()
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_DATA") is { Length: > 0 } explicitDirectory)
        {
            return Path.GetFullPath(explicitDirectory);
        }

        return Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"), "pocketcoder");
    }

    /// <summary>Each agent at the given executable (a path, or a name looked up on PATH), by id.</summary>
    public static Dictionary<string, AgentCommand> AgentCommandsAt(IReadOnlyDictionary<string, string> executables) =>
        executables.ToDictionary(e => e.Key, e => new AgentCommand(e.Value, new Dictionary<string, string?>()), StringComparer.Ordinal);
}
