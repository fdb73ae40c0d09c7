using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// The Slack bridge over Socket Mode against a fake Slack, with the REAL Claude Code CLI and the fake model: the same
/// core as Telegram (see <see cref="TelegramBridgeTests"/>), here through envelopes that must be acknowledged, block
/// buttons, ephemeral answers, slash commands, Retry-After and Slack's reconnect requests.
/// </summary>
public sealed class SlackBridgeTests
{
    private const string Alice = "UALICE";
    private const string AliceDm = "DALICE";
    private const string Mallory = "UMALLORY";
    private const string Channel = "CTEAM";

    [Fact]
    public async Task LinkBindApproveDeny_PhoneDecision_Duplicates_RetryAfter_Reconnect_Restart()
    {
        var slack = await FakeSlack.StartAsync();
        await using var _ = slack;
        await using var world = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, prepareData: (data, _, _) => slack.Configure(data));

        // Linking in a direct message ("pc pair": Slack's client keeps a leading slash for its own commands), binding by slash command.
        var code = world.Server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        var pairing = slack.Write(AliceDm, Alice, $"pc pair {code}");
        await slack.MessageAsync(AliceDm, "Linked: you are the device \"Slack @ualice\"");
        Assert.True(slack.Acked(pairing));
        slack.Slash(Channel, Alice, "ualice", "/pocketcoder", "bind demo");
        await slack.MessageAsync(Channel, "now steers demo");

        // Text starts a session; the approval is a message with buttons; Mallory's press decides nothing.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "touch from-slack.txt", description = "Make a file" }), ScriptedReply.Text("Made it."));
        slack.Write(Channel, Alice, "make a file");
        var approval = await slack.MessageAsync(Channel, "$ touch from-slack.txt");
        Assert.Equal(["Allow once", "All Bash this session", "Deny", "Deny with a reason"], approval.Buttons.Select(b => b.Label));
        slack.Press(approval, "Allow once", Mallory, "mallory");
        await slack.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.Contains("linked", StringComparison.Ordinal)), "the ephemeral answer to Mallory");
        Assert.Equal("pending", (await world.Http.GetOkAsync("/api/approvals?status=pending"))[0].GetProperty("status").GetString());

        // Alice allows (the update is rate-limited once: it waits out Retry-After, then lands).
        slack.RateLimitNext("chat.update", 1);
        slack.Press(approval, "Allow once", Alice, "ualice");
        await slack.EditedAsync(approval, "Allowed once by Slack @ualice");
        await slack.MessageAsync(Channel, "Made it.");
        Assert.True(File.Exists(Path.Combine(world.Repository, "from-slack.txt")));
        var updates = slack.Calls.Where(c => c.Method == "chat.update").ToList();
        Assert.Contains(updates.Zip(updates.Skip(1)), pair => pair.Second.At - pair.First.At >= TimeSpan.FromSeconds(0.9));

        // Deny with a reason.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "rm -rf build", description = "Clean" }), ScriptedReply.Text("Leaving it."));
        slack.Write(Channel, Alice, "clean up");
        var risky = await slack.MessageAsync(Channel, "$ rm -rf build");
        slack.Press(risky, "Deny with a reason", Alice, "ualice");
        await slack.MessageAsync(Channel, "reply with the reason");
        slack.Write(Channel, Alice, "keep the build folder");
        await slack.EditedAsync(risky, "Denied by Slack @ualice: keep the build folder");
        await slack.MessageAsync(Channel, "Leaving it.");
        Assert.Contains(world.Model.Requests, r => r.LastToolResults().Any(result => result.Content.Contains("keep the build folder", StringComparison.Ordinal)));

        // Slack asks for a fresh connection: the bridge opens one, and a decision on the phone still shows in the channel.
        var connections = slack.Connections;
        slack.AskToReconnect();
        await slack.WaitForAsync(t => slack.Connections > connections ? t : null, "a new socket after Slack's disconnect request");
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo from-phone", description = "Echo" }), ScriptedReply.Text("Echoed."));
        var echo = slack.Write(Channel, Alice, "echo something");
        var third = await slack.MessageAsync(Channel, "$ echo from-phone");
        var thirdId = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single().GetProperty("id").GetString()!;
        await ApiAssert.OkJsonAsync(await world.DecideAsync(thirdId, "allow_once"));
        Assert.Empty((await slack.EditedAsync(third, "Allowed once by test phone")).Buttons);
        await slack.MessageAsync(Channel, "Echoed.");

        // Slack delivers the same event again (a retry: same event_id, new envelope): handled once.
        slack.Deliver(echo);
        slack.Write(Channel, Alice, "pc queue");
        await slack.MessageAsync(Channel, "Nothing is queued.");
        // A message is recorded (or queued) before the bridge takes the next delivery: all of it is stored by now.
        var sessionId = (await world.Http.GetOkAsync($"/api/sessions?projectId={world.ProjectId}"))[0].GetProperty("id").GetString()!;
        var lastSeq = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await using (var events = await world.EventsAsync(sessionId))
        {
            await events.WaitForAsync(e => e.Id >= lastSeq);
            var sent = Assert.Single(events.Received, e => e.Event == "message.user" && e.Str("text") == "echo something");
            // Sent as the turn before it was ending, it may have waited its turn once; the retry never queued it again.
            Assert.DoesNotContain(events.Received, e => e.Id > sent.Id && e.Event == "queue.updated" && e.Data.Contains("echo something", StringComparison.Ordinal));
        }

        // A restart while a question waits: the bridge opens a new socket and the message says the server stopped.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo before-restart", description = "Echo" }));
        slack.Write(Channel, Alice, "echo once more");
        var waiting = await slack.MessageAsync(Channel, "$ echo before-restart");
        await world.RestartServerAsync();
        Assert.Empty((await slack.EditedAsync(waiting, "Interrupted")).Buttons);
    }
}
