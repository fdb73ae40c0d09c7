using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using PocketCoder.Bridges;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// The outbox's order and resilience with a scripted platform and a hand-moved clock: a chat the platform slows down
/// holds back only itself, approvals go before what waited longer, and no failure stops it.
/// </summary>
public sealed class ChatOutboxTests
{
    /// <summary>Records each call as "chat:text"; a call's fate is decided by <see cref="Answer"/>.</summary>
    private sealed class ScriptedPlatform : IChatPlatform
    {
        private readonly Channel<string> _calls = Channel.CreateUnbounded<string>();
        private long _nextId;

        /// <summary>Runs inside each send or edit: may throw, or wait, to play the platform.</summary>
        public Func<string, Task> Answer { get; set; } = _ => Task.CompletedTask;

        public async Task<string> NextCallAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await _calls.Reader.ReadAsync(timeout.Token);
        }

        /// <summary>Nothing more was called: the outbox is idle, waiting for the clock or for work.</summary>
        public bool NoMoreCalls => !_calls.Reader.TryPeek(out _);

        public int MaxTextLength => 4096;

        /// <summary>The platform's least time between two calls in a chat; group chats (ids starting '-') wait three times as long.</summary>
        public TimeSpan Interval { get; set; } = TimeSpan.Zero;

        public TimeSpan IntervalIn(string chatId) => chatId.StartsWith('-') ? Interval * 3 : Interval;

        public bool SeesEveryGroupMessage => true;

        public Task<string> ConnectAsync(CancellationToken cancellationToken) => Task.FromResult("bot");

        public Task<(IReadOnlyList<ChatInput> Inputs, string? Cursor)> ReceiveAsync(string? cursor, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public async Task<string> SendAsync(string chatId, ChatMessage message, CancellationToken cancellationToken)
        {
            var call = $"{chatId}:{message.Text}";
            _calls.Writer.TryWrite(call);
            await Answer(call);
            return Interlocked.Increment(ref _nextId).ToString();
        }

        public async Task EditAsync(string chatId, string messageId, ChatMessage message, CancellationToken cancellationToken)
        {
            var call = $"{chatId}:edit:{message.Text}";
            _calls.Writer.TryWrite(call);
            await Answer(call);
        }

        public Task SendFileAsync(string chatId, string fileName, string content, string caption, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task AnswerPressAsync(string pressId, string notice, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static (ChatOutbox Outbox, ScriptedPlatform Platform, ManualClock Clock, CancellationTokenSource Stop, Task Running) Start(
        TimeSpan? platformInterval = null, TimeSpan? interval = null)
    {
        var platform = new ScriptedPlatform { Interval = platformInterval ?? TimeSpan.Zero };
        var clock = new ManualClock();
        var outbox = new ChatOutbox(platform, clock, NullLogger.Instance, interval);
        var stop = new CancellationTokenSource();
        var running = Task.Run(() => outbox.RunAsync(stop.Token));
        return (outbox, platform, clock, stop, running);
    }

    private static async Task StopAsync(CancellationTokenSource stop, Task running)
    {
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        stop.Dispose();
    }

    [Fact]
    public async Task EachChat_WaitsThePlatformsIntervalBetweenCalls_OtherChatsGoOnMeanwhile()
    {
        var (outbox, platform, clock, stop, running) = Start(platformInterval: TimeSpan.FromSeconds(1));
        outbox.Say("-1", "g1");
        outbox.Say("-1", "g2");
        outbox.Say("A", "a1");
        outbox.Say("A", "a2");
        Assert.Equal("-1:g1", await platform.NextCallAsync());
        Assert.Equal("A:a1", await platform.NextCallAsync());

        // One second on: the direct chat's interval is over, the group's (three seconds) is not.
        await clock.TimersArmedAsync();
        Assert.True(platform.NoMoreCalls);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("A:a2", await platform.NextCallAsync());
        await clock.TimersArmedAsync();
        Assert.True(platform.NoMoreCalls);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("-1:g2", await platform.NextCallAsync());
        await StopAsync(stop, running);
    }

    [Fact]
    public async Task IntervalGiven_TakesThePlatformsPlace()
    {
        var (outbox, platform, clock, stop, running) = Start(platformInterval: TimeSpan.FromSeconds(1), interval: TimeSpan.FromMilliseconds(100));
        outbox.Say("-1", "g1");
        outbox.Say("-1", "g2");
        Assert.Equal("-1:g1", await platform.NextCallAsync());
        await clock.TimersArmedAsync();
        Assert.True(platform.NoMoreCalls);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal("-1:g2", await platform.NextCallAsync());
        await StopAsync(stop, running);
    }

    [Fact]
    public async Task ChatTheyRateLimit_WaitsAsLongAsTold_OtherChatsGoOnMeanwhile()
    {
        var (outbox, platform, clock, stop, running) = Start();
        var limited = true;
        platform.Answer = call => call == "A:a1" && limited ? throw new ChatRateLimitedException(TimeSpan.FromSeconds(30)) : Task.CompletedTask;

        outbox.Say("A", "a1");
        Assert.Equal("A:a1", await platform.NextCallAsync());
        outbox.Say("A", "a2");
        outbox.Say("B", "b1");
        outbox.Say("B", "b2");
        Assert.Equal("B:b1", await platform.NextCallAsync());
        Assert.Equal("B:b2", await platform.NextCallAsync());

        // The clock has not moved: chat A is still waiting out its 429, in order, its first message first.
        await clock.TimersArmedAsync();
        Assert.True(platform.NoMoreCalls);
        limited = false;
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("A:a1", await platform.NextCallAsync());
        Assert.Equal("A:a2", await platform.NextCallAsync());
        await StopAsync(stop, running);
    }

    [Fact]
    public async Task Approval_GoesBeforeWhatWaitedLonger_ItsLaterChangesFoldIntoOneEdit()
    {
        var (outbox, platform, _, stop, running) = Start();
        var held = new TaskCompletionSource();
        platform.Answer = call => call == "A:first" ? held.Task : Task.CompletedTask;

        outbox.Say("A", "first");
        Assert.Equal("A:first", await platform.NextCallAsync());
        // While the platform holds the first call: two replies, then an approval, then two changes to the approval.
        outbox.Say("A", "reply 1");
        outbox.Say("B", "reply 2");
        var state = "approval: waiting";
        var approval = new ChatPost("A", () => new ChatMessage(state)) { Urgent = true };
        outbox.Show(approval);
        held.SetResult();
        Assert.Equal("A:approval: waiting", await platform.NextCallAsync());
        Assert.Equal("A:reply 1", await platform.NextCallAsync());
        Assert.Equal("B:reply 2", await platform.NextCallAsync());

        held = new TaskCompletionSource();
        platform.Answer = call => call.StartsWith("A:edit", StringComparison.Ordinal) && !held.Task.IsCompleted ? held.Task : Task.CompletedTask;
        state = "approval: allowed";
        outbox.Show(approval);
        Assert.Equal("A:edit:approval: allowed", await platform.NextCallAsync());
        state = "approval: allowed by alice";
        outbox.Show(approval);
        outbox.Show(approval);
        held.SetResult();
        Assert.Equal("A:edit:approval: allowed by alice", await platform.NextCallAsync());
        outbox.Say("A", "after");
        Assert.Equal("A:after", await platform.NextCallAsync());
        await StopAsync(stop, running);
    }

    [Fact]
    public async Task CallsThatFailOddlyOrForGood_AreDropped_TheOutboxGoesOn_APostCanBeShownAgain()
    {
        var (outbox, platform, clock, stop, running) = Start();
        platform.Answer = call => call switch
        {
            "A:odd" => throw new FormatException("an answer in a shape no retry mends"),
            "A:refused" => throw new ChatRefusedException("bot was kicked"),
            "A:post v1" => throw new InvalidOperationException("no message id"),
            _ => Task.CompletedTask,
        };

        outbox.Say("A", "odd");
        outbox.Say("A", "refused");
        var version = "post v1";
        var post = new ChatPost("A", () => new ChatMessage(version));
        outbox.Show(post);
        outbox.Say("A", "fine");
        Assert.Equal("A:odd", await platform.NextCallAsync());
        Assert.Equal("A:refused", await platform.NextCallAsync());
        Assert.Equal("A:post v1", await platform.NextCallAsync());
        Assert.Equal("A:fine", await platform.NextCallAsync());

        // The post whose send failed is not stuck as "already waiting": shown again, it goes.
        version = "post v2";
        outbox.Show(post);
        Assert.Equal("A:post v2", await platform.NextCallAsync());

        // A network failure is tried again after a backoff on the clock, not at once.
        var failures = 0;
        platform.Answer = call => call == "A:flaky" && failures++ < 2 ? throw new HttpRequestException("connection reset") : Task.CompletedTask;
        outbox.Say("A", "flaky");
        Assert.Equal("A:flaky", await platform.NextCallAsync());
        await clock.TimersArmedAsync();
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("A:flaky", await platform.NextCallAsync());
        await clock.TimersArmedAsync();
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal("A:flaky", await platform.NextCallAsync());
        await StopAsync(stop, running);
    }
}
