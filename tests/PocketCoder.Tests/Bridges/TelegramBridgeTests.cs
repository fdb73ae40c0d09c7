using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// The Telegram bridge against a fake Bot API, with the REAL Claude Code CLI and the fake model: people link with a
/// pairing code, a group is bound to the project, text starts sessions, approvals are buttons only linked people can
/// press, and every decision (here, on the phone, by a timeout or a restart) shows in the chat.
/// </summary>
public sealed class TelegramBridgeTests
{
    private const long Alice = 111;
    private const long Mallory = 222;
    private const long Group = -500;

    private static async Task<(AgentWorld World, FakeTelegram Telegram)> StartAsync(bool privacyMode = false)
    {
        var telegram = await FakeTelegram.StartAsync();
        telegram.PrivacyMode = privacyMode;
        var world = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, prepareData: (data, _, _) => telegram.Configure(data));
        return (world, telegram);
    }

    /// <summary>Alice links herself in a direct chat and binds the group to the project.</summary>
    private static async Task LinkAndBindAsync(AgentWorld world, FakeTelegram telegram)
    {
        var code = world.Server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        telegram.Write(Alice, Alice, "alice", $"/pair {code}");
        await telegram.MessageAsync(Alice, "Linked");
        telegram.Write(Group, Alice, "alice", "/bind demo");
        await telegram.MessageAsync(Group, "now steers demo");
    }

    private static string ApprovalStatus(AgentWorld world, string approvalId) =>
        world.Http.GetOkAsync($"/api/approvals/{approvalId}").GetAwaiter().GetResult().GetProperty("status").GetString()!;

    [Fact]
    public async Task LinkedPerson_StartsSession_AllowsAndDeniesWithReason_UnlinkedPressIgnored_PhoneDecisionShown()
    {
        var (world, telegram) = await StartAsync();
        await using var _ = world;
        await using var __ = telegram;
        await LinkAndBindAsync(world, telegram);

        // Alice is a device like any phone, with the platform and her user id.
        var devices = await world.Http.GetOkAsync("/api/devices");
        var linked = devices.EnumerateArray().Single(d => d.GetProperty("bridge").ValueKind == System.Text.Json.JsonValueKind.Object);
        Assert.Equal("telegram", linked.GetProperty("bridge").GetProperty("platform").GetString());
        Assert.Equal(Alice.ToString(), linked.GetProperty("bridge").GetProperty("userId").GetString());

        // Text starts a session; the gated call arrives as a message with buttons showing the exact command.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "touch made-by-chat.txt", description = "Make a file", run_in_background = false }),
            ScriptedReply.Text("Made it."));
        telegram.Write(Group, Alice, "alice", "make a file please");
        var approval = await telegram.MessageAsync(Group, "$ touch made-by-chat.txt");
        // Every field that could change what runs is shown, not only the command; the agent's own description is not.
        Assert.Contains("{\"run_in_background\": false}", approval.Text, StringComparison.Ordinal);
        Assert.Equal(["Allow once", "All Bash this session", "Deny", "Deny with a reason"], approval.Buttons.Select(b => b.Label));
        var pending = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single();
        var approvalId = pending.GetProperty("id").GetString()!;

        // Mallory is in the group but not linked: the press is answered, counted, and decides nothing.
        telegram.Press(approval, "Allow once", Mallory, "mallory");
        await telegram.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.Contains("linked", StringComparison.Ordinal)), "the answer to Mallory's press");
        Assert.Equal("pending", ApprovalStatus(world, approvalId));
        var bridges = await world.Http.GetOkAsync("/api/bridges");
        Assert.Equal(1, bridges[0].GetProperty("ignored").GetInt64());

        // Alice's press runs it; the message then says who decided, and the turn's message ends with the reply.
        telegram.Press(approval, "Allow once", Alice, "alice");
        await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.MessageId == approval.MessageId && m.Text.Contains("Allowed once by Telegram @alice", StringComparison.Ordinal)),
            "the approval message saying Alice allowed it");
        // The end and the changed files may come in two edits (they fold into one only when the chat's interval holds the first).
        var turn = await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.Text.Contains("Made it.", StringComparison.Ordinal)
                && m.Text.Contains("✓ Done", StringComparison.Ordinal) && m.Text.Contains("1 file changed", StringComparison.Ordinal)),
            "the turn's message with the reply, its end and the file it changed");
        Assert.True(File.Exists(Path.Combine(world.Repository, "made-by-chat.txt")));
        Assert.Empty(telegram.Messages(Group).Last(m => m.MessageId == approval.MessageId).Buttons);
        Assert.Contains("1 file changed", turn.Text);
        var ledger = await world.Http.GetOkAsync("/api/ledger?limit=200");
        Assert.Contains(ledger.GetProperty("entries").EnumerateArray(), e => e.GetProperty("actor").GetString() == "Telegram @alice"
            && e.GetProperty("action").GetString()!.StartsWith("approval.", StringComparison.Ordinal));

        // Deny with a reason: the button asks for it, her next message is it, and the model is told.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "rm -rf build", description = "Clean" }), ScriptedReply.Text("Leaving it."));
        telegram.Write(Group, Alice, "alice", "clean up");
        var risky = await telegram.MessageAsync(Group, "$ rm -rf build");
        telegram.Press(risky, "Deny with a reason", Alice, "alice");
        var prompt = await telegram.MessageAsync(Group, "reply with the reason");
        Assert.True(telegram.AsksReply(prompt), "The prompt opens a reply: a bot in privacy mode sees replies to it, not plain text.");
        telegram.Write(Group, Alice, "alice", "keep the build folder");
        await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.MessageId == risky.MessageId && m.Text.Contains("Denied by Telegram @alice: keep the build folder", StringComparison.Ordinal)),
            "the approval message saying Alice denied it with her reason");
        await telegram.MessageAsync(Group, "Leaving it.");
        Assert.Contains(world.Model.Requests, r => r.LastToolResults().Any(result => result.Content.Contains("keep the build folder", StringComparison.Ordinal)));

        // Decided on the phone: the chat's message says so, and its buttons go.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo from-phone", description = "Echo" }), ScriptedReply.Text("Echoed."));
        telegram.Write(Group, Alice, "alice", "echo something");
        var third = await telegram.MessageAsync(Group, "$ echo from-phone");
        var thirdId = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single().GetProperty("id").GetString()!;
        await ApiAssert.OkJsonAsync(await world.DecideAsync(thirdId, "allow_once"));
        var shown = await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.MessageId == third.MessageId && m.Text.Contains("Allowed once by test phone", StringComparison.Ordinal)),
            "the approval message saying the phone allowed it");
        Assert.Empty(shown.Buttons);

        // A press on the settled message changes nothing and says who decided.
        telegram.Press(third, "Deny", Alice, "alice");
        await telegram.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.Contains("by test phone", StringComparison.Ordinal)), "the answer naming who decided");
        Assert.Equal("decided", ApprovalStatus(world, thirdId));
    }

    /// <summary>
    /// With a fake agent (no process, no model), so the moments come where the test puts them: the press in the chat is
    /// the decision the agent gets; a question the agent withdraws (the owner cancels the turn on the phone) loses its
    /// buttons and says so, and a press on its old message afterwards settles nothing and is told how it ended.
    /// </summary>
    [Fact]
    public async Task FakeAgent_PressIsTheAgentsDecision_WithdrawnQuestionLosesItsButtons_ALatePressSettlesNothing()
    {
        var telegram = await FakeTelegram.StartAsync();
        await using var __ = telegram;
        var fake = new FakeAgent();
        var decisions = new List<bool>();
        fake.Script = async (session, prompt) =>
        {
            var decision = await session.AskToRunAsync(prompt.Text == "deploy" ? "make deploy" : "make clean");
            decisions.Add(decision.Allow);
            await session.SayAsync(decision.Allow ? "Deployed." : "Not deployed.");
            await session.EndTurnAsync();
        };
        await using var world = await AgentWorld.StartAsync(FakeAgent.AgentId, (_, _) => new Dictionary<string, PocketCoder.Agents.Processes.AgentCommand>(),
            prepareData: (data, _, _) => telegram.Configure(data), fake: fake);
        await LinkAndBindAsync(world, telegram);

        telegram.Write(Group, Alice, "alice", "deploy");
        var deploy = await telegram.MessageAsync(Group, "$ make deploy");
        telegram.Press(deploy, "Allow once", Alice, "alice");
        await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.Text.Contains("Deployed.", StringComparison.Ordinal)), "the agent's reply to the allow");
        Assert.Equal([true], decisions);

        telegram.Write(Group, Alice, "alice", "clean");
        var clean = await telegram.MessageAsync(Group, "$ make clean");
        var sessionId = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single().GetProperty("sessionId").GetString()!;
        await world.CancelAsync(sessionId);
        var withdrawn = await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.MessageId == clean.MessageId && m.Text.Contains("Withdrawn", StringComparison.Ordinal)),
            "the withdrawn question's message saying so");
        Assert.Empty(withdrawn.Buttons);

        telegram.Press(clean, "Allow once", Alice, "alice");
        await telegram.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.StartsWith("Withdrawn", StringComparison.Ordinal)), "the answer to the late press, saying how it ended");
        Assert.Equal([true], decisions);
        Assert.Equal("cancelled", (await world.Http.GetOkAsync($"/api/approvals?sessionId={sessionId}")).EnumerateArray().Last().GetProperty("status").GetString());
    }

    [Fact]
    public async Task RolesHoldInChat_AViewerNeitherBindsNorStartsNorDecides()
    {
        var telegram = await FakeTelegram.StartAsync();
        await using var __ = telegram;
        var fake = new FakeAgent();
        var decisions = new List<bool>();
        fake.Script = async (session, prompt) =>
        {
            decisions.Add((await session.AskToRunAsync("make deploy")).Allow);
            await session.EndTurnAsync();
        };
        await using var world = await AgentWorld.StartAsync(FakeAgent.AgentId, (_, _) => new Dictionary<string, PocketCoder.Agents.Processes.AgentCommand>(),
            prepareData: (data, _, _) => telegram.Configure(data), fake: fake);
        await LinkAndBindAsync(world, telegram);
        // Mallory is invited as a viewer: her chat identity is a device of hers, and her role goes with it.
        var viewer = world.Server.Services.GetRequiredService<People>().Add("Mallory", Role.Viewer, Actor.System);
        var code = world.Server.Services.GetRequiredService<Devices>().CreatePairingCode(viewer.Id).Code;
        telegram.Write(Mallory, Mallory, "mallory", $"/pair {code}");
        await telegram.MessageAsync(Mallory, "Linked");

        telegram.Write(Group, Mallory, "mallory", "/unbind");
        await telegram.MessageAsync(Group, "Only owners bind chats to projects; Mallory is a viewer.");
        telegram.Write(Group, Mallory, "mallory", "deploy it");
        await telegram.MessageAsync(Group, "Only operators, approvers and owners may do this; Mallory is a viewer.");
        Assert.Empty((await world.Http.GetOkAsync("/api/sessions")).EnumerateArray());

        telegram.Write(Group, Alice, "alice", "deploy");
        var asked = await telegram.MessageAsync(Group, "$ make deploy");
        telegram.Press(asked, "Allow once", Mallory, "mallory");
        await telegram.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.StartsWith("Only approvers and owners", StringComparison.Ordinal)), "the refusal on the button");
        Assert.Empty(decisions);
        telegram.Press(asked, "Allow once", Alice, "alice");
        await telegram.WaitForAsync(t => decisions.Count == 1 ? "decided" : null, "Alice's allow");
        Assert.Equal([true], decisions);
    }

    [Fact]
    public async Task Duplicates_RateLimits_Revocation_AndPairingInAGroup()
    {
        var (world, telegram) = await StartAsync();
        await using var _ = world;
        await using var __ = telegram;
        await LinkAndBindAsync(world, telegram);

        // A pairing code said in a group is spent at once, unused (everyone saw it), and never repeated back: sending it
        // privately afterwards links no one.
        var code = world.Server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        telegram.Write(Group, Mallory, "mallory", $"/pair {code}");
        var burned = await telegram.MessageAsync(Group, "Pairing codes are secret");
        Assert.DoesNotContain(code, burned.Text, StringComparison.Ordinal);
        telegram.Write(Mallory, Mallory, "mallory", $"/pair {code}");
        var wrong = await telegram.MessageAsync(Mallory, "That code is wrong, used or expired");
        // A stranger is told who makes codes, never a command naming this machine's paths (nor one they could not run).
        Assert.Contains("ask this server's owner for a pairing code", wrong.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(world.Server.DataDirectory, wrong.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("pocketcoder pair", wrong.Text, StringComparison.Ordinal);
        Assert.DoesNotContain((await world.Http.GetOkAsync("/api/devices")).EnumerateArray(), d => d.GetProperty("name").GetString()!.Contains("mallory", StringComparison.Ordinal));
        var burnedEntries = (await world.Http.GetOkAsync("/api/ledger?limit=200")).GetProperty("entries").EnumerateArray();
        Assert.Contains(burnedEntries, e => e.GetProperty("action").GetString() == "pairing.burned");

        // Someone not linked is answered once a minute at most, however often they write.
        telegram.Write(Mallory, Mallory, "mallory", "/start");
        telegram.Write(Mallory, Mallory, "mallory", "/help");
        telegram.Write(Mallory, Mallory, "mallory", "/pair 000000");
        telegram.Write(Group, Alice, "alice", "/agent");
        await telegram.MessageAsync(Group, "Agents:");
        Assert.Single(telegram.Messages(Mallory));

        // The same delivery twice (a platform's retry) is handled once.
        var status = telegram.Write(Group, Alice, "alice", "/status");
        telegram.Deliver(status);
        telegram.Write(Group, Alice, "alice", "/queue");
        await telegram.MessageAsync(Group, "Nothing is queued.");
        Assert.Single(telegram.Messages(Group), m => m.Text.StartsWith("Project demo", StringComparison.Ordinal));

        // A 429 is waited out for as long as it says, then the message is sent.
        telegram.RateLimitNext("sendMessage", 2);
        telegram.Write(Group, Alice, "alice", "/help");
        await telegram.MessageAsync(Group, "/new [text]");
        var sends = telegram.Calls.Where(c => c.Method == "sendMessage").ToList();
        var limited = sends[^2];
        Assert.True(sends[^1].At - limited.At >= TimeSpan.FromSeconds(1.9), $"Sent again {(sends[^1].At - limited.At).TotalSeconds} s after a 429 asking for 2 s.");

        // Unbound from the phone: the group steers nothing now; unbinding again is a 404 with its code.
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/bridges/telegram/channels/{Group}")).StatusCode);
        await ApiAssert.ProblemAsync(await world.Http.DeleteAsync($"/api/bridges/telegram/channels/{Group}"), HttpStatusCode.NotFound, "BRIDGE_CHANNEL_NOT_FOUND");
        Assert.Equal(0, (await world.Http.GetOkAsync("/api/bridges"))[0].GetProperty("channels").GetArrayLength());
        telegram.Write(Group, Alice, "alice", "/bind demo");
        await telegram.WaitForAsync(t => t.Messages(Group.ToString()).Count(m => m.Text.Contains("now steers demo", StringComparison.Ordinal)) == 2 ? t : null, "the group bound again");

        // Alice links again (a new phone, say): her old device is revoked and the group moves to the new one, so
        // revoking that one still unbinds everything she bound.
        var again = world.Server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        telegram.Write(Alice, Alice, "alice", $"/pair {again}");
        await telegram.WaitForAsync(t => t.Messages(Alice.ToString()).Count(m => m.Text.StartsWith("Linked", StringComparison.Ordinal)) == 2 ? t : null, "Alice linked again");
        var linked = (await world.Http.GetOkAsync("/api/devices")).EnumerateArray().Where(d => d.GetProperty("name").GetString() == "Telegram @alice").ToList();
        Assert.Equal(2, linked.Count);
        Assert.Single(linked, d => d.GetProperty("revokedAt").ValueKind == System.Text.Json.JsonValueKind.Null);

        // Revoked on the phone: Alice is no longer heard, and the group she bound is unbound with her (in the ledger).
        var devices = await world.Http.GetOkAsync("/api/devices");
        var alice = devices.EnumerateArray().Single(d => d.GetProperty("bridge").ValueKind == System.Text.Json.JsonValueKind.Object).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/devices/{alice}")).StatusCode);
        telegram.Write(Group, Alice, "alice", "/status");
        telegram.Write(Alice, Alice, "alice", "/help");
        await telegram.MessageAsync(Alice, "To link yourself");
        Assert.Single(telegram.Messages(Group), m => m.Text.StartsWith("Project demo", StringComparison.Ordinal));
        var bridge = (await world.Http.GetOkAsync("/api/bridges"))[0];
        Assert.True(bridge.GetProperty("people")[0].GetProperty("revoked").GetBoolean());
        Assert.Equal(0, bridge.GetProperty("channels").GetArrayLength());
        Assert.Equal("connected", bridge.GetProperty("state").GetString());
        Assert.DoesNotContain(FakeTelegram.Token, bridge.ToString());
        var entries = (await world.Http.GetOkAsync("/api/ledger?limit=200")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("action").GetString() == "bridge.unbound"
            && e.GetProperty("detail").ToString().Contains("revoked", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Question_OneChoice_AnsweredWithItsButton_SeveralQuestions_OnlyDismissed()
    {
        var (world, telegram) = await StartAsync();
        await using var _ = world;
        await using var __ = telegram;
        await LinkAndBindAsync(world, telegram);

        // One question, one answer among two options: a button each, and Dismiss.
        world.Model.Enqueue(ScriptedReply.ToolUse("AskUserQuestion", new
        {
            questions = new object[]
            {
                new
                {
                    question = "Which database should the service use?", header = "Database", multiSelect = false,
                    options = new object[] { new { label = "Postgres", description = "The team's usual" }, new { label = "SQLite", description = "One file" } },
                },
            },
        }), ScriptedReply.Text("SQLite it is."));
        telegram.Write(Group, Alice, "alice", "set up the service");
        var asked = await telegram.MessageAsync(Group, "Choose one");
        Assert.Equal(["Postgres", "SQLite", "Dismiss"], asked.Buttons.Select(b => b.Label));
        Assert.DoesNotContain(asked.Buttons, b => b.Label.StartsWith("Allow", StringComparison.Ordinal));

        // Forged button data (an option the message never offered) answers nothing; Mallory's press is ignored.
        telegram.PressData(asked, asked.Buttons[0].Data[..^1] + "7", Alice, "alice");
        await telegram.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.Contains("Not an option here", StringComparison.Ordinal)), "the forged option refused");
        telegram.Press(asked, "Postgres", Mallory, "mallory");
        telegram.Press(asked, "SQLite", Alice, "alice");
        await telegram.WaitForAsync(t => t.Answers.FirstOrDefault(a => a == "Answered: SQLite."), "the answer acknowledged");
        await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.Text.Contains("SQLite it is.", StringComparison.Ordinal)), "the agent going on");
        var result = world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults().Single().Content;
        Assert.Contains("SQLite", result, StringComparison.Ordinal);
        Assert.DoesNotContain("Postgres", result, StringComparison.Ordinal);
        var settled = await telegram.EditedAsync(asked, "Answered by Telegram @alice");
        Assert.Empty(settled.Buttons);

        // Two questions (or a multi-select) are answered in the app: here only Dismiss.
        world.Model.Enqueue(EndToEnd.QuestionTests.TwoQuestions(), ScriptedReply.Text("Dismissed, going on."));
        telegram.Write(Group, Alice, "alice", "and the extras?");
        var two = await telegram.MessageAsync(Group, "Answer it in the app");
        Assert.Equal(["Dismiss"], two.Buttons.Select(b => b.Label));
    }

    [Fact]
    public async Task WhatAChatCannotShowWhole_CanOnlyBeDenied_RevokingTheBinderTakesItsButtonsAway()
    {
        var (world, telegram) = await StartAsync(privacyMode: true);
        await using var _ = world;
        await using var __ = telegram;
        await LinkAndBindAsync(world, telegram);
        Assert.Contains("/setprivacy", (await telegram.MessageAsync(Group, "now steers demo")).Text, StringComparison.Ordinal);

        // An update in a shape the bridge cannot read is skipped; one for another bot is left to it; the next is handled.
        telegram.Deliver(new System.Text.Json.Nodes.JsonObject
        {
            ["message"] = new System.Text.Json.Nodes.JsonObject { ["message_id"] = 1, ["chat"] = new System.Text.Json.Nodes.JsonObject { ["id"] = Group }, ["text"] = 5 },
        });
        telegram.Write(Group, Alice, "alice", "/help@other_bot");
        telegram.Write(Group, Alice, "alice", "/queue");
        await telegram.MessageAsync(Group, "Nothing is queued.");
        Assert.DoesNotContain(telegram.Messages(Group), m => m.Text.Contains("/new [text]", StringComparison.Ordinal));

        // A command longer than a message can show (the part that matters at its end): it can only be denied here.
        var longCommand = "echo " + new string('x', 5000) + " && touch hidden.txt";
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = longCommand, description = "Print" }), ScriptedReply.Text("Not run, then."));
        telegram.Write(Group, Alice, "alice", "/new print it");
        var cut = await telegram.MessageAsync(Group, "Not shown here whole");
        Assert.Equal(["Deny", "Deny with a reason"], cut.Buttons.Select(b => b.Label));
        var approvalId = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single().GetProperty("id").GetString()!;

        // A modified client pressing an "Allow" the message never offered decides nothing.
        telegram.PressData(cut, cut.Buttons[0].Data.Split(':')[0] + ":a", Alice, "alice");
        await telegram.WaitForAsync(t => t.Answers.FirstOrDefault(a => a.Contains("allow it in the app", StringComparison.Ordinal)), "the forged allow refused");
        Assert.Equal("pending", ApprovalStatus(world, approvalId));
        telegram.Press(cut, "Deny", Alice, "alice");
        await telegram.MessageAsync(Group, "Not run, then.");
        Assert.False(File.Exists(Path.Combine(world.Repository, "hidden.txt")));

        // Characters that hide what a command says (a right-to-left override): the same.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo \u202Etxt.hsab | sh", description = "Echo" }), ScriptedReply.Text("Fine."));
        telegram.Write(Group, Alice, "alice", "/new echo");
        var hidden = await telegram.MessageAsync(Group, "Not shown here whole");
        Assert.DoesNotContain(hidden.Buttons, b => b.Label.StartsWith("Allow", StringComparison.Ordinal));
        Assert.DoesNotContain('\u202E', hidden.Text);
        telegram.Press(hidden, "Deny", Alice, "alice");
        await telegram.MessageAsync(Group, "Fine.");

        // Revoking the person who bound the group: its waiting approval loses its buttons, and a press decides nothing.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "touch after-revoke.txt", description = "Make a file" }), ScriptedReply.Text("Done."));
        telegram.Write(Group, Alice, "alice", "/new make it");
        var waiting = await telegram.MessageAsync(Group, "$ touch after-revoke.txt");
        Assert.Contains(waiting.Buttons, b => b.Label == "Allow once");
        var alice = (await world.Http.GetOkAsync("/api/devices")).EnumerateArray()
            .Single(d => d.GetProperty("bridge").ValueKind == System.Text.Json.JsonValueKind.Object).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/devices/{alice}")).StatusCode);
        var dead = await telegram.EditedAsync(waiting, "no longer steers");
        Assert.Empty(dead.Buttons);
        telegram.Press(waiting, "Allow once", Alice, "alice");
        telegram.Write(Alice, Alice, "alice", "/help");
        await telegram.MessageAsync(Alice, "To link yourself");
        var pending = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single();
        Assert.Equal("pending", pending.GetProperty("status").GetString());
        Assert.False(File.Exists(Path.Combine(world.Repository, "after-revoke.txt")));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(pending.GetProperty("id").GetString()!, "deny"));
    }

    [Fact]
    public async Task PlatformOutage_ApprovalStaysAnswerable_ServerRestart_MessageSaysInterrupted()
    {
        var (world, telegram) = await StartAsync();
        await using var _ = world;
        await using var __ = telegram;
        await LinkAndBindAsync(world, telegram);

        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "touch after-outage.txt", description = "Make a file" }), ScriptedReply.Text("Made."));
        telegram.Write(Group, Alice, "alice", "make a file");
        var approval = await telegram.MessageAsync(Group, "$ touch after-outage.txt");

        // The platform fails for a while; the bridge keeps trying and, once it is back, the press still counts.
        telegram.GoDown();
        var failuresBefore = telegram.Calls.Count;
        await telegram.WaitForAsync(t => t.Calls.Count >= failuresBefore + 2 ? t : null, "the bridge trying again during the outage");
        telegram.Recover();
        telegram.Press(approval, "Allow once", Alice, "alice");
        await telegram.MessageAsync(Group, "Made.");
        Assert.True(File.Exists(Path.Combine(world.Repository, "after-outage.txt")));

        // A restart while a question waits: the agent process goes with the server, and the chat's message says so.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo before-restart", description = "Echo" }));
        telegram.Write(Group, Alice, "alice", "echo");
        var waiting = await telegram.MessageAsync(Group, "$ echo before-restart");
        await world.RestartServerAsync();
        var interrupted = await telegram.WaitForAsync(t => t.Messages(Group.ToString()).FirstOrDefault(m => m.MessageId == waiting.MessageId && m.Text.Contains("Interrupted", StringComparison.Ordinal)),
            "the waiting approval's message saying the server stopped");
        Assert.Empty(interrupted.Buttons);
    }

    [Fact]
    public async Task BrokenBridgesFile_ServerRunsOn_FixedFileStartsTheBridgeWhileItRuns()
    {
        await using var telegram = await FakeTelegram.StartAsync();
        var data = TempPaths.NewDirectory("pc-data");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(data, "bridges.json"), "{ not json");
            await using var server = await TestServer.StartAsync(data);
            var phone = await server.PairAsync();
            Assert.Empty((await phone.Http.GetOkAsync("/api/bridges")).EnumerateArray());

            // `pocketcoder bridge add` while the server runs: the bridge starts within seconds, no restart.
            telegram.Configure(data);
            await telegram.WaitForAsync(t => t.Calls.Any(c => c.Method == "getUpdates") ? t : null, "the bridge polling after the file was fixed");
            var bridge = (await phone.Http.GetOkAsync("/api/bridges"))[0];
            Assert.Equal("connected", bridge.GetProperty("state").GetString());
            Assert.Equal("pocket_test_bot", bridge.GetProperty("botName").GetString());

            // Removed from the file: it stops, and says so.
            await File.WriteAllTextAsync(Path.Combine(data, "bridges.json"), """{"bridges":[]}""");
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.Services.GetRequiredService<PocketCoder.Bridges.BridgeHost>().WaitForAsync(b => b.Count == 0, wait.Token);
            Assert.Empty((await phone.Http.GetOkAsync("/api/bridges")).EnumerateArray());
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    [Fact]
    public async Task Bind_NoProjectMatches_AGroupIsNotToldTheProjects_ADirectChatIs()
    {
        await using var telegram = await FakeTelegram.StartAsync();
        var data = TempPaths.NewDirectory("pc-data");
        var demo = TempPaths.NewGitRepository();
        var secret = TempPaths.NewGitRepository();
        try
        {
            telegram.Configure(data);
            await using var server = await TestServer.StartAsync(data);
            var phone = await server.PairAsync();
            await phone.Http.PostOkAsync("/api/projects", new { path = demo, name = "demo" });
            var payroll = (await phone.Http.PostOkAsync("/api/projects", new { path = secret, name = "acme-payroll" })).GetProperty("id").GetString()!;
            var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
            telegram.Write(Alice, Alice, "alice", $"/pair {code}");
            await telegram.MessageAsync(Alice, "Linked");

            // In a group, whoever else is there reads the answer: it names no project, and says where to ask.
            telegram.Write(Group, Alice, "alice", "/bind dmeo");
            var group = await telegram.MessageAsync(Group, "No project is called \"dmeo\"");
            Assert.Contains("direct message", group.Text, StringComparison.Ordinal);
            telegram.Write(Group, Alice, "alice", "/bind");
            await telegram.MessageAsync(Group, "Which project?");
            Assert.All(telegram.Messages(Group), m =>
            {
                Assert.DoesNotContain("acme-payroll", m.Text, StringComparison.Ordinal);
                Assert.DoesNotContain(payroll, m.Text, StringComparison.Ordinal);
            });

            // Alice alone, in her direct chat: the list, to bind the group with.
            telegram.Write(Alice, Alice, "alice", "/bind");
            var direct = await telegram.MessageAsync(Alice, "Projects:");
            Assert.Contains($"acme-payroll ({payroll})", direct.Text, StringComparison.Ordinal);
            Assert.Contains("demo (", direct.Text, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(data);
            TempPaths.Delete(demo);
            TempPaths.Delete(secret);
        }
    }

    [Fact]
    public async Task ChatBoundFromThePhone_OnlyChatsALinkedPersonWroteIn_RevokingThePhoneUnbindsIt()
    {
        await using var telegram = await FakeTelegram.StartAsync();
        var data = TempPaths.NewDirectory("pc-data");
        var repository = TempPaths.NewGitRepository();
        try
        {
            telegram.Configure(data);
            await using var server = await TestServer.StartAsync(data);
            var phone = await server.PairAsync();
            var desk = await server.PairAsync("desk");
            var project = (await phone.Http.PostOkAsync("/api/projects", new { path = repository, name = "demo" })).GetProperty("id").GetString()!;
            var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
            telegram.Write(Alice, Alice, "alice", $"/pair {code}");
            await telegram.MessageAsync(Alice, "bind it from the app");

            // Alice writes in a group; Mallory (not linked) in another. Only Alice's chats are offered.
            const long MalloryGroup = -700;
            telegram.Write(MalloryGroup, Mallory, "mallory", "hi bot");
            telegram.Write(Group, Alice, "alice", "hello?");
            await telegram.MessageAsync(Group, "steers no project yet");
            var chats = (await phone.Http.GetOkAsync("/api/bridges"))[0].GetProperty("chats").EnumerateArray().ToList();
            Assert.Equal([Group.ToString(), Alice.ToString()], chats.Select(c => c.GetProperty("chatId").GetString()));
            Assert.Equal("Team chat", chats[0].GetProperty("chatTitle").GetString());
            Assert.False(chats[0].GetProperty("direct").GetBoolean());
            Assert.True(chats[1].GetProperty("direct").GetBoolean());
            Assert.Equal("@alice", chats[0].GetProperty("lastUserName").GetString());
            Assert.Equal(System.Text.Json.JsonValueKind.Null, chats[0].GetProperty("projectId").ValueKind);

            // What cannot be bound says why, with its code.
            await ApiAssert.ProblemAsync(await desk.Http.PostAsJsonAsync("/api/bridges/telegram/channels", new { chatId = MalloryGroup.ToString(), projectId = project }),
                HttpStatusCode.NotFound, "BRIDGE_CHAT_NOT_FOUND");
            await ApiAssert.ProblemAsync(await desk.Http.PostAsJsonAsync("/api/bridges/slack/channels", new { chatId = Group.ToString(), projectId = project }),
                HttpStatusCode.NotFound, "BRIDGE_NOT_FOUND");
            await ApiAssert.ProblemAsync(await desk.Http.PostAsJsonAsync("/api/bridges/telegram/channels", new { chatId = Group.ToString(), projectId = "nope" }),
                HttpStatusCode.NotFound, "PROJECT_NOT_FOUND");
            await ApiAssert.ProblemAsync(await desk.Http.PostAsJsonAsync("/api/bridges/telegram/channels", new { projectId = project }),
                HttpStatusCode.BadRequest, "VALIDATION_FAILED");
            Assert.Empty(server.Services.GetRequiredService<PocketCoder.Bridges.BridgeStore>().Channels());

            // Bound from the desk: the group is told who bound it, and steers the project at once.
            var created = await desk.Http.PostAsJsonAsync("/api/bridges/telegram/channels", new { chatId = Group.ToString(), projectId = project });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("desk", (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("boundBy").GetString());
            await telegram.MessageAsync(Group, "now steers demo (bound by desk)");
            telegram.Write(Group, Alice, "alice", "/status");
            await telegram.MessageAsync(Group, "Project demo");
            var bridge = (await phone.Http.GetOkAsync("/api/bridges"))[0];
            Assert.Equal(project, bridge.GetProperty("chats")[0].GetProperty("projectId").GetString());
            Assert.Equal("desk", bridge.GetProperty("channels")[0].GetProperty("boundBy").GetString());
            var entries = (await phone.Http.GetOkAsync("/api/ledger?limit=50")).GetProperty("entries").EnumerateArray().ToList();
            Assert.Contains(entries, e => e.GetProperty("action").GetString() == "bridge.bound" && e.GetProperty("actor").GetString() == "desk");

            // The binding is the desk's: revoking the desk unbinds the group.
            Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/devices/{desk.DeviceId}")).StatusCode);
            telegram.Write(Group, Alice, "alice", "/status");
            await telegram.WaitForAsync(t => t.Messages(Group.ToString()).Count(m => m.Text.Contains("steers no project yet", StringComparison.Ordinal)) == 2 ? t : null,
                "the group unbound with the desk");
            Assert.Empty((await phone.Http.GetOkAsync("/api/bridges"))[0].GetProperty("channels").EnumerateArray());

            // Alice's direct chat bound from the phone: revoking Alice unbinds it too (no one linked reads there), and
            // her chats are no longer offered.
            Assert.Equal(HttpStatusCode.Created, (await phone.Http.PostAsJsonAsync("/api/bridges/telegram/channels",
                new { chatId = Alice.ToString(), projectId = project })).StatusCode);
            await telegram.MessageAsync(Alice, "now steers demo (bound by test phone)");
            var alice = (await phone.Http.GetOkAsync("/api/devices")).EnumerateArray()
                .Single(d => d.GetProperty("bridge").ValueKind == System.Text.Json.JsonValueKind.Object).GetProperty("id").GetString();
            Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/devices/{alice}")).StatusCode);
            var after = (await phone.Http.GetOkAsync("/api/bridges"))[0];
            Assert.Empty(after.GetProperty("channels").EnumerateArray());
            Assert.Empty(after.GetProperty("chats").EnumerateArray());
            await ApiAssert.ProblemAsync(await phone.Http.PostAsJsonAsync("/api/bridges/telegram/channels", new { chatId = Group.ToString(), projectId = project }),
                HttpStatusCode.NotFound, "BRIDGE_CHAT_NOT_FOUND");
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(data);
        }
    }
}
