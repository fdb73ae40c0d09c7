using System.Net.Http.Json;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Teams;

/// <summary>
/// Who is pushed what in a team: a question goes to the people who may decide it (never a viewer), to the owners once it
/// is escalated, and a budget's 80 % warning to the people who may raise it.
/// </summary>
public sealed class TeamNotificationTests
{
    [Fact]
    public async Task AQuestion_GoesToItsDeciders_TheOwnersWhenEscalated_AndABudgetWarningToWhoMayRaiseIt()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var push = await PushServiceStub.StartAsync();
        using var keys = new BrowserKeys();
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                await session.Sink!.OnEventAsync(new UsageReport(850, 0, 0, 0, null), CancellationToken.None);
                await session.AskToRunAsync("make release");
                await session.EndTurnAsync();
            },
        };
        await using var world = await AgentWorld.FakeAsync(fake, clock);
        var ana = await world.Server.PairPersonAsync("Ana", Role.Approver);
        var vic = await world.Server.PairPersonAsync("Vic", Role.Viewer);
        foreach (var (client, name) in new[] { (world.Phone, "owner"), (ana, "ana"), (vic, "vic") })
        {
            await ApiAssert.OkJsonAsync(await client.Http.PutAsJsonAsync("/api/notifications/web-push", keys.Subscription(push.Endpoint($"/push/{name}"))));
        }

        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy",
            new { escalateAfterSeconds = 60, budget = new { period = "day", session = new { tokens = 1000 } } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        await world.StartSessionAsync("release");

        // 850 of 1,000 tokens: Ana and the owner hear it, the viewer does not.
        var warning = keys.Decrypt(await push.NextAsync("/push/ana"));
        Assert.Equal("budget.warning", warning.GetProperty("event").GetString());
        Assert.Contains("85%", warning.GetProperty("title").GetString());
        Assert.Equal("budget.warning", keys.Decrypt(await push.NextAsync("/push/owner")).GetProperty("event").GetString());

        // The question: to Ana, who decides shell calls; the owner only once it escalates; never to the viewer.
        await events.WaitForAsync("approval.requested");
        Assert.Equal("approval.requested", keys.Decrypt(await push.NextAsync("/push/ana")).GetProperty("event").GetString());
        Assert.Equal(0, push.Waiting("/push/owner"));
        clock.Advance(TimeSpan.FromSeconds(61));
        await events.WaitForAsync("approval.escalated");
        var escalated = keys.Decrypt(await push.NextAsync("/push/owner"));
        Assert.StartsWith("Escalated to you", escalated.GetProperty("title").GetString());
        Assert.Equal(0, push.Waiting("/push/vic"));
    }
}
