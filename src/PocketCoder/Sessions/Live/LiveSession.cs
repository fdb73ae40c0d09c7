using System.Collections.Concurrent;

namespace PocketCoder.Sessions.Live;

/// <summary>
/// One session as the server holds it while anything of it goes on: its start lock, its runner (the agent process and what
/// drives it), the wait for its worktree or an agent slot, its "raise the budget?" question, and the place in line it was last
/// told. One object per session, where there were five dictionaries keyed by its id, so that what one holds and what another
/// holds cannot disagree. Its status is the lifecycle table's (<see cref="SessionLifecycle"/>), kept in the database.
/// </summary>
internal sealed class LiveSession(string id)
{
    private SessionRunner? _runner;
    private Preparation? _preparation;
    private int _budgetWait;

    public string Id { get; } = id;

    /// <summary>
    /// Held by every start, stop, suspension and hand-back of the session, and by a message that must know whether the agent is
    /// up: none of them lands between another's check and its act.
    /// </summary>
    public SemaphoreSlim StartLock { get; } = new(1, 1);

    public SessionRunner? Runner => Volatile.Read(ref _runner);

    public Preparation? Preparation => Volatile.Read(ref _preparation);

    /// <summary>The place in line last said to the session (a line that did not move for it says nothing again).</summary>
    public string? PlaceSaid { get; set; }

    public void Run(SessionRunner runner) => Volatile.Write(ref _runner, runner);

    /// <summary>Lets go of the runner if it is still <paramref name="runner"/> (a newer one is left alone).</summary>
    public bool Forget(SessionRunner runner) => Interlocked.CompareExchange(ref _runner, null, runner) == runner;

    /// <summary>Lets go of whatever runner it has, returning it.</summary>
    public SessionRunner? TakeRunner() => Interlocked.Exchange(ref _runner, null);

    public void Prepare(Preparation preparation) => Volatile.Write(ref _preparation, preparation);

    /// <summary>The wait is over if it is still <paramref name="preparation"/> (a newer one is left alone).</summary>
    public bool EndPreparation(Preparation preparation) => Interlocked.CompareExchange(ref _preparation, null, preparation) == preparation;

    /// <summary>One "raise the budget?" question at a time: false when one is asked already.</summary>
    public bool BeginBudgetWait() => Interlocked.Exchange(ref _budgetWait, 1) == 0;

    public void EndBudgetWait() => Interlocked.Exchange(ref _budgetWait, 0);
}

/// <summary>A start no request waits for (<see cref="SessionStarts.EnsureRunningAsync"/>).</summary>
/// <param name="For">What it is for, in the status's reason ("for a message": "resuming for a message").</param>
/// <param name="First">Done under the start lock before the start begins (a message joins the queue, first in line).</param>
/// <param name="ResumedBy">Whose resume it is: what the agent carries on with is on their word, and what was queued before
/// waits for them.</param>
internal sealed record BackgroundStart(string For, Action<Session>? First = null, PocketCoder.Auth.Actor? ResumedBy = null);

/// <summary>
/// A wait before a session's agent can start: its worktree being made, or its place in line for an agent slot; and what stops
/// it: a stop or cancel of its session, or the server stopping.
/// </summary>
/// <param name="resume">Its agent carries on a conversation (a session in line for a slot that had one): a cancel takes it
/// out of line rather than stopping it.</param>
/// <param name="resumedBy">Whose resume this start is: what the agent carries on with is on their word, and what was queued
/// before it waits for them (<see cref="HoldsQueue"/>).</param>
internal sealed class Preparation(CancellationToken stopping, bool resume = false, PocketCoder.Auth.Actor? resumedBy = null)
{
    public bool Resume { get; } = resume;

    public PocketCoder.Auth.Actor? ResumedBy { get; } = resumedBy;

    /// <summary>
    /// What waits in the queue was sent to an agent that went away, and waits for its owner once the agent is back (as a
    /// resume within a request held it). A message sent meanwhile goes first and lets the rest go on. Read and written under
    /// the session's start lock.
    /// </summary>
    public bool HoldsQueue { get; set; }

    public CancellationTokenSource Cancel { get; } = CancellationTokenSource.CreateLinkedTokenSource(stopping);

    /// <summary>Set once the wait has ended, however: a half-made worktree is gone by then, or its agent runs.</summary>
    public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The live sessions, one <see cref="LiveSession"/> each, shared by what starts, steers and suspends them. An entry lasts while
/// the server runs (a lock and three references: what a session costs once its agent is gone).
/// </summary>
public sealed class LiveSessions
{
    private readonly ConcurrentDictionary<string, LiveSession> _all = new(StringComparer.Ordinal);

    internal LiveSession Of(string sessionId) => _all.GetOrAdd(sessionId, id => new LiveSession(id));

    public SessionRunner? RunnerOf(string sessionId) => _all.TryGetValue(sessionId, out var live) ? live.Runner : null;

    internal Preparation? PreparationOf(string sessionId) => _all.TryGetValue(sessionId, out var live) ? live.Preparation : null;

    public bool IsPreparing(string sessionId) => PreparationOf(sessionId) is not null;

    /// <summary>True while the session's agent is stopped on a call nobody has decided yet (its decision resumes it).</summary>
    public bool IsPaused(string sessionId) => RunnerOf(sessionId) is { IsPaused: true };

    /// <summary>Completes once the session's last turn's review is written (none is being closed in the background).</summary>
    public Task TurnReviewsSettledAsync(string sessionId, CancellationToken cancellationToken) =>
        RunnerOf(sessionId) is { } runner ? runner.TurnReviewsSettledAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>The running sessions' agent processes, for their memory.</summary>
    internal IReadOnlyList<(string SessionId, string Agent, int ProcessId)> RunningProcesses() =>
        [.. Runners.Where(r => r.IsAlive).Select(r => (r.SessionId, r.Agent, r.ProcessId)).Where(r => r.ProcessId is not null)
            .Select(r => (r.SessionId, r.Agent, r.ProcessId!.Value))];

    /// <summary>Every session's runner (a snapshot).</summary>
    public IReadOnlyList<SessionRunner> Runners => [.. _all.Values.Select(l => l.Runner).OfType<SessionRunner>()];

    internal IReadOnlyList<Preparation> Preparations => [.. _all.Values.Select(l => l.Preparation).OfType<Preparation>()];

    /// <summary>Sessions with a runner or a start on its way: what a project's stop must stop.</summary>
    public IReadOnlyList<string> Active => [.. _all.Values.Where(l => l.Runner is not null || l.Preparation is not null).Select(l => l.Id)];

    internal IEnumerable<LiveSession> All => _all.Values;

    public int RunnerCount => _all.Values.Count(l => l.Runner is not null);

    /// <summary>
    /// With no agent running, nothing queued starts until the owner says so; while its worktree is made or it waits for a slot,
    /// it starts once its agent is up, unless a resume holds it for the owner.
    /// </summary>
    public bool QueueHeld(string sessionId) => PreparationOf(sessionId) is { } waiting
        ? waiting.HoldsQueue
        : RunnerOf(sessionId) is not { } runner || runner.QueueHeld;

    /// <summary>Runs <paramref name="work"/> under the session's start lock.</summary>
    public Task<T> ExclusivelyAsync<T>(string sessionId, Func<Task<T>> work, CancellationToken cancellationToken) =>
        Of(sessionId).StartLock.RunAsync(work, cancellationToken);

    public Task ExclusivelyAsync(string sessionId, Func<Task> work, CancellationToken cancellationToken) =>
        Of(sessionId).StartLock.RunAsync(work, cancellationToken);
}
