using CsCheck;
using PocketCoder.Approvals;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// The one table of an approval's life (<see cref="ApprovalLifecycle"/>): its laws, its words, the store that writes only what
/// it allows, and the page that documents it.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ApprovalLifecycleTests : IDisposable
{
    private static readonly ApprovalStatus[] Statuses = Enum.GetValues<ApprovalStatus>();
    private static readonly ApprovalEvent[] Events = Enum.GetValues<ApprovalEvent>();

    private readonly string _data = TempPaths.NewDirectory("pc-approval-life");
    private readonly Database _database;

    public ApprovalLifecycleTests()
    {
        _database = new Database(_data);
        _database.Migrate();
    }

    [Fact]
    public void DesignPage_HoldsTheTableGeneratedFromTheTable()
    {
        var path = Path.Combine(ClaudeCli.RepositoryRoot(), "docs", "design.md");
        var page = File.ReadAllText(path);
        const string begin = "<!-- approval-lifecycle:begin (generated from Approvals/ApprovalLifecycle.cs; a test checks it) -->\n";
        const string end = "\n<!-- approval-lifecycle:end -->";
        var from = page.IndexOf(begin, StringComparison.Ordinal);
        var to = page.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, "docs/design.md has no approval-lifecycle block.");
        if (Environment.GetEnvironmentVariable("POCKETCODER_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, page[..(from + begin.Length)] + ApprovalLifecycle.Markdown() + page[to..]);
            return;
        }

        Assert.True(page[(from + begin.Length)..to] == ApprovalLifecycle.Markdown(),
            "docs/design.md's approval table is not what the table says: run `POCKETCODER_UPDATE_DOCS=1 dotnet test tests/PocketCoder.Tests "
            + "--filter FullyQualifiedName~ApprovalLifecycleTests` and review the change.");
    }

    [Fact]
    public void EveryState_IsReachedFromAsked_AndDescribedOnce()
    {
        var reached = new HashSet<ApprovalStatus> { ApprovalLifecycle.Asked };
        foreach (var @event in Events)
        {
            if (ApprovalLifecycle.Next(ApprovalLifecycle.Asked, @event) is { } next)
            {
                reached.Add(next);
            }
        }

        Assert.Equal(Statuses, reached.Order());
        Assert.Equal(Statuses, ApprovalLifecycle.States.Select(s => s.Status).Order());
    }

    [Fact]
    public void OnlyPending_MovesAtAll_AndEveryEventSettlesIt() =>
        Gen.Select(Gen.OneOf(Statuses), Gen.OneOf(Events)).Sample((from, @event) =>
            ApprovalLifecycle.Next(from, @event) is { } to
                ? from == ApprovalStatus.Pending && to.IsSettled()
                : from.IsSettled());

    [Fact]
    public void ASettledApproval_NeverChangesAgain_WhateverHappensNext() =>
        Gen.OneOf(Events).Array[1, 20].Sample(walk =>
        {
            var status = ApprovalLifecycle.Asked;
            var moves = 0;
            foreach (var @event in walk)
            {
                if (ApprovalLifecycle.Next(status, @event) is { } next)
                {
                    status = next;
                    moves++;
                }
            }

            // The first event settles it; nothing after moves it.
            return moves == 1 && status == ApprovalLifecycle.Next(ApprovalLifecycle.Asked, walk[0]);
        });

    [Fact]
    public void Move_FromASettledState_IsRefusedWithTheApprovalAndItsState()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => ApprovalLifecycle.Move("a1", ApprovalStatus.Decided, ApprovalEvent.Withdrawn));
        Assert.Contains("'a1' is decided", refused.Message);
    }

    [Fact]
    public void TheWords_AreTheWireAndDatabaseOnes_AndRoundTrip()
    {
        Assert.Equal(["pending", "decided", "cancelled", "interrupted"], Statuses.Select(s => s.ToWire()));
        Assert.All(Statuses, s => Assert.Equal(s, ApprovalLifecycle.FromWire(s.ToWire())));
    }

    [Fact]
    public void AnUnknownWord_IsRejectedWithAClearError_NotACrash()
    {
        var words = Statuses.Select(s => s.ToWire()).ToHashSet(StringComparer.Ordinal);
        Gen.OneOf(Gen.String, Gen.OneOf("Pending", "DECIDED", "pending ", "", "canceled", "0")).Where(w => !words.Contains(w)).Sample(word =>
        {
            var refused = Assert.Throws<FormatException>(() => ApprovalLifecycle.FromWire(word));
            return ApprovalLifecycle.TryFromWire(word) is null && refused.Message.Contains("pending, decided, cancelled, interrupted", StringComparison.Ordinal);
        });
        Assert.Null(ApprovalLifecycle.TryFromWire(null));
    }

    [Fact]
    public void TheStore_WritesTheTablesState_AndALaterWriterThatReadItPending_LosesWithoutAnError()
    {
        var asked = Ask();
        var first = _database.Write(write => ApprovalStore.MarkDecided(write, asked, Decisions.AllowOnce, "Ana", DateTimeOffset.UnixEpoch, null, null));

        // A second decider that read it pending too: told it is already decided (a 409, not a 500), and nothing is written.
        var late = Assert.Throws<ApiProblem>(() =>
            _database.Write(write => ApprovalStore.MarkDecided(write, asked, Decisions.Deny, "Bo", DateTimeOffset.UnixEpoch, null, null)));
        Assert.Equal((409, ErrorCodes.ApprovalAlreadyDecided), (late.Status, late.Code));
        Assert.Contains("already decided", late.Message);
        // A withdrawal or a restart that read it pending: nothing to do, the decision stands.
        Assert.Null(_database.Write(write => ApprovalStore.MarkSettled(write, asked, ApprovalEvent.Withdrawn, DateTimeOffset.UnixEpoch, "gone")));
        Assert.Null(_database.Write(write => ApprovalStore.MarkSettled(write, asked, ApprovalEvent.ServerStopped, DateTimeOffset.UnixEpoch, "stopped")));
        // A writer that moves what the table does not (a settled approval it read as settled) is a bug, and says so.
        Assert.Throws<InvalidOperationException>(() =>
            _database.Write(write => ApprovalStore.MarkSettled(write, first, ApprovalEvent.Withdrawn, DateTimeOffset.UnixEpoch, "gone")));

        var stored = new ApprovalStore(_database, TimeProvider.System).Find(asked.Id)!;
        Assert.Equal((ApprovalStatus.Decided, Decisions.AllowOnce, "Ana", (string?)null), (stored.Status, stored.Decision, stored.DecidedBy, stored.Message));
    }

    [Fact]
    public void TheStore_SettlesWithoutADecision_AsTheTableSays()
    {
        var asked = Ask();
        var settled = _database.Write(write => ApprovalStore.MarkSettled(write, asked, ApprovalEvent.ServerStopped, DateTimeOffset.UnixEpoch, "stopped"));

        Assert.Equal(ApprovalStatus.Interrupted, settled!.Status);
        Assert.Equal(ApprovalStatus.Interrupted, new ApprovalStore(_database, TimeProvider.System).Find(asked.Id)!.Status);
    }

    [Fact]
    public void TheStore_RefusesToAskAnApprovalThatIsNotPending()
    {
        var decided = Ask() with { Id = "other", Status = ApprovalStatus.Decided };
        Assert.Throws<ArgumentException>(() => _database.Write(write => ApprovalStore.Insert(write, decided)));
    }

    private Approval Ask()
    {
        var ledger = new PocketCoder.Ledger.LedgerStore(_database, TimeProvider.System);
        var project = new PocketCoder.Projects.ProjectStore(_database, ledger, TimeProvider.System, new PocketCoder.Projects.ProjectHooks())
            .Add(TempPaths.NewDirectory("pc-approval-life-project"), "approvals", PocketCoder.Auth.Actor.System);
        var sessions = new SessionStore(_database, new EventLog(_database, new EventHub(), TimeProvider.System), TimeProvider.System);
        var session = _database.Write(write => sessions.Create(write, project.Id, "fake", null, "default", "life")).Id;
        var approval = new Approval(Guid.NewGuid().ToString("N"), session, project.Id, "call-1", "Bash", ApprovalKind.Of(PocketCoder.Agents.ToolKind.Execute), "ls", "{}", null, "ls",
            ApprovalLifecycle.Asked, DateTimeOffset.UnixEpoch, null, null, null, null, null, false, RiskClasses.Shell);
        _database.Write(write => ApprovalStore.Insert(write, approval));
        return approval;
    }

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
    }
}
