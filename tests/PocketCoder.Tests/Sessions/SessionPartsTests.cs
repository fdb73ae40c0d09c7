using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Sessions.Running;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Sessions;

/// <summary>The small parts a live session is made of, each on its own: its status, stall watch, cost meter, event mapping and turn snapshots.</summary>
[Trait("Category", "Unit")]
public sealed class SessionPartsTests
{
    private readonly List<(string Status, string? Reason)> _written = [];

    private TurnState NewTurnState() => new((@event, reason) => _written.Add((SessionLifecycle.To(@event), reason)));

    [Fact]
    public void TurnState_WaitingForYouBeatsRunningBeatsIdle()
    {
        var turn = NewTurnState();
        turn.Write(null);
        turn.Begin();
        turn.Asking();
        turn.Answered();
        turn.End();

        Assert.Equal([SessionStatuses.Idle, SessionStatuses.Running, SessionStatuses.WaitingApproval, SessionStatuses.Running, SessionStatuses.Idle],
            _written.Select(w => w.Status));
    }

    [Fact]
    public void TurnState_CancelledTurn_EndsCancelled_UnlessAMessageWasSentDuringTheCancel()
    {
        var turn = NewTurnState();
        turn.Begin();
        Assert.True(turn.RequestCancel());
        Assert.True(turn.End());

        turn.Begin();
        turn.RequestCancel();
        Assert.Equal((true, true), turn.Admit());
        Assert.False(turn.End());

        Assert.False(turn.RequestCancel());
    }

    [Fact]
    public void TurnState_ClaimAndClose_OnlyWhenQuiet()
    {
        var turn = NewTurnState();
        Assert.True(turn.TryClaim());
        Assert.False(turn.TryClaim());
        Assert.False(turn.TryClose(() => true));

        turn.SetActive(false);
        Assert.False(turn.TryClose(() => false));
        Assert.True(turn.TryClose(() => true));
        Assert.False(turn.TryClaim());
        Assert.Throws<InvalidOperationException>(() => turn.Admit());
    }

    [Fact]
    public void TurnState_Stopped_WritesNothingMore_ClaimsNothing()
    {
        var turn = NewTurnState();
        Assert.False(turn.Stop());
        Assert.True(turn.Stop());
        turn.Begin();

        Assert.Empty(_written);
        Assert.False(turn.Working);
        turn.SetActive(false, write: false);
        Assert.False(turn.TryClaim());
    }

    [Fact]
    public async Task StallWatch_SilentTurn_ToldOnce_WordFromTheAgentArmsItAgain()
    {
        var clock = new ManualClock();
        var working = true;
        var told = new List<TimeSpan>();
        using var watch = new StallWatch(clock, TimeSpan.FromMinutes(3), () => working, told.Add);
        watch.Start();
        await clock.TimersArmedAsync();

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Empty(told);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal([TimeSpan.FromMinutes(3)], told);
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Single(told);

        watch.Heard();
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(2, told.Count);

        // Waiting for the owner, or between turns, is nobody's stall.
        watch.Heard();
        working = false;
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(2, told.Count);
    }

    [Fact]
    public async Task StallWatch_Disposed_StopsWatching()
    {
        var clock = new ManualClock();
        var told = 0;
        var watch = new StallWatch(clock, TimeSpan.FromMinutes(1), () => true, _ => told++);
        watch.Start();
        await clock.TimersArmedAsync();
        watch.Dispose();

        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, told);
        Assert.Equal(0, clock.PendingTimers);
    }

    [Fact]
    public void CostMeter_RunningTotals_BecomeTurnCosts_NewProcessStartsAtZero_SessionTotalFromTheLog()
    {
        var reads = 0;
        var meter = new CostMeter(() =>
        {
            reads++;
            return 1.00m;
        });
        static UsageReport Running(decimal total) => new(10, 5, 0, 0, total, CostIsRunningTotal: true);

        Assert.Equal((0.25m, 1.25m), Costs(meter.Costed(Running(0.25m))));
        Assert.Equal((0.50m, 1.75m), Costs(meter.Costed(Running(0.75m))));
        // A resumed agent is a new process: its running total starts again at zero.
        meter.NewProcess();
        Assert.Equal((0.10m, 1.85m), Costs(meter.Costed(Running(0.10m))));
        Assert.Equal((0.05m, 1.90m), Costs(meter.Costed(new UsageReport(1, 1, 0, 0, 0.05m))));
        Assert.Equal((null, 1.90m), Costs(meter.Costed(new UsageReport(1, 1, 0, 0, null))));
        Assert.Equal(1, reads);

        static (decimal?, decimal?) Costs(UsageEvent usage) => (usage.CostUsd, usage.SessionCostUsd);
    }

    [Fact]
    public void Mapper_ShowsWhatTheTranscriptShows_LeavesTheRunnersEventsToIt()
    {
        var target = new Recorded();
        var input = JsonSerializer.SerializeToElement(new { command = "ls" });
        AgentEvent[] shown =
        [
            new MessageDelta("he"), new AssistantMessage("hello"), new Thinking("hm"),
            new ToolCall("c1", "Bash", ToolKind.Execute, "ls", input), new ToolResult("c1", new string('x', AgentEventMapper.ToolResultLimit + 5), false),
            new PlanUpdate([]), new AgentError("boom"),
        ];
        AgentEvent[] notShown = [new UsageReport(1, 1, 0, 0, null), new TurnCompleted("end_turn", false, null), new AgentReady("x", null, null)];

        Assert.All(shown, e => Assert.True(AgentEventMapper.Map(e, target)));
        Assert.All(notShown, e => Assert.False(AgentEventMapper.Map(e, target)));
        Assert.Equal(["message.delta", "message", "thinking", "tool.call", "tool.result", "plan", "session.error"], target.Kinds);
        var result = Assert.IsType<ToolResultEvent>(target.Events[4]);
        Assert.True(result.Truncated);
        Assert.Equal(AgentEventMapper.ToolResultLimit, result.Content.Length);
        Assert.Equal([true, true, false, true], new AgentEvent[] { shown[0], shown[1], shown[2], shown[3] }.Select(AgentEventMapper.IsOutput));
    }

    [Fact]
    public void Mapper_ASubagentsCallsAndWordsKeepTheirParent_AndItsTaskIsAStatus()
    {
        var target = new Recorded();
        var input = JsonElement.Parse("""{"command":"ls"}""");

        Assert.True(AgentEventMapper.Map(new ToolCall("c2", "Bash", ToolKind.Execute, "ls", input, "c1"), target));
        Assert.True(AgentEventMapper.Map(new AssistantMessage("Listing.", "c1"), target));
        Assert.True(AgentEventMapper.Map(new Thinking("Hm.", "c1"), target));
        Assert.True(AgentEventMapper.Map(new AgentTaskUpdate("c1", "t1", "local_agent", AgentTaskStatuses.Running, "List", null), target));

        Assert.Equal(["tool.call", "message", "thinking", "task.status"], target.Kinds);
        Assert.Equal("c1", Assert.IsType<ToolCallEvent>(target.Events[0]).ParentToolCallId);
        Assert.Equal("c1", Assert.IsType<MessageEvent>(target.Events[1]).ParentToolCallId);
        Assert.Equal("c1", Assert.IsType<ThinkingEvent>(target.Events[2]).ParentToolCallId);
        Assert.Equal(new TaskStatusEvent("c1", "t1", "local_agent", "running", "List", null), target.Events[3]);
        // On the wire: the parent is named, and a main-thread call says nothing of one.
        Assert.Contains("\"parentToolCallId\":\"c1\"", JsonSerializer.Serialize((ToolCallEvent)target.Events[0], SessionEventJson.Default.ToolCallEvent), StringComparison.Ordinal);
        Assert.DoesNotContain("parentToolCallId", JsonSerializer.Serialize(new ToolCallEvent("c1", "Agent", "other", "Subagent", input), SessionEventJson.Default.ToolCallEvent),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task TurnSnapshots_TheNextTurnsOpening_WaitsForTheLastTurnsClosing()
    {
        var closing = new TaskCompletionSource<int?>();
        var opened = 0;
        var changed = new List<(int, int)>();
        var snapshots = new TurnSnapshots(() => Task.FromResult<int?>(++opened), (_, _) => closing.Task, (turn, files) => changed.Add((turn, files)),
            e => throw e);

        snapshots.BeginTurn();
        await snapshots.Opening;
        await snapshots.EndTurnAsync();
        snapshots.BeginTurn();
        Assert.False(snapshots.Opening.IsCompleted);
        Assert.Equal(1, opened);

        closing.SetResult(3);
        await snapshots.Opening.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, opened);
        Assert.Equal([(1, 3)], changed);
    }

    [Fact]
    public async Task TurnSnapshots_Settled_WaitsForTheClosingOfATurnAlreadyOver()
    {
        // A rewind sent as the session goes idle read the latest turn before its closing snapshot was written, and refused it
        // as "cut off by a restart".
        var closing = new TaskCompletionSource<int?>();
        var snapshots = new TurnSnapshots(() => Task.FromResult<int?>(1), (_, _) => closing.Task, (_, _) => { }, e => throw e);
        await snapshots.SettledAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        snapshots.BeginTurn();
        await snapshots.Opening;
        await snapshots.EndTurnAsync();
        var settled = snapshots.SettledAsync(CancellationToken.None);
        Assert.False(settled.IsCompleted);

        closing.SetResult(2);
        await settled.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task TurnSnapshots_AReviewThatCannotOpen_CostsTheTurnItsReview_NeverTheGate()
    {
        Exception? failed = null;
        var snapshots = new TurnSnapshots(() => throw new IOException("git is gone"), (_, _) => throw new InvalidOperationException("nothing to close"),
            (_, _) => { }, e => failed = e);

        snapshots.BeginTurn();
        await snapshots.Opening.WaitAsync(TimeSpan.FromSeconds(10));
        await snapshots.EndTurnAsync();

        Assert.IsType<IOException>(failed);
    }

    private sealed class Recorded : ISessionEventTarget
    {
        public List<object> Events { get; } = [];

        public List<string> Kinds { get; } = [];

        public void Append<T>(T data) where T : ISessionEvent
        {
            Events.Add(data!);
            Kinds.Add(T.Kind);
        }
    }
}
