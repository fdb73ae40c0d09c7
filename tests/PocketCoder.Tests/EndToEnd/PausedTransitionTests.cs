using System.Net;
using System.Net.Http.Json;
using PocketCoder.Sessions.Running;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// The moment a paused agent's runner has neither a process running nor one counted as paused: its process has exited and
/// is being let go of. With a fake agent stopped on its call and told the decision after a resume, as Codex is: a message
/// sent then queues behind the decision and never starts a second process on the conversation (which the owner's allow would
/// then have started once more, the call run by one nobody could stop).
/// </summary>
public sealed class PausedTransitionTests
{
    private static readonly TimeSpan PauseAfter = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task AMessageSentWhileThePausedAgentIsLetGoOf_Queues_AndTheDecisionStartsTheOnlyOtherProcess()
    {
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent
        {
            ResumesOnDecision = true,
            DisposeHold = letGo.Task,
            Script = async (session, message) =>
            {
                if (message.Text == "clean up")
                {
                    // Waits for the owner; the process is stopped meanwhile, and what it is answered then nobody reads.
                    await session.AskToRunAsync("rm -rf build");
                    return;
                }

                await FakeAgent.Echo(session, message);
            },
        };
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(fake, clock, PauseAfter);
        try
        {
            await MessageWhileLetGoOfAsync(world, fake, clock, letGo);
        }
        finally
        {
            // Whatever failed, the world's stop lets go of every process.
            letGo.TrySetResult();
        }
    }

    private static async Task MessageWhileLetGoOfAsync(AgentWorld world, FakeAgent fake, ManualClock clock, TaskCompletionSource letGo)
    {
        var sessionId = await world.StartSessionAsync("clean up");
        await using var events = await world.EventsAsync(sessionId);
        var approvalId = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;

        await clock.TimersArmedAsync();
        clock.Advance(PauseAfter);
        await fake.Started[0].Exited.WaitAsync(TimeSpan.FromSeconds(30));
        await fake.Started[0].Disposing.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var sent = await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text = "and then this" }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        Assert.Equal(1, fake.Starts);

        letGo.SetResult();
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PausedCalls.PausedReason);
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(approvalId, "allow_once")).StatusCode);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PausedCalls.ResumedReason);
        await fake.Started[^1].SentAsync(1);
        Assert.Equal(2, fake.Starts);
        Assert.Contains("rm -rf build", fake.Started[1].Sent[0], StringComparison.Ordinal);
    }
}
