using System.Collections.Concurrent;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>The one permission broker every adapter uses: asking, withdrawal, and the decision an adapter may act on.</summary>
[Trait("Category", "Unit")]
public sealed class PermissionBrokerTests
{
    private static readonly PermissionRequest Command = new("call-1", "Bash", ToolKind.Execute, "rm -rf build",
        JsonElement.Parse("""{"command":"rm -rf build"}"""), "rm -rf build", null, null);

    [Fact]
    public async Task Allow_ReachesTheAdapter_WithoutTheSessionGrant()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "Codex", CancellationToken.None);
        var answered = new TaskCompletionSource<PermissionDecision>();

        broker.Ask("1", Command, decision => Complete(answered, decision));
        await sink.DecideAsync(new PermissionDecision(true, Remember: true));

        var decision = await answered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(decision.Allow);
        Assert.False(decision.Remember);
    }

    [Fact]
    public async Task EditedInput_TheAgentCannotApply_BecomesARefusal_NeverTheOriginal()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "OpenCode", CancellationToken.None);
        var answered = new TaskCompletionSource<PermissionDecision>();

        broker.Ask("1", Command, decision => Complete(answered, decision));
        await sink.DecideAsync(new PermissionDecision(true, UpdatedInput: JsonElement.Parse("""{"command":"rm -rf build/tmp"}""")));

        var decision = await answered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(decision.Allow);
        Assert.Contains("OpenCode cannot apply", decision.Message, StringComparison.Ordinal);
        Assert.Contains("rm -rf build/tmp", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EditedInput_TheAgentApplies_IsPassedOn()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: true, "Claude Code", CancellationToken.None);
        var answered = new TaskCompletionSource<PermissionDecision>();

        broker.Ask("1", Command, decision => Complete(answered, decision));
        await sink.DecideAsync(new PermissionDecision(true, UpdatedInput: JsonElement.Parse("""{"command":"rm -rf build/tmp"}""")));

        var decision = await answered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(decision.Allow);
        Assert.Equal("rm -rf build/tmp", decision.UpdatedInput!.Value.GetProperty("command").GetString());
    }

    [Fact]
    public async Task UnchangedInput_SentBackWithAnAllow_IsNotAnEdit()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "Codex", CancellationToken.None);
        var answered = new TaskCompletionSource<PermissionDecision>();

        broker.Ask("1", Command, decision => Complete(answered, decision));
        await sink.DecideAsync(new PermissionDecision(true, UpdatedInput: Command.Input));

        var decision = await answered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(decision.Allow);
        Assert.Null(decision.UpdatedInput);
    }

    [Fact]
    public async Task Withdrawn_TheGatekeeperStopsWaiting_AndTheAdapterIsToldInsteadOfAnswering()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "Gemini CLI", CancellationToken.None);
        var answers = 0;
        var withdrawn = new TaskCompletionSource();

        broker.Ask("7", Command, _ =>
        {
            Interlocked.Increment(ref answers);
            return Task.CompletedTask;
        }, () => Complete(withdrawn));
        var waiting = await sink.NextAsync();
        await broker.WithdrawAsync("7");

        await withdrawn.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(waiting.Token.IsCancellationRequested);
        Assert.Equal(0, answers);
        Assert.Equal(0, broker.OpenCount);
    }

    [Fact]
    public async Task WithdrawAll_CancelsEveryOpenRequest()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "Codex", CancellationToken.None);

        broker.Ask("a", Command, _ => Task.CompletedTask);
        broker.Ask("b", Command with { ToolCallId = "call-2" }, _ => Task.CompletedTask);
        var first = await sink.NextAsync();
        var second = await sink.NextAsync();
        Assert.Equal(2, broker.OpenCount);

        await broker.WithdrawAllAsync();

        Assert.True(first.Token.IsCancellationRequested);
        Assert.True(second.Token.IsCancellationRequested);
    }

    [Fact]
    public async Task SameIdAskedTwice_TheFirstQuestionStands()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "Codex", CancellationToken.None);

        broker.Ask("a", Command, _ => Task.CompletedTask);
        broker.Ask("a", Command with { Title = "something else" }, _ => Task.CompletedTask);

        Assert.Equal("rm -rf build", (await sink.NextAsync()).Request.Title);
        Assert.Equal(1, broker.OpenCount);
    }

    [Fact]
    public async Task AnswerThatCannotBeDelivered_IsShownToTheOwner()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "OpenCode", CancellationToken.None);

        broker.Ask("1", Command, _ => throw new HttpRequestException("connection refused"));
        await sink.DecideAsync(new PermissionDecision(true));

        var error = Assert.IsType<AgentError>(await sink.Events.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("could not be delivered to OpenCode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnswerToAnAgentThatExited_IsNotAnError()
    {
        var sink = new ScriptedSink();
        var broker = new PermissionBroker(sink, appliesEditedInput: false, "Codex", CancellationToken.None);
        var tried = new TaskCompletionSource();

        broker.Ask("1", Command, _ =>
        {
            tried.TrySetResult();
            throw new InvalidOperationException("The agent process has exited.");
        });
        await sink.DecideAsync(new PermissionDecision(true));
        await tried.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await WaitUntilClosedAsync(broker);

        Assert.False(sink.Events.Reader.TryRead(out _));
    }

    private static async Task WaitUntilClosedAsync(PermissionBroker broker)
    {
        // The request leaves the broker right after its answer ran; a bounded spin on that state change, not a sleep.
        var deadline = Environment.TickCount64 + 10_000;
        while (broker.OpenCount > 0 && Environment.TickCount64 < deadline)
        {
            await Task.Yield();
        }

        Assert.Equal(0, broker.OpenCount);
    }

    private static Task Complete(TaskCompletionSource<PermissionDecision> source, PermissionDecision decision)
    {
        source.TrySetResult(decision);
        return Task.CompletedTask;
    }

    private static Task Complete(TaskCompletionSource source)
    {
        source.TrySetResult();
        return Task.CompletedTask;
    }

    /// <summary>Stands in for the gatekeeper: each question waits until the test decides it.</summary>
    private sealed class ScriptedSink : IAgentSink
    {
        private readonly System.Threading.Channels.Channel<Asked> _asked = System.Threading.Channels.Channel.CreateUnbounded<Asked>();

        public System.Threading.Channels.Channel<AgentEvent> Events { get; } = System.Threading.Channels.Channel.CreateUnbounded<AgentEvent>();

        public ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken) => Events.Writer.WriteAsync(agentEvent, cancellationToken);

        public async Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken)
        {
            var asked = new Asked(request, cancellationToken, new TaskCompletionSource<PermissionDecision>(TaskCreationOptions.RunContinuationsAsynchronously));
            await _asked.Writer.WriteAsync(asked, CancellationToken.None);
            return await asked.Decision.Task.WaitAsync(cancellationToken);
        }

        public async Task<Asked> NextAsync() => await _asked.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        public async Task DecideAsync(PermissionDecision decision) => (await NextAsync()).Decision.TrySetResult(decision);
    }

    private sealed record Asked(PermissionRequest Request, CancellationToken Token, TaskCompletionSource<PermissionDecision> Decision);
}
