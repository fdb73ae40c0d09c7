using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Sessions.Running;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Sessions;

/// <summary>
/// A session's messages on their way to a fake agent, over a real message queue in a temporary database: one at a time and in
/// order, queued while the agent is busy (a turn, a question, a paused call), held after a cancel, and never lost when the
/// agent does not take one.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SessionInboxTests : IDisposable
{
    private readonly Actor Owner;
    private readonly string _data = TempPaths.NewDirectory("pc-inbox");
    private readonly string _folder = TempPaths.NewDirectory("pc-inbox-project");
    private readonly Database _database;
    private readonly MessageQueue _queue;
    private readonly EventLog _events;
    private readonly string _sessionId;
    private readonly TurnState _turn;
    private readonly FakeAgentSession _agent = new();
    private readonly SessionInbox _inbox;
    private readonly List<string> _statuses = [];

    public SessionInboxTests()
    {
        _database = new Database(_data);
        _database.Migrate();
        var clock = TimeProvider.System;
        _events = new EventLog(_database, new EventHub(), clock);
        var ledger = new PocketCoder.Ledger.LedgerStore(_database, clock);
        // A real owner's device: a queued message starts on its sender's word, which the one authority checks.
        Owner = new Actor(new PocketCoder.Auth.Devices(_database, ledger, clock).CreateLocalDevice("phone").Device.Id, "phone");
        var project = new PocketCoder.Projects.ProjectStore(_database, ledger, clock, new PocketCoder.Projects.ProjectHooks()).Add(_folder, "inbox", Owner);
        var sessions = new SessionStore(_database, _events, clock);
        _sessionId = _database.Write(write => sessions.Create(write, project.Id, "fake", null, "default", "inbox")).Id;
        _queue = new MessageQueue(_database, _events, ledger, new PocketCoder.Teams.Authority(_database, new PocketCoder.Teams.TeamPolicies(_database, ledger)), clock);
        _turn = new TurnState((@event, _) => _statuses.Add(SessionLifecycle.To(@event)));
        var snapshots = new TurnSnapshots(() => Task.FromResult<int?>(null), (_, _) => Task.FromResult<int?>(null), (_, _) => { }, _ => { });
        _inbox = new SessionInbox(_sessionId, "fake", _turn, snapshots, _queue, new Host(_events, _sessionId, _agent),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    }

    private Task<QueuedMessage?> Send(string text) => _inbox.SendAsync(OwnerMessage.FromText(text), Owner, CancellationToken.None);

    [Fact]
    public async Task BetweenTurns_MessageStartsATurnAtOnce()
    {
        Assert.Null(await Send("first"));
        Assert.Equal(["first"], _agent.Sent);
        Assert.Equal(SessionStatuses.Running, _statuses[^1]);
    }

    [Fact]
    public async Task WhileATurnRuns_MessagesQueue_AndStartInOrderAsEachTurnEnds()
    {
        await Send("first");
        Assert.NotNull(await Send("second"));
        Assert.NotNull(await Send("third"));
        Assert.Equal(["first"], _agent.Sent);

        _inbox.TurnEnded(cancelled: _turn.End());
        await _agent.SentAsync(2);
        _inbox.TurnEnded(cancelled: _turn.End());
        await _agent.SentAsync(3);

        Assert.Equal(["first", "second", "third"], _agent.Sent);
        Assert.True(_queue.IsEmpty(_sessionId));
    }

    [Fact]
    public async Task WhileAQuestionIsOpen_OrTheAgentIsPausedOnOne_TheMessageWaits()
    {
        // A paused agent's session counts as asking until the owner decides (its question stays open).
        _turn.Asking();
        Assert.NotNull(await Send("while paused"));
        Assert.Empty(_agent.Sent);

        _turn.Answered();
        _inbox.TurnEnded(cancelled: _turn.End());
        await _agent.SentAsync(1);
        Assert.Equal(["while paused"], _agent.Sent);
    }

    [Fact]
    public async Task CancelledTurn_QueueHeld_UntilTheOwnerRunsIt()
    {
        await Send("first");
        await Send("queued");
        _turn.RequestCancel();
        _inbox.TurnEnded(cancelled: _turn.End());

        Assert.True(_inbox.Held);
        Assert.Equal(["first"], _agent.Sent);
        Assert.True(await _inbox.RunQueueAsync(CancellationToken.None));
        Assert.Equal(["first", "queued"], _agent.Sent);
    }

    [Fact]
    public async Task MessageSentDuringTheCancel_GoesFirst_AndTheQueueIsNotHeld()
    {
        await Send("first");
        await Send("queued earlier");
        _turn.RequestCancel();
        await Send("instead");

        _inbox.TurnEnded(cancelled: _turn.End());
        await _agent.SentAsync(2);

        Assert.False(_inbox.Held);
        Assert.Equal(["first", "instead"], _agent.Sent);
    }

    [Fact]
    public async Task QueuedMessageTheAgentDidNotTake_WaitsFirstInLine_QueueHeld_NeverLost()
    {
        await Send("first");
        await Send("second");
        _agent.Refuse = new IOException("broken pipe");

        _inbox.TurnEnded(cancelled: _turn.End());
        // The owner hears of it last, once the message is back in line.
        await WaitForAsync(() => _events.Has(_sessionId, "session.error"));

        Assert.True(_inbox.Held);
        Assert.Equal(["second"], _queue.List(_sessionId).Select(m => m.Text));
        Assert.True(await _inbox.RunQueueAsync(CancellationToken.None));
        Assert.Equal(["first", "second"], _agent.Sent);
    }

    [Fact]
    public async Task AgentBroughtBackWithMessagesWaiting_HoldsThem()
    {
        _turn.Begin();
        await Send("left behind");
        _turn.SetActive(false);

        _inbox.HoldWhatWaits();
        Assert.True(_inbox.Held);
        Assert.True(_inbox.NothingAboutToStart);
    }

    [Fact]
    public async Task HandedBack_NoMessageStartsATurn()
    {
        Assert.True(await _inbox.CloseBetweenTurnsAsync(CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Send("too late"));
        Assert.Empty(_agent.Sent);
    }

    [Fact]
    public async Task AgentExited_QueueWaitsForTheNextAgent()
    {
        await Send("first");
        await Send("second");
        _agent.Exit();
        _inbox.TurnEnded(cancelled: _turn.End());

        Assert.False(await _inbox.RunQueueAsync(CancellationToken.None));
        Assert.Equal(["second"], _queue.List(_sessionId).Select(m => m.Text));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public void Dispose()
    {
        _database.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        TempPaths.Delete(_data);
        TempPaths.Delete(_folder);
    }

    private sealed class Host(EventLog events, string sessionId, IAgentSession agent) : IInboxHost
    {
        public IAgentSession? Agent => agent;

        public bool BudgetSpent => false;

        public void Append<T>(T data) where T : ISessionEvent => events.Append(sessionId, data);

        public void Sent()
        {
        }

        public void HoldOnBudget(string text)
        {
        }
    }
}
