namespace PocketCoder.Sessions.Running;

/// <summary>
/// The machine-wide limit on running agent processes: a session holds a slot while its agent's process runs, and lets it go
/// when the process ends (a pause on a call, an idle suspension, a stop, an exit). A session that would start beyond the limit
/// waits in line; nothing working is stopped to make room (its manager suspends a session whose turn
/// is over for the line, as idle suspension would later). Plain state under one lock; what a session does
/// while it waits (its status, its place on the phone) is its manager's.
/// <para>
/// A slot is a <see cref="SlotLease"/>, one per agent process, let go only through that lease: a stop of a session's old
/// process that ends late can never free the slot of the process that came after it (a stop racing a message would otherwise
/// run one agent more than the limit, and put the next in line ahead of it).
/// </para>
/// <para>
/// The line takes turns by person, not by arrival (<see cref="Claimant"/>): owners first, then whoever runs fewest agents now,
/// then first come; and nobody runs more than the per-person cap an owner sets, however free the machine. First come first
/// served let an operator who started three sessions with the limit at 1 keep the owner's new session waiting behind them.
/// </para>
/// </summary>
public sealed class AgentSlots
{
    /// <summary>What one running agent is reckoned to need: an agent process and the tools it runs (docs/design.md, Resources).</summary>
    public const long MemoryPerAgent = 512L * 1024 * 1024;

    /// <summary>The highest limit a default may come to, whatever the memory: past it, the processor is what runs out.</summary>
    public const int HighestDefault = 32;

    private readonly Lock _lock = new();
    private readonly HashSet<SlotLease> _running = [];
    private readonly List<Waiter> _waiting = [];
    private readonly List<Action> _watchers = [];
    private readonly Func<string, Claimant> _claimantOf;
    private int _limit;
    private int? _perPerson;
    private long _arrivals;

    /// <param name="limit">At least 1.</param>
    /// <param name="claimantOf">Whose a session's start is (read outside the lock); without it every session is one nobody's, and
    /// the line is first come first served.</param>
    public AgentSlots(int limit, Func<string, Claimant>? claimantOf = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
        _claimantOf = claimantOf ?? (_ => Claimant.Nobody);
    }

    /// <summary>The most agents one person may run at once (null: no cap but the limit).</summary>
    public int? PerPersonLimit
    {
        get
        {
            lock (_lock)
            {
                return _perPerson;
            }
        }
    }

    /// <summary>
    /// The limit a machine gets unless told otherwise: half its memory at <see cref="MemoryPerAgent"/> each, at least 2 and
    /// at most <see cref="HighestDefault"/> (a 16 GiB laptop: 16).
    /// </summary>
    public static int DefaultFor(long machineMemoryBytes) =>
        (int)Math.Clamp(machineMemoryBytes / 2 / MemoryPerAgent, 2, HighestDefault);

    /// <summary>What a session in line says (its status's reason; the phone shows it as it is).</summary>
    public static string QueuedReason(int place, int running) =>
        $"waiting for an agent slot: starts when one of {running} running session{(running == 1 ? "" : "s")} finishes or pauses " +
        $"({Ordinal(place)} in line)";

    private static string Ordinal(int place) => place + (place % 100 is 11 or 12 or 13 ? "th" : (place % 10) switch
    {
        1 => "st",
        2 => "nd",
        3 => "rd",
        _ => "th",
    });

    public int Limit
    {
        get
        {
            lock (_lock)
            {
                return _limit;
            }
        }
    }

    /// <summary>How many sessions hold a slot now.</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>The sessions waiting for a slot, first in line first (the order the line gives slots in, not arrival).</summary>
    public IReadOnlyList<string> Waiting
    {
        get
        {
            lock (_lock)
            {
                return [.. Ordered().Select(w => w.SessionId)];
            }
        }
    }

    /// <summary>
    /// Told (outside the lock) whenever the line moves: a slot is taken or let go, someone joins or leaves it, the limit changes;
    /// and when a session holding a slot ends its turn while someone waits (<see cref="TurnOver"/>).
    /// </summary>
    public void Watch(Action changed)
    {
        lock (_lock)
        {
            _watchers.Add(changed);
        }
    }

    /// <summary>
    /// Whom the line needs room for now, or null: the first in line when every slot is taken (anyone's idle agent giving way
    /// serves), or, when everyone in line is held by their cap, the first of them, whose own idle agent alone can serve
    /// (<paramref name="OwnOnly"/>); with a slot free for someone under their cap, nobody need give way.
    /// </summary>
    public LineNeed? Need()
    {
        lock (_lock)
        {
            if (Ordered().FirstOrDefault() is not { } first)
            {
                return null;
            }

            return !UnderCap(first.Claimant) ? new LineNeed(first.SessionId, OwnOnly: true)
                : _running.Count >= _limit ? new LineNeed(first.SessionId, OwnOnly: false) : null;
        }
    }

    /// <summary>Whether the session holds a slot.</summary>
    public bool Holds(string sessionId)
    {
        lock (_lock)
        {
            return HeldBy(sessionId);
        }
    }

    private bool HeldBy(string sessionId) => _running.Any(lease => lease.SessionId == sessionId);

    /// <summary>The session's place in line (1: next), or null when it is not waiting.</summary>
    public int? Place(string sessionId)
    {
        lock (_lock)
        {
            var index = Ordered().FindIndex(w => w.SessionId == sessionId);
            return index < 0 ? null : index + 1;
        }
    }

    /// <summary>A slot taken at once when one is free and nobody waits ahead; null otherwise.</summary>
    public SlotLease? TryTake(string sessionId)
    {
        var claimant = _claimantOf(sessionId);
        SlotLease? taken;
        lock (_lock)
        {
            taken = TakeFree(new Waiter(sessionId, claimant, long.MaxValue));
        }

        if (taken is not null)
        {
            Changed();
        }

        return taken;
    }

    /// <summary>Under the lock: a new lease when a slot is free, the claimant is under the cap, and nobody in line goes first.</summary>
    private SlotLease? TakeFree(Waiter newcomer)
    {
        if (_running.Count >= _limit || !UnderCap(newcomer.Claimant)
            || _waiting.Any(w => UnderCap(w.Claimant) && Compare(w, newcomer) < 0))
        {
            return null;
        }

        var lease = new SlotLease(newcomer.SessionId, newcomer.Claimant.Key);
        _running.Add(lease);
        return lease;
    }

    private int RunningOf(string claimant) => _running.Count(lease => lease.Claimant == claimant);

    private bool UnderCap(Claimant claimant) => _perPerson is not { } cap || RunningOf(claimant.Key) < cap;

    /// <summary>Who goes first: owners, then whoever runs fewer agents now, then whoever came first.</summary>
    private int Compare(Waiter a, Waiter b) =>
        a.Claimant.Owner != b.Claimant.Owner ? (a.Claimant.Owner ? -1 : 1)
        : RunningOf(a.Claimant.Key).CompareTo(RunningOf(b.Claimant.Key)) is var fewer and not 0 ? fewer
        : a.Arrival.CompareTo(b.Arrival);

    /// <summary>The line in the order it gives slots: those under their cap by <see cref="Compare"/>, then those at it, by arrival.</summary>
    private List<Waiter> Ordered()
    {
        var open = _waiting.Where(w => UnderCap(w.Claimant)).ToList();
        open.Sort(Compare);
        return [.. open, .. _waiting.Where(w => !UnderCap(w.Claimant)).OrderBy(w => w.Arrival)];
    }

    /// <summary>
    /// A slot: at once when <see cref="TryTake"/> would give one, else when this call's turn in line comes. Cancelled, it leaves
    /// the line (holding nothing). The free-slot check and joining the line are one step, so a slot let go in between is never
    /// given to nobody while this waits.
    /// </summary>
    public async Task<SlotLease> TakeAsync(string sessionId, CancellationToken cancellationToken)
    {
        var claimant = _claimantOf(sessionId);
        Waiter waiter;
        lock (_lock)
        {
            waiter = new Waiter(sessionId, claimant, ++_arrivals);
            if (TakeFree(waiter) is { } free)
            {
                waiter.Granted.TrySetResult(free);
            }
            else
            {
                _waiting.Add(waiter);
            }
        }

        Changed();
        try
        {
            return await waiter.Granted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Leave(waiter);
            throw;
        }
    }

    /// <summary>
    /// The lease's process ended (or never started): its slot goes to the first in line. Nothing when it was let go already, or
    /// for none.
    /// </summary>
    public void Release(SlotLease? lease)
    {
        if (lease is null)
        {
            return;
        }

        bool released;
        lock (_lock)
        {
            released = _running.Remove(lease);
        }

        if (released)
        {
            Promote();
        }
    }

    /// <summary>
    /// A session holding a slot ended its turn: when someone waits in line, the watchers are told, as the slot may now be
    /// theirs (its manager suspends a session whose turn is over for one in line).
    /// </summary>
    public void TurnOver(string sessionId)
    {
        bool matters;
        lock (_lock)
        {
            matters = _waiting.Count > 0 && HeldBy(sessionId);
        }

        if (matters)
        {
            Changed();
        }
    }

    /// <summary>A new limit (at least 1): raised, those first in line start; lowered, nobody is stopped here, the line just waits longer.</summary>
    public void SetLimit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_lock)
        {
            _limit = limit;
        }

        Promote();
    }

    /// <summary>A new cap on agents per person (null: none): raised or cleared, those it held back start if slots are free.</summary>
    public void SetPerPersonLimit(int? perPerson)
    {
        if (perPerson is { } cap)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(cap, 1);
        }

        lock (_lock)
        {
            _perPerson = perPerson;
        }

        Promote();
    }

    private void Leave(Waiter waiter)
    {
        bool left;
        lock (_lock)
        {
            // A slot granted as the wait was cancelled is let go again: nobody is left holding it.
            left = _waiting.Remove(waiter) || (waiter.Granted.Task.IsCompletedSuccessfully && _running.Remove(waiter.Granted.Task.Result));
        }

        if (left)
        {
            Promote();
        }
    }

    /// <summary>Gives free slots to those first in line.</summary>
    private void Promote()
    {
        lock (_lock)
        {
            while (_running.Count < _limit && Ordered().FirstOrDefault() is { } first && UnderCap(first.Claimant))
            {
                _waiting.Remove(first);
                var lease = new SlotLease(first.SessionId, first.Claimant.Key);
                _running.Add(lease);
                // Granted under the lock (its continuations run elsewhere): a wait cancelled at the same moment then finds it
                // granted, and lets the lease go (Leave), rather than neither in line nor granted, leaving it held for ever.
                first.Granted.TrySetResult(lease);
            }
        }

        Changed();
    }

    private void Changed()
    {
        List<Action> watchers;
        lock (_lock)
        {
            watchers = [.. _watchers];
        }

        foreach (var watch in watchers)
        {
            try
            {
                watch();
            }
            catch (Exception)
            {
                // A watcher's failure (a status it could not write) must not undo a take or a release half done: a waiter
                // left in line with nobody awaiting it would hold its slot for ever. The next change tells them again.
            }
        }
    }

    private sealed class Waiter(string sessionId, Claimant claimant, long arrival)
    {
        public string SessionId { get; } = sessionId;

        public Claimant Claimant { get; } = claimant;

        public long Arrival { get; } = arrival;

        public TaskCompletionSource<SlotLease> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One agent slot, held by one process of a session (<see cref="AgentSlots"/>); compared by identity.</summary>
public sealed class SlotLease
{
    internal SlotLease(string sessionId, string claimant)
    {
        SessionId = sessionId;
        Claimant = claimant;
    }

    public string SessionId { get; }

    /// <summary>Whose it is (<see cref="Running.Claimant.Key"/>), counted against their cap.</summary>
    public string Claimant { get; }
}

/// <summary>The session the line needs room for (<see cref="AgentSlots.Need"/>); <paramref name="OwnOnly"/>: only its starter's own idle agent giving way serves it.</summary>
public sealed record LineNeed(string SessionId, bool OwnOnly);

/// <summary>Whose a session's agent is, for the line: the person who started it (or the device, for no one's), and whether they are an owner.</summary>
public sealed record Claimant(string Key, bool Owner)
{
    public static readonly Claimant Nobody = new("", false);
}
