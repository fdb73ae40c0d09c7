namespace PocketCoder.Sessions;

/// <summary>
/// What happens to a session, as the writers of its status say it. The status that follows is the table's answer
/// (<see cref="SessionLifecycle.Next"/>), never the writer's: a late word (an agent that exits after its session was stopped)
/// cannot bring a stopped session back.
/// </summary>
public enum LifeEvent
{
    /// <summary>Its worktree is made: its agent starts next.</summary>
    Prepared,

    /// <summary>Its worktree could not be made (or was cut short and cannot be made again).</summary>
    PreparationFailed,

    /// <summary>Its gone agent is brought back in the background for a message queued for it (no request waits for the start).</summary>
    StartBegun,

    /// <summary>Its agent is to start but every agent slot is taken: it waits in line (said again whenever its place changes).</summary>
    JoinedLine,

    /// <summary>Taken out of the line by a cancel: its conversation waits, idle, with what it would have run held.</summary>
    LeftLine,

    /// <summary>Its agent could not be started (not installed, refused by its sandbox, never answered).</summary>
    StartFailed,

    /// <summary>The agent works on a turn and nobody is asked anything.</summary>
    Working,

    /// <summary>Someone is asked something (a call to allow, a question, a budget): the session waits for them.</summary>
    Asking,

    /// <summary>No turn runs and nobody is asked: the agent (or its conversation, when suspended) waits for a message.</summary>
    BetweenTurns,

    /// <summary>The agent process ended on its own (a crash, or a paused agent that could not be resumed).</summary>
    AgentFailed,

    /// <summary>Stopped for good by someone (or handed back to a terminal).</summary>
    Stopped,

    /// <summary>The server stopped (or restarted) while the agent was busy: what it was doing was cut off.</summary>
    ServerStopped,
}

/// <summary>What a state says about the session's agent process, checked by the tests of random interleavings.</summary>
public enum AgentProcess
{
    /// <summary>No agent process may run: the status would lie.</summary>
    None,

    /// <summary>Its agent may be running or not (suspended while idle, paused on a call, coming up).</summary>
    Maybe,

    /// <summary>Its agent is working: a process runs.</summary>
    Running,
}

/// <param name="Busy">Cut off by a restart: <see cref="LifeEvent.ServerStopped"/> takes it to <c>interrupted</c>.</param>
/// <param name="AtRest">Nothing goes on by itself: it changes only when someone acts (a message, a resume, a stop).</param>
public sealed record SessionState(string Name, AgentProcess Agent, bool Busy, bool AtRest, string Meaning);

/// <param name="From">The states this event moves a session from (every other state refuses it).</param>
public sealed record LifeTransition(LifeEvent Event, IReadOnlyList<string> From, string To, string Why);

/// <summary>
/// A session's whole life, in one table (as <see cref="Teams.DecisionRights"/> is one table for rights): its states, and for
/// each event the states it moves a session from and the state it moves it to. Every status write goes through
/// <see cref="SessionStore.Move(string, LifeEvent, string?)"/>, which asks <see cref="Next"/>; the API's <c>status</c> is that
/// column. docs/design.md shows this table as <see cref="Markdown"/> writes it (a test keeps them the same).
/// </summary>
public static class SessionLifecycle
{
    private const string Preparing = SessionStatuses.Preparing, Queued = SessionStatuses.Queued, Starting = SessionStatuses.Starting,
        Running = SessionStatuses.Running, Waiting = SessionStatuses.WaitingApproval, Idle = SessionStatuses.Idle,
        Failed = SessionStatuses.Failed, Stopped = SessionStatuses.Stopped, Interrupted = SessionStatuses.Interrupted;

    public static readonly IReadOnlyList<SessionState> States =
    [
        new(Preparing, AgentProcess.None, Busy: false, AtRest: false, "its worktree is being made; a restart makes it again"),
        new(Queued, AgentProcess.None, Busy: true, AtRest: false, "in line for an agent slot; its reason says its place"),
        new(Starting, AgentProcess.Maybe, Busy: true, AtRest: false, "its agent is coming up"),
        new(Running, AgentProcess.Running, Busy: true, AtRest: false, "its agent works on a turn"),
        new(Waiting, AgentProcess.Maybe, Busy: true, AtRest: false, "someone is asked; a paused agent waits with no process"),
        new(Idle, AgentProcess.Maybe, Busy: false, AtRest: true, "between turns; suspended, it keeps no process"),
        new(Failed, AgentProcess.None, Busy: false, AtRest: true, "its agent could not start or ended on its own; a message retries"),
        new(Stopped, AgentProcess.None, Busy: false, AtRest: true, "stopped for good; a new session carries on"),
        new(Interrupted, AgentProcess.None, Busy: false, AtRest: true, "cut off by a restart; resume brings its conversation back"),
    ];

    // A session whose agent may be brought (back) up: a start, a resume, a retry after a failure.
    private static readonly string[] Startable = [Starting, Queued, Idle, Failed, Interrupted];

    // Where an agent that is up reports its turns from: coming up, working, asking, between turns, or resumed from a rest.
    private static readonly string[] Reporting = [Starting, Queued, Running, Waiting, Idle, Failed, Interrupted];

    public static readonly IReadOnlyList<LifeTransition> Transitions =
    [
        new(LifeEvent.Prepared, [Preparing], Starting, "the worktree is there: the agent starts"),
        new(LifeEvent.PreparationFailed, [Preparing, Starting, Queued], Failed, "its worktree could not be made, or its agent not started there; the event says why"),
        new(LifeEvent.StartBegun, [Idle, Failed, Interrupted], Starting, "a message came for its gone agent: it is brought back, then takes it"),
        new(LifeEvent.JoinedLine, [Preparing, .. Startable, Running, Waiting], Queued,
            "every agent slot is taken; it starts (or a paused agent resumes on its decision) when one is free"),
        new(LifeEvent.LeftLine, [Queued], Idle, "a cancel takes a resumed session out of line; what it would run stays held"),
        new(LifeEvent.StartFailed, [Preparing, .. Startable], Failed, "session.error AGENT_UNAVAILABLE says why"),
        new(LifeEvent.Working, Reporting, Running, "a turn began, or a question was answered while it runs"),
        new(LifeEvent.Asking, Reporting, Waiting, "a call, a question or the budget waits for someone"),
        new(LifeEvent.BetweenTurns, Reporting, Idle, "the turn ended (or was cancelled); the agent waits for a message"),
        new(LifeEvent.AgentFailed, [Starting, Queued, Running, Waiting, Idle], Failed, "the agent exited on its own"),
        new(LifeEvent.Stopped, [Preparing, Queued, Starting, Running, Waiting, Idle, Failed, Interrupted], Stopped,
            "stop, archive, hand back, or the project's stop"),
        new(LifeEvent.ServerStopped, [Queued, Starting, Running, Waiting], Interrupted, "the server stopped under a busy session"),
    ];

    private static readonly Dictionary<(string From, LifeEvent Event), string> Moves = Transitions
        .SelectMany(t => t.From.Select(from => (Key: (from, t.Event), t.To)))
        .ToDictionary(m => m.Key, m => m.To);

    private static readonly Dictionary<string, SessionState> ByName = States.ToDictionary(s => s.Name, StringComparer.Ordinal);

    /// <summary>The state <paramref name="event"/> moves a session in <paramref name="from"/> to; null when it may not happen there.</summary>
    public static string? Next(string from, LifeEvent @event) => Moves.GetValueOrDefault((from, @event));

    /// <summary>The state <paramref name="event"/> leads to, wherever it is allowed (each event leads to one).</summary>
    public static string To(LifeEvent @event) => Transitions.First(t => t.Event == @event).To;

    public static SessionState State(string name) => ByName.TryGetValue(name, out var state)
        ? state
        : throw new ArgumentOutOfRangeException(nameof(name), name, "Not a session state.");

    /// <summary>The states a restart finds busy (<see cref="LifeEvent.ServerStopped"/> moves them).</summary>
    public static string[] Busy { get; } = [.. States.Where(s => s.Busy).Select(s => s.Name)];

    /// <summary>The table as docs/design.md shows it: one row per event.</summary>
    public static string Markdown() =>
        Server.MarkdownTable.Of(["state", "agent process", "meaning"],
            States.Select(s => new[] { $"`{s.Name}`", s.Agent.ToString().ToLowerInvariant(), s.Meaning })) + "\n\n"
        + Server.MarkdownTable.Of(["event", "from", "to", "why"],
            Transitions.Select(t => new[] { $"{t.Event}", string.Join(", ", t.From.Select(f => $"`{f}`")), $"`{t.To}`", t.Why }));
}
