using CsCheck;
using PocketCoder.Data;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Sessions;

/// <summary>
/// The one table of a session's life (<see cref="SessionLifecycle"/>): its laws, the store that writes only what it allows, and
/// the page that documents it.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SessionLifecycleTests : IDisposable
{
    private static readonly string[] Created = [SessionStatuses.Starting, SessionStatuses.Preparing];
    private static readonly LifeEvent[] Events = Enum.GetValues<LifeEvent>();

    private readonly string _data = TempPaths.NewDirectory("pc-lifecycle");
    private readonly Database _database;
    private readonly SessionStore _sessions;
    private readonly EventLog _events;

    public SessionLifecycleTests()
    {
        _database = new Database(_data);
        _database.Migrate();
        _events = new EventLog(_database, new EventHub(), TimeProvider.System);
        _sessions = new SessionStore(_database, _events, TimeProvider.System);
    }

    [Fact]
    public void DesignPage_HoldsTheTableGeneratedFromTheTable()
    {
        var path = Path.Combine(ClaudeCli.RepositoryRoot(), "docs", "design.md");
        var page = File.ReadAllText(path);
        const string begin = "<!-- session-lifecycle:begin (generated from Sessions/SessionLifecycle.cs; a test checks it) -->\n";
        const string end = "\n<!-- session-lifecycle:end -->";
        var from = page.IndexOf(begin, StringComparison.Ordinal);
        var to = page.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, "docs/design.md has no session-lifecycle block.");
        if (Environment.GetEnvironmentVariable("POCKETCODER_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, page[..(from + begin.Length)] + SessionLifecycle.Markdown() + page[to..]);
            return;
        }

        Assert.True(page[(from + begin.Length)..to] == SessionLifecycle.Markdown(),
            "docs/design.md's lifecycle table is not what the table says: run `POCKETCODER_UPDATE_DOCS=1 dotnet test tests/PocketCoder.Tests "
            + "--filter FullyQualifiedName~SessionLifecycleTests` and review the change.");
    }

    [Fact]
    public void EveryState_IsReachedFromCreation_AndCanBeStopped()
    {
        var reached = new HashSet<string>(Created);
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var state in reached.ToList())
            {
                foreach (var @event in Events)
                {
                    grew |= SessionLifecycle.Next(state, @event) is { } next && reached.Add(next);
                }
            }
        }

        Assert.Equal(SessionLifecycle.States.Select(s => s.Name).Order(), reached.Order());
        Assert.All(SessionLifecycle.States.Where(s => s.Name != SessionStatuses.Stopped),
            s => Assert.Equal(SessionStatuses.Stopped, SessionLifecycle.Next(s.Name, LifeEvent.Stopped)));
    }

    [Fact]
    public void Stopped_IsFinal_NoLateWordBringsItBack()
    {
        Assert.All(Events, e => Assert.Null(SessionLifecycle.Next(SessionStatuses.Stopped, e)));
    }

    [Fact]
    public void EveryTransition_NamesKnownStates_AndNoEventIsListedTwiceFromOneState()
    {
        var names = SessionLifecycle.States.Select(s => s.Name).ToHashSet();
        Assert.All(SessionLifecycle.Transitions, t => Assert.Contains(t.To, names));
        Assert.All(SessionLifecycle.Transitions, t => Assert.All(t.From, f => Assert.Contains(f, names)));
        Assert.All(SessionLifecycle.Transitions.GroupBy(t => t.Event), g => Assert.Single(g));
        Assert.All(SessionLifecycle.Transitions, t => Assert.Equal(t.From.Count, t.From.Distinct().Count()));
    }

    [Fact]
    public void ARestart_LeavesNothingBusy_AndWhatItCutOffIsAtRest()
    {
        Assert.All(SessionLifecycle.Busy, busy =>
        {
            var next = SessionLifecycle.Next(busy, LifeEvent.ServerStopped);
            Assert.Equal(SessionStatuses.Interrupted, next);
            Assert.True(SessionLifecycle.State(next!).AtRest);
            Assert.Equal(AgentProcess.None, SessionLifecycle.State(next!).Agent);
        });
        // Queued sessions (their line is gone) and everything an agent works in are busy; preparing comes back by itself.
        Assert.Equal(
            [SessionStatuses.Queued, SessionStatuses.Starting, SessionStatuses.Running, SessionStatuses.WaitingApproval],
            SessionLifecycle.Busy);
    }

    [Fact]
    public void RandomWalks_StayInTheTable_AndStoppedAbsorbs()
    {
        Gen.Select(Gen.OneOf(Created), Gen.OneOf(Events).Array[1, 40]).Sample((start, walk) =>
        {
            var state = start;
            foreach (var @event in walk)
            {
                var was = state;
                state = SessionLifecycle.Next(state, @event) ?? state;
                if (was == SessionStatuses.Stopped)
                {
                    Assert.Equal(SessionStatuses.Stopped, state);
                }

                // A state where no agent may run is never left for one where it works, except by a start's own words.
                Assert.NotNull(SessionLifecycle.State(state));
            }
        });
    }

    [Fact]
    public void Store_WritesWhatTheTableSays_AndRefusesALateWordAfterAStop()
    {
        var id = NewSession();
        Assert.True(_sessions.Move(id, LifeEvent.Working));
        Assert.True(_sessions.Move(id, LifeEvent.Stopped, "stopped by phone"));
        var refusedBefore = _sessions.RefusedMoves;

        // The agent's exit arrives after the stop: the session stays stopped, and nothing is announced.
        var before = LastSeq(id);
        Assert.False(_sessions.Move(id, LifeEvent.AgentFailed, "agent exited with code 1"));
        Assert.Equal(SessionStatuses.Stopped, _sessions.Get(id).Status);
        Assert.Equal(before, LastSeq(id));
        Assert.Equal(refusedBefore + 1, _sessions.RefusedMoves);
    }

    [Fact]
    public void Store_InLineAgain_SaysTheNewPlace_OtherRepeatsSayNothing()
    {
        var id = NewSession();
        Assert.True(_sessions.Move(id, LifeEvent.JoinedLine, "2nd in line"));
        var before = LastSeq(id);
        Assert.False(_sessions.Move(id, LifeEvent.JoinedLine, "1st in line"));
        Assert.Equal(before + 1, LastSeq(id));
        Assert.Contains("\"1st in line\"", _events.ReadSession(id, before, 10).Last().Data);

        Assert.True(_sessions.Move(id, LifeEvent.Working));
        var working = LastSeq(id);
        Assert.False(_sessions.Move(id, LifeEvent.Working, "again"));
        Assert.Equal(working, LastSeq(id));
    }

    private string NewSession()
    {
        var ledger = new PocketCoder.Ledger.LedgerStore(_database, TimeProvider.System);
        var project = new PocketCoder.Projects.ProjectStore(_database, ledger, TimeProvider.System, new PocketCoder.Projects.ProjectHooks())
            .Add(TempPaths.NewDirectory("pc-lifecycle-project"), "lifecycle", PocketCoder.Auth.Actor.System);
        return _database.Write(write => _sessions.Create(write, project.Id, "fake", null, "default", "life")).Id;
    }

    private long LastSeq(string id) => _sessions.Get(id).LastSeq;

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
    }
}
