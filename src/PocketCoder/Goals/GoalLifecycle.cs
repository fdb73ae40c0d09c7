namespace PocketCoder.Goals;

/// <summary>Where a session's goal stands. Stored and sent as its word (<see cref="GoalLifecycle.ToWire"/>), never as the enum's name.</summary>
public enum GoalState
{
    /// <summary>PocketCoder drives it: after each turn it decides whether the goal is met and, if not, sends the next turn.</summary>
    Active,

    /// <summary>The owner paused it: turns still end, but none is sent for the goal until it is resumed.</summary>
    Paused,

    /// <summary>No progress in its last turns (or its session failed): the owner is asked whether to go on.</summary>
    WaitingForOwner,

    /// <summary>Met: its check passed, or the agent said so.</summary>
    Complete,

    /// <summary>A cap was reached (turns, wall time or tokens) before it was met.</summary>
    BudgetLimited,

    /// <summary>The owner, asked after turns with no progress, chose to stop.</summary>
    Stalled,

    /// <summary>Cleared, or its session stopped, before it ended otherwise.</summary>
    Stopped,
}

/// <summary>What happens to a goal, as the loop and the owner say it; the state that follows is the table's answer.</summary>
public enum GoalEvent
{
    /// <summary>A turn ended and the goal is met (the check exited 0, or the agent's last line said <c>GOAL: MET</c>).</summary>
    Met,

    /// <summary>A turn ended, the goal is not met, and there is room and progress: the next turn is sent.</summary>
    NotMet,

    /// <summary>A turn ended (or the goal was to go on) with a cap reached.</summary>
    CapReached,

    /// <summary>The same outcome as the turns before, as many turns in a row as the goal allows.</summary>
    NoProgress,

    /// <summary>The session's agent failed while the goal drove it, or the goal's turn could not be sent.</summary>
    CannotGoOn,

    /// <summary>The owner paused it, or stopped a turn of it.</summary>
    Pause,

    /// <summary>The owner resumed a paused goal.</summary>
    Resume,

    /// <summary>The owner, asked, chose to go on.</summary>
    OwnerContinue,

    /// <summary>The owner, asked, chose to stop.</summary>
    OwnerStop,

    /// <summary>The owner cleared it, or its session was stopped.</summary>
    Stop,
}

public sealed record GoalStateInfo(GoalState State, string Meaning);

public sealed record GoalTransition(GoalEvent Event, IReadOnlyList<GoalState> From, GoalState To, string Why);

/// <summary>
/// A goal's life in one table (as <see cref="Approvals.ApprovalLifecycle"/> is an approval's): its states, and for each event the
/// states it moves a goal from and the state it moves it to. An ended goal (<see cref="IsEnded"/>) never changes again: a new goal
/// replaces it. Every state <see cref="GoalStore"/> writes is the table's answer, and only where the row still holds the state
/// the table moved from. docs/goals.md shows the table as <see cref="Markdown"/> writes it (a test checks it).
/// </summary>
public static class GoalLifecycle
{
    private const GoalState Active = GoalState.Active, Paused = GoalState.Paused, Waiting = GoalState.WaitingForOwner;

    public static readonly IReadOnlyList<GoalStateInfo> States =
    [
        new(Active, "PocketCoder drives it: after each turn it checks the goal and, if it is not met, sends the next turn"),
        new(Paused, "turns end as they do without a goal; none is sent for it until the owner resumes it"),
        new(Waiting, "no progress in its last turns, or its session failed: the owner is asked to go on or stop"),
        new(GoalState.Complete, "met: its check exited 0, or the agent's last line said `GOAL: MET`"),
        new(GoalState.BudgetLimited, "a cap (turns, wall time, tokens) was reached before it was met"),
        new(GoalState.Stalled, "the owner, asked after turns with no progress, chose to stop"),
        new(GoalState.Stopped, "cleared, or its session stopped, before it ended otherwise"),
    ];

    public static readonly IReadOnlyList<GoalTransition> Transitions =
    [
        new(GoalEvent.Met, [Active], GoalState.Complete, "a turn ended and the goal is met"),
        new(GoalEvent.NotMet, [Active], Active, "a turn ended, not met, with room and progress: the next turn is sent"),
        new(GoalEvent.CapReached, [Active], GoalState.BudgetLimited, "its turns, wall time or tokens reached their cap"),
        new(GoalEvent.NoProgress, [Active], Waiting, "the same outcome as many turns in a row as the goal allows (3 unless set)"),
        new(GoalEvent.CannotGoOn, [Active], Waiting, "its session's agent failed, or its next turn could not be sent"),
        new(GoalEvent.Pause, [Active, Waiting], Paused, "the owner paused it, or stopped one of its turns"),
        new(GoalEvent.Resume, [Paused], Active, "the owner resumed it: the next turn is sent once the session is between turns"),
        new(GoalEvent.OwnerContinue, [Waiting], Active, "the owner chose to go on: the no-progress count starts again"),
        new(GoalEvent.OwnerStop, [Waiting], GoalState.Stalled, "the owner chose to stop"),
        new(GoalEvent.Stop, [Active, Paused, Waiting], GoalState.Stopped, "the owner cleared it, or its session stopped"),
    ];

    private static readonly Dictionary<(GoalState From, GoalEvent Event), GoalState> Moves = Transitions
        .SelectMany(t => t.From.Select(from => (Key: (from, t.Event), t.To)))
        .ToDictionary(m => m.Key, m => m.To);

    private static readonly Dictionary<GoalState, string> Words = new()
    {
        [Active] = "active",
        [Paused] = "paused",
        [Waiting] = "waiting_for_owner",
        [GoalState.Complete] = "complete",
        [GoalState.BudgetLimited] = "budget_limited",
        [GoalState.Stalled] = "stalled",
        [GoalState.Stopped] = "stopped",
    };

    private static readonly Dictionary<string, GoalState> ByWord = Words.ToDictionary(w => w.Value, w => w.Key, StringComparer.Ordinal);

    /// <summary>The state <paramref name="event"/> moves a goal in <paramref name="from"/> to; null when it may not happen there.</summary>
    public static GoalState? Next(GoalState from, GoalEvent @event) => Moves.TryGetValue((from, @event), out var to) ? to : null;

    /// <summary>Nothing moves it any more: it ended, and says how.</summary>
    public static bool IsEnded(this GoalState state) => !Transitions.Any(t => t.From.Contains(state));

    public static string ToWire(this GoalState state) => Words.TryGetValue(state, out var word)
        ? word
        : throw new ArgumentOutOfRangeException(nameof(state), state, "Not a goal state.");

    /// <exception cref="FormatException">The word names no state (a database written by something else).</exception>
    public static GoalState FromWire(string word) => ByWord.TryGetValue(word, out var state)
        ? state
        : throw new FormatException($"'{word}' is not a goal state ({string.Join(", ", Words.Values)}).");

    /// <summary>The table as docs/goals.md shows it.</summary>
    public static string Markdown()
    {
        var lines = new List<string> { "| state | meaning |", "|---|---|" };
        lines.AddRange(States.Select(s => $"| `{s.State.ToWire()}` | {s.Meaning} |"));
        lines.Add("");
        lines.Add("| event | from | to | why |");
        lines.Add("|---|---|---|---|");
        lines.AddRange(Transitions.Select(t => $"| {t.Event} | {string.Join(", ", t.From.Select(f => $"`{f.ToWire()}`"))} | `{t.To.ToWire()}` | {t.Why} |"));
        return string.Join('\n', lines);
    }
}
