using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Bridges.Feishu;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// The Feishu bridge over its long connection against a fake Feishu, with the REAL Claude Code CLI and the fake model:
/// the same core as Telegram and Slack (see <see cref="TelegramBridgeTests"/>), here through protobuf frames that must be
/// acknowledged (a press's toast rides on its acknowledgement), interactive cards patched in place, the tenant token
/// renewed when Feishu says it expired, an event split over two frames, and a long reply uploaded as a file.
/// </summary>
public sealed class FeishuBridgeTests
{
    private const string Alice = "ou_alice";
    private const string AliceDm = "oc_dm_alice";
    private const string Mallory = "ou_mallory";
    private const string Team = "oc_team";

    [Fact]
    public async Task LinkBindApproveDeny_Toasts_TokenRenewed_SplitEvent_Duplicate_LongReplyAsFile_PhoneDecision_Restart()
    {
        var feishu = await FakeFeishu.StartAsync();
        await using var _ = feishu;
        feishu.Name(Alice, "Alice Wang");
        await using var world = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, prepareData: (data, _, _) => feishu.Configure(data));

        // Linked in a direct chat, named by the contact API; bound in the group with the bot mentioned (a placeholder in the text).
        var code = world.Server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        feishu.Write(AliceDm, Alice, $"/pair {code}", direct: true);
        await feishu.MessageAsync(AliceDm, "Linked: you are the device \"Feishu Alice Wang\"");
        feishu.Write(Team, Alice, "@_user_1 /bind demo");
        await feishu.MessageAsync(Team, "now steers demo");

        // Text (sent as an event split over two frames) starts a session; the approval is a card with buttons.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "touch from-feishu.txt", description = "Make a file" }),
            ScriptedReply.Text("Made it. " + new string('z', 5000)));
        var request = feishu.MessageEvent(Team, Alice, "make a file please");
        feishu.Deliver(request, parts: 2);
        var approval = await feishu.MessageAsync(Team, "$ touch from-feishu.txt");
        Assert.Equal(["Allow once", "All Bash this session", "Deny", "Deny with a reason"], approval.Buttons.Select(b => b.Label));

        // Mallory is not linked: her press is answered with a toast only she sees, and decides nothing.
        feishu.Press(approval, "Allow once", Mallory);
        await feishu.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.Contains("linked", StringComparison.Ordinal)), "the toast answering Mallory's press");
        Assert.Equal("pending", (await world.Http.GetOkAsync("/api/approvals?status=pending"))[0].GetProperty("status").GetString());

        // The tenant token expires; Alice's press still counts (a new token is fetched), and her toast says so.
        var tokens = feishu.TokensIssued;
        feishu.ExpireToken();
        feishu.Press(approval, "Allow once", Alice);
        await feishu.EditedAsync(approval, "Allowed once by Feishu Alice Wang");
        await feishu.WaitForAsync(t => t.Answers.FirstOrDefault(a => a == "Allowed."), "the toast answering Alice's press");
        Assert.True(feishu.TokensIssued > tokens);

        // The long reply: cut in its card, sent whole as a file. It comes after the allowed command ran.
        var file = await feishu.WaitForAsync(t => t.Files.Where(f => f.Name == "reply.txt").Select(f => f.Content).FirstOrDefault(), "the whole reply as a file");
        Assert.True(File.Exists(Path.Combine(world.Repository, "from-feishu.txt")));
        Assert.Contains(new string('z', 5000), file, StringComparison.Ordinal);

        // The same event again (Feishu's retry keeps the event_id): handled once. A 429 is waited out.
        feishu.Deliver(request);
        feishu.RateLimitNext("open-apis/im/v1/messages", 1);
        feishu.Write(Team, Alice, "/queue");
        await feishu.MessageAsync(Team, "Nothing is queued.");
        // Every event is acknowledged (Feishu would send it again otherwise), and Feishu's own ping was sent.
        var queued = feishu.LastDelivered;
        await feishu.WaitForAsync(t => feishu.Acked(queued) ? t : null, "the last event acknowledged");
        await feishu.WaitForAsync(t => feishu.Pings >= 1 ? t : null, "Feishu's ping");
        var sessions = await world.Http.GetOkAsync($"/api/sessions?projectId={world.ProjectId}");
        Assert.Equal(1, sessions.GetArrayLength());
        var sessionId = sessions[0].GetProperty("id").GetString()!;
        var lastSeq = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await using (var events = await world.EventsAsync(sessionId))
        {
            await events.WaitForAsync(e => e.Id >= lastSeq);
            Assert.Single(events.Received, e => e.Event == "message.user" && e.Str("text") == "make a file please");
        }

        // Deny with a reason: the button asks, her reply is the reason, and the model is told.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "rm -rf build", description = "Clean" }), ScriptedReply.Text("Leaving it."));
        feishu.Write(Team, Alice, "@_user_1 clean up");
        var risky = await feishu.MessageAsync(Team, "$ rm -rf build");
        feishu.Press(risky, "Deny with a reason", Alice);
        await feishu.MessageAsync(Team, "reply with the reason");
        feishu.Write(Team, Alice, "keep the build folder");
        await feishu.EditedAsync(risky, "Denied by Feishu Alice Wang: keep the build folder");
        await feishu.MessageAsync(Team, "Leaving it.");
        Assert.Contains(world.Model.Requests, r => r.LastToolResults().Any(result => result.Content.Contains("keep the build folder", StringComparison.Ordinal)));

        // Decided on the phone: the card says who, and loses its buttons.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo from-phone", description = "Echo" }), ScriptedReply.Text("Echoed."));
        feishu.Write(Team, Alice, "echo something");
        var third = await feishu.MessageAsync(Team, "$ echo from-phone");
        var thirdId = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single().GetProperty("id").GetString()!;
        await ApiAssert.OkJsonAsync(await world.DecideAsync(thirdId, "allow_once"));
        Assert.Empty((await feishu.EditedAsync(third, "Allowed once by test phone")).Buttons);
        await feishu.MessageAsync(Team, "Echoed.");

        // A restart while a question waits: the bridge connects again (a new token, a new long connection) and the card says so.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo before-restart", description = "Echo" }));
        feishu.Write(Team, Alice, "echo once more");
        var waiting = await feishu.MessageAsync(Team, "$ echo before-restart");
        await world.RestartServerAsync();
        Assert.Empty((await feishu.EditedAsync(waiting, "Interrupted")).Buttons);
    }

    [Fact]
    public void Frame_RoundTrips_AndAnyMangledFrameIsInvalidData()
    {
        var frame = new FeishuFrame { SeqId = 300, LogId = ulong.MaxValue, Service = 7, Method = FeishuFrame.DataMethod, Payload = "{\"a\":1}"u8.ToArray() };
        frame.Headers.Add(new("type", "event"));
        frame.Headers.Add(new("message_id", "m-ü"));
        var bytes = frame.Encode();
        var read = FeishuFrame.Decode(bytes);
        Assert.Equal((300UL, ulong.MaxValue, 7, 1), (read.SeqId, read.LogId, read.Service, read.Method));
        Assert.Equal(frame.Headers, read.Headers);
        Assert.Equal(frame.Payload, read.Payload);

        // Every prefix, and every single-byte change, either reads as some frame or is InvalidDataException: never another exception.
        for (var length = 0; length < bytes.Length; length++)
        {
            Decodes(bytes[..length]);
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            foreach (var value in new byte[] { 0x00, 0x07, 0x0A, 0x7F, 0x80, 0xFF })
            {
                var changed = bytes.ToArray();
                changed[i] = value;
                Decodes(changed);
            }
        }

        static void Decodes(byte[] data)
        {
            try
            {
                FeishuFrame.Decode(data);
            }
            catch (InvalidDataException)
            {
            }
        }
    }
}
