namespace PocketCoder.Approvals;

/// <summary>Where an approval stands. Stored and sent as its word (<see cref="ApprovalLifecycle.ToWire"/>), never as the enum's name.</summary>
public enum ApprovalStatus
{
    /// <summary>Asked and waiting (a call that needs two people waits here after the first allow).</summary>
    Pending,

    /// <summary>Settled by a decision: a person's allow, answer or deny, or the project's timeout's deny.</summary>
    Decided,

    /// <summary>The agent withdrew the question (turn cancelled, session stopped, agent exited).</summary>
    Cancelled,

    /// <summary>The server stopped while it was pending.</summary>
    Interrupted,
}

/// <summary>
/// What happens to a pending approval, as its writers say it: the status that follows is the table's answer
/// (<see cref="ApprovalLifecycle.Next"/>), never the writer's. A vote (one of two allows) and an escalation change no status.
/// </summary>
public enum ApprovalEvent
{
    /// <summary>The decision that settles it (the last allow a call needs, an answer, a deny, or the project's timeout).</summary>
    DecisionMade,

    /// <summary>The agent no longer needs it: its turn was cancelled, its session stopped or its agent exited.</summary>
    Withdrawn,

    /// <summary>The server stopped while it waited (settled as it stops, or at the next start after a crash): no one can answer it any more.</summary>
    ServerStopped,
}

public sealed record ApprovalState(ApprovalStatus Status, string Meaning);

public sealed record ApprovalTransition(ApprovalEvent Event, ApprovalStatus From, ApprovalStatus To, string Why);

/// <summary>
/// An approval's life in one table (as <see cref="Sessions.SessionLifecycle"/> is a session's): its states, and for each event the
/// state it moves an approval from and to. A settled approval never changes again. Every status the store writes is the
/// table's answer (<see cref="ApprovalStore.MarkDecided"/>, <see cref="ApprovalStore.MarkSettled"/>), and its SQL writes it only
/// where the row still holds the state the table moved from, so two deciders racing settle it once. The database and the wire
/// keep the words (<see cref="ToWire"/>); docs/design.md shows the table as <see cref="Markdown"/> writes it (a test checks it).
/// </summary>
public static class ApprovalLifecycle
{
    /// <summary>The state every approval is asked in.</summary>
    public const ApprovalStatus Asked = ApprovalStatus.Pending;

    public static readonly IReadOnlyList<ApprovalState> States =
    [
        new(ApprovalStatus.Pending, "asked; waits as long as it takes (or the project's timeout), a two-person call after its first allow too"),
        new(ApprovalStatus.Decided, "allowed, answered or denied: its decision, who made it and when are kept"),
        new(ApprovalStatus.Cancelled, "withdrawn by the agent before anyone decided"),
        new(ApprovalStatus.Interrupted, "the server stopped while it waited; if the agent asks again, that is a new approval"),
    ];

    public static readonly IReadOnlyList<ApprovalTransition> Transitions =
    [
        new(ApprovalEvent.DecisionMade, ApprovalStatus.Pending, ApprovalStatus.Decided,
            "a person decides it (the last allow it needs, an answer, a deny), or the project's timeout denies it"),
        new(ApprovalEvent.Withdrawn, ApprovalStatus.Pending, ApprovalStatus.Cancelled, "the turn was cancelled, the session stopped or the agent exited"),
        new(ApprovalEvent.ServerStopped, ApprovalStatus.Pending, ApprovalStatus.Interrupted, "found pending when the server stops, or at its next start after a crash"),
    ];

    private static readonly Dictionary<(ApprovalStatus From, ApprovalEvent Event), ApprovalStatus> Moves =
        Transitions.ToDictionary(t => (t.From, t.Event), t => t.To);

    private static readonly Dictionary<ApprovalStatus, string> Words = new()
    {
        [ApprovalStatus.Pending] = "pending",
        [ApprovalStatus.Decided] = "decided",
        [ApprovalStatus.Cancelled] = "cancelled",
        [ApprovalStatus.Interrupted] = "interrupted",
    };

    private static readonly Dictionary<string, ApprovalStatus> ByWord = Words.ToDictionary(w => w.Value, w => w.Key, StringComparer.Ordinal);

    /// <summary>The state <paramref name="event"/> moves an approval in <paramref name="from"/> to; null when it may not happen there.</summary>
    public static ApprovalStatus? Next(ApprovalStatus from, ApprovalEvent @event) => Moves.TryGetValue((from, @event), out var to) ? to : null;

    /// <summary>As <see cref="Next"/>, for a writer that has checked the approval may move (a refusal here is a bug, not a user's mistake).</summary>
    /// <exception cref="InvalidOperationException">The table does not allow it.</exception>
    public static ApprovalStatus Move(string approvalId, ApprovalStatus from, ApprovalEvent @event) => Next(from, @event)
        ?? throw new InvalidOperationException($"Approval '{approvalId}' is {from.ToWire()}: {@event} does not move it (a settled approval never changes).");

    /// <summary>Nothing moves it any more.</summary>
    public static bool IsSettled(this ApprovalStatus status) => !Transitions.Any(t => t.From == status);

    public static string ToWire(this ApprovalStatus status) => Words.TryGetValue(status, out var word)
        ? word
        : throw new ArgumentOutOfRangeException(nameof(status), status, "Not an approval status.");

    /// <summary>The status a word names, or null for a word that names none.</summary>
    public static ApprovalStatus? TryFromWire(string? word) => word is not null && ByWord.TryGetValue(word, out var status) ? status : null;

    /// <exception cref="FormatException">The word names no status (a database written by something else).</exception>
    public static ApprovalStatus FromWire(string word) => TryFromWire(word)
        ?? throw new FormatException($"'{word}' is not an approval status ({string.Join(", ", Words.Values)}).");

    /// <summary>The table as docs/design.md shows it.</summary>
    public static string Markdown() =>
        Server.MarkdownTable.Of(["state", "meaning"], States.Select(s => new[] { $"`{s.Status.ToWire()}`", s.Meaning })) + "\n\n"
        + Server.MarkdownTable.Of(["event", "from", "to", "why"],
            Transitions.Select(t => new[] { $"{t.Event}", $"`{t.From.ToWire()}`", $"`{t.To.ToWire()}`", t.Why }));
}
