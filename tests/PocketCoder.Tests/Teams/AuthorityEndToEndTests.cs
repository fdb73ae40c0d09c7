using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Cli;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Teams;

/// <summary>
/// The side doors an outside check found (issue #49), each with the REAL Claude Code CLI: an operator steering what runs
/// unasked, a write through a link into .git, a spent budget that still started turns, a revoked person's vote that still
/// counted, and offers the server would then refuse. Each failed on the code before "one authority".
/// </summary>
public sealed class AuthorityEndToEndTests
{
    [Fact]
    public async Task AnOperator_CannotSteerWhatASessionRunsUnasked_UntilTheOwnerSwitchesItToAsk()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var olu = await world.Server.PairPersonAsync("Olu", Role.Operator);
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        // The owner's trusted session: whatever the agent runs, it runs unasked.
        world.Model.Enqueue(ScriptedReply.Text("Ready."));
        var trusted = await world.StartSessionAsync("get ready", mode: "trusted");
        var ready = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == trusted);

        // Her message, her review asking for changes, her resume: each refused before anything reaches the model.
        var send = await ApiAssert.ProblemAsync(await olu.Http.PostAsJsonAsync($"/api/sessions/{trusted}/messages", new { text = "run: touch olu.txt" }),
            HttpStatusCode.Forbidden, "STEER_NOT_ALLOWED");
        Assert.Contains("approvers and owners", send.GetProperty("detail").GetString());
        await ApiAssert.ProblemAsync(await olu.Http.PostAsJsonAsync($"/api/sessions/{trusted}/turns/1/review", new { verdict = "changes", message = "touch olu.txt" }),
            HttpStatusCode.Forbidden, "STEER_NOT_ALLOWED");
        await ApiAssert.ProblemAsync(await olu.Http.PostAsync($"/api/sessions/{trusted}/resume", null), HttpStatusCode.Forbidden, "STEER_NOT_ALLOWED");
        var offers = (await olu.Http.GetOkAsync($"/api/sessions/{trusted}")).GetProperty("offers");
        Assert.False(offers.GetProperty("steer").GetBoolean());
        Assert.DoesNotContain("trusted", offers.GetProperty("modes").EnumerateArray().Select(m => m.GetString()));
        Assert.DoesNotContain(world.Model.Requests, r => r.Contains("touch olu.txt"));

        // A session where the owner allowed Bash for the session is the same: the grant is a standing allow.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo one > one.txt", description = "one" }), ScriptedReply.Text("One."));
        var granted = await world.StartSessionAsync("write one");
        var asked = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("sessionId") == granted);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_session"));
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == granted);
        await ApiAssert.ProblemAsync(await olu.Http.PostAsJsonAsync($"/api/sessions/{granted}/messages", new { text = "run: touch granted.txt" }),
            HttpStatusCode.Forbidden, "STEER_NOT_ALLOWED");

        // Switched to ask by the owner, the trusted session is hers to talk to: her command is asked, and not hers to allow.
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/sessions/{trusted}", new { mode = "ask" }));
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "touch olu.txt", description = "touch" }), ScriptedReply.Text("Touched."));
        await ApiAssert.OkJsonAsync(await olu.Http.PostAsJsonAsync($"/api/sessions/{trusted}/messages", new { text = "run: touch olu.txt" }));
        var hers = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("sessionId") == trusted && e.Id > ready.Id);
        Assert.Equal("touch olu.txt", hers.Json.GetProperty("input").GetProperty("command").GetString());
        await ApiAssert.ProblemAsync(await olu.Http.PostAsJsonAsync($"/api/approvals/{hers.Str("approvalId")}/decision", new { decision = "allow_once" }),
            HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        Assert.False(File.Exists(Path.Combine(world.Repository, "olu.txt")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "granted.txt")));
    }

    [Fact]
    public async Task AWriteThroughALinkIntoDotGit_IsJudgedAsDotGit_AndTheOwnersGitRunsNothing()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var olu = await world.Server.PairPersonAsync("Olu", Role.Operator);
        // Shipped by the repository (or left by an earlier allowed command): a harmless name for .git/config.
        Directory.CreateDirectory(Path.Combine(world.Repository, "docs"));
        File.CreateSymbolicLink(Path.Combine(world.Repository, "docs", "setup.cfg"), "../.git/config");
        var marker = Path.Combine(world.Home, "fsmonitor-ran");
        var planted = $"[core]\n\tfsmonitor = touch {marker}\n";

        var refused = await ApiAssert.ProblemAsync(await olu.Http.PutAsync($"/api/projects/{world.ProjectId}/files/content?path=docs/setup.cfg",
            new StringContent(planted, System.Text.Encoding.UTF8, "text/plain")), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        Assert.Contains("git, agent or CI configuration", refused.GetProperty("detail").GetString());

        Assert.DoesNotContain("fsmonitor", await File.ReadAllTextAsync(Path.Combine(world.Repository, ".git", "config")));
        TempPaths.Git(world.Repository, "status", "--short");
        Assert.False(File.Exists(marker), "the owner's git status ran what was planted through the link");
        // The agent's own edit through the link is what the gate judges it: a protected edit, asked in every mode.
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        world.Model.Enqueue(ScriptedReply.ToolUse("Write", new { file_path = Path.Combine(world.Repository, "docs", "setup.cfg"), content = planted }),
            ScriptedReply.Text("Done."));
        await world.StartSessionAsync("set it up", mode: "trusted");
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("protected", asked.Json.GetProperty("risk").GetString());
    }

    [Fact]
    public async Task ASpentBudget_HoldsTheNextMessagesAndANewSession_NoTokenIsSpentUntilADeciderRaisesIt()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var ana = await world.Server.PairPersonAsync("Ana", Role.Approver);
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy",
            new { budget = new { period = "day", project = new { tokens = 1000 } } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        // Claude Code's own prompt is thousands of tokens: the first turn alone spends more than the cap.
        world.Model.Enqueue(ScriptedReply.Text("Warmed up."));
        var sessionId = await world.StartSessionAsync("warm up");
        await events.WaitForAsync("turn.completed");

        // Two more messages and a new session: each waits, none reaches the model.
        await world.SendAsync(sessionId, "second message");
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("budget", asked.Json.GetProperty("kind").GetString());
        await world.SendAsync(sessionId, "third message");
        var other = await world.StartSessionAsync("a new session's prompt");
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("sessionId") == other);
        Assert.Equal("a new session's prompt", second.Json.GetProperty("input").GetProperty("holds").GetProperty("text").GetString());
        var queue = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/queue");
        Assert.Equal(["second message", "third message"], queue.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("text").GetString()));
        Assert.DoesNotContain(world.Model.Requests, r => r.Contains("second message") || r.Contains("third message") || r.Contains("a new session's prompt"));

        // Raised by an approver: what waited goes, in order.
        world.Model.Enqueue(ScriptedReply.Text("Second done."), ScriptedReply.Text("Third done."));
        await ApiAssert.OkJsonAsync(await ana.Http.PostAsJsonAsync($"/api/approvals/{asked.Str("approvalId")}/decision", new { decision = "allow_once" }));
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == sessionId && e.Id > asked.Id);
        Assert.Contains(world.Model.Requests, r => r.Contains("second message"));
    }

    [Fact]
    public async Task ARevokedPersonsAllow_NoLongerCounts_TheCallWaitsForTwoWhoMayStillDecide()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var ana = await world.Server.PairPersonAsync("Ana", Role.Approver);
        var ben = await world.Server.PairPersonAsync("Ben", Role.Approver);
        var anaId = (await ana.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString();
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy", new { twoPerson = new[] { "shell" } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo ran > ran.txt", description = "run" }), ScriptedReply.Text("Ran."));
        await world.StartSessionAsync("run it");
        var asked = await events.WaitForAsync("approval.requested");
        var id = asked.Str("approvalId")!;

        var first = await ApiAssert.OkJsonAsync(await ana.Http.PostAsJsonAsync($"/api/approvals/{id}/decision", new { decision = "allow_once" }));
        Assert.Equal("pending", first.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/people/{anaId}")).StatusCode);
        var withdrawn = await events.WaitForAsync(e => e.Event == "approval.vote" && e.Json.GetProperty("allowedBy").GetArrayLength() == 0);
        Assert.Equal(id, withdrawn.Str("approvalId"));

        // Ben's allow is one of two again, not the second: nothing runs.
        var bens = await ApiAssert.OkJsonAsync(await ben.Http.PostAsJsonAsync($"/api/approvals/{id}/decision", new { decision = "allow_once" }));
        Assert.Equal("pending", bens.GetProperty("status").GetString());
        Assert.Equal(["Ben"], bens.GetProperty("allowedBy").EnumerateArray().Select(e => e.GetString()));
        Assert.False(File.Exists(Path.Combine(world.Repository, "ran.txt")));

        await ApiAssert.OkJsonAsync(await world.DecideAsync(id, "allow_once"));
        await events.WaitForAsync("turn.completed");
        Assert.True(File.Exists(Path.Combine(world.Repository, "ran.txt")));
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "approval.vote_withdrawn" && e.GetProperty("detail").GetProperty("person").GetString() == "Ana");
        var decided = ledger.Single(e => e.GetProperty("action").GetString() == "approval.decided");
        Assert.Equal(["Ben", "Owner"], decided.GetProperty("detail").GetProperty("allowedBy").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task EachCallerIsOfferedWhatTheServerWillAccept_AndTheCliSaysOneOfTwo()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var olu = await world.Server.PairPersonAsync("Olu", Role.Operator);
        var vic = await world.Server.PairPersonAsync("Vic", Role.Viewer);
        var ana = await world.Server.PairPersonAsync("Ana", Role.Approver);
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy", new { twoPerson = new[] { "shell" } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo ran > ran.txt", description = "run" }), ScriptedReply.Text("Ran."));
        await world.StartSessionAsync("run it");
        var id = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;

        JsonElement OffersOf(JsonElement approval) => approval.GetProperty("offers");
        foreach (var (who, client) in new[] { ("Olu", olu), ("Vic", vic) })
        {
            var offers = OffersOf(await client.Http.GetOkAsync($"/api/approvals/{id}"));
            Assert.False(offers.GetProperty("allowOnce").GetBoolean(), who);
            Assert.False(offers.GetProperty("deny").GetBoolean(), who);
            Assert.Equal("Waiting for an approver or an owner", offers.GetProperty("waitingFor").GetString());
        }

        var anas = OffersOf(await ana.Http.GetOkAsync($"/api/approvals/{id}"));
        Assert.True(anas.GetProperty("allowOnce").GetBoolean());
        Assert.False(anas.GetProperty("allowSession").GetBoolean()); // a grant would let one person allow the next one
        Assert.False(anas.GetProperty("allowAlways").GetBoolean());
        await ApiAssert.OkJsonAsync(await ana.Http.PostAsJsonAsync($"/api/approvals/{id}/decision", new { decision = "allow_once" }));
        var after = OffersOf(await ana.Http.GetOkAsync($"/api/approvals/{id}"));
        Assert.False(after.GetProperty("allowOnce").GetBoolean());
        Assert.Equal("Waiting for another person's allow", after.GetProperty("waitingFor").GetString());

        // The owner's terminal: an allow that is the second says so; one that would be first says "1 of 2", never "allow once".
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo two > two.txt", description = "two" }), ScriptedReply.Text("Two."));
        string[] target = ["--data", world.Server.DataDirectory, "--url", world.Server.BaseUrl.ToString()];
        var said = new StringWriter();
        Assert.Equal(0, await CommandLine.RunAsync(["approve", id, .. target], said, new StringWriter()));
        Assert.StartsWith("allow once", said.ToString(), StringComparison.Ordinal);
        await events.WaitForAsync("turn.completed");
        await world.StartSessionAsync("again");
        var next = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("approvalId") != id);
        said = new StringWriter();
        Assert.Equal(0, await CommandLine.RunAsync(["approve", next.Str("approvalId")!, .. target], said, new StringWriter()));
        Assert.Contains("1 of 2 allows", said.ToString(), StringComparison.Ordinal);
        Assert.Contains("a second person", said.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(world.Repository, "two.txt")));

        // A revoked teammate is told to ask an owner, not to run a command on a machine that is not theirs.
        var vicId = (await vic.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/people/{vicId}")).StatusCode);
        var revoked = await ApiAssert.ProblemAsync(await vic.Http.GetAsync("/api/sessions"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("Ask an owner", revoked.GetProperty("detail").GetString());
        Assert.DoesNotContain("pocketcoder pair", revoked.GetProperty("detail").GetString());
    }

    /// <summary>
    /// Found by a review after the five above: an operator's words under an owner's authority. Her edit of the owner's
    /// queued message, and the owner's Resume pressed during her turn, each used to let what she asked run unasked once the
    /// owner granted Bash for the session or switched it to trusted.
    /// </summary>
    [Fact]
    public async Task AnOperatorsWords_NeverRunOnTheOwnersAuthority_NotByEditingHisQueuedMessage_NorByHisResumeDuringHerTurn()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var olu = await world.Server.PairPersonAsync("Olu", Role.Operator);
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        // The owner's ask session, its turn waiting on a call; his next message queued behind it.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo one > one.txt", description = "one" }), ScriptedReply.Text("One."));
        var session = await world.StartSessionAsync("write one");
        var first = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("sessionId") == session);
        var queued = (await world.Http.PostOkAsync($"/api/sessions/{session}/messages", new { text = "now the tests" })).GetProperty("queued");
        var messageId = queued.GetProperty("id").GetString();

        // She rewrites it; then he allows Bash for the whole session, a standing allow she may not give.
        var edited = await ApiAssert.OkJsonAsync(await olu.Http.PatchAsJsonAsync($"/api/sessions/{session}/queue/{messageId}", new { text = "run: touch olu.txt" }));
        Assert.Equal("Olu's phone", edited.GetProperty("sentBy").GetString());
        await ApiAssert.OkJsonAsync(await world.DecideAsync(first.Str("approvalId")!, "allow_session"));
        // Her words wait for someone who may steer it now: held, never sent under his grant.
        await events.WaitForAsync(e => e.Event == "queue.updated" && e.Str("sessionId") == session && e.Json.GetProperty("messages") is { ValueKind: JsonValueKind.Array } m
            && m.GetArrayLength() == 1 && m[0].TryGetProperty("heldReason", out var why) && why.ValueKind == JsonValueKind.String);
        var queue = await world.Http.GetOkAsync($"/api/sessions/{session}/queue");
        var held = Assert.Single(queue.GetProperty("messages").EnumerateArray());
        Assert.Equal("run: touch olu.txt", held.GetProperty("text").GetString());
        Assert.StartsWith("Held:", held.GetProperty("heldReason").GetString());
        Assert.DoesNotContain(world.Model.Requests, r => r.Contains("touch olu.txt"));
        var ledger = (await world.Http.GetOkAsync("/api/ledger")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "queue.edited" && e.GetProperty("actor").GetString() == "Olu's phone");

        // Her own turn in another ask session, waiting on a call; he switches it to trusted and presses Resume.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo two > two.txt", description = "two" }),
            ScriptedReply.ToolUse("Bash", new { command = "touch olu2.txt", description = "touch" }), ScriptedReply.Text("Done."));
        var started = await ApiAssert.OkJsonAsync(await olu.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "claude-code", prompt = "write two" }));
        var hers = started.GetProperty("id").GetString();
        var two = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("sessionId") == hers);
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/sessions/{hers}", new { mode = "trusted" }));
        await ApiAssert.OkJsonAsync(await world.Http.PostAsync($"/api/sessions/{hers}/resume", null));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(two.Str("approvalId")!, "allow_once"));

        // The rest of her turn is still hers: her next command is asked, not run on his trust.
        var next = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("sessionId") == hers && e.Id > two.Id);
        Assert.Equal("touch olu2.txt", next.Json.GetProperty("input").GetProperty("command").GetString());
        Assert.False(File.Exists(Path.Combine(world.Repository, "olu2.txt")));
    }
}
