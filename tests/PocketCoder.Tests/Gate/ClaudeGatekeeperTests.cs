using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FakeLlm;
using PocketCoder.Cli;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>Rules, modes and decisions that matter, each decided against the REAL Claude Code CLI.</summary>
public sealed class ClaudeGatekeeperTests
{
    [Fact]
    public async Task AllowRule_MatchingCommand_RunsWithoutAsking()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "Bash", pattern = "echo *", action = "allow" });
        world.Model.Enqueue(Bash("echo ok > allowed.txt"), ScriptedReply.Text("Done."));

        var sessionId = await world.StartSessionAsync("write allowed.txt");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");

        Assert.Equal("ok\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "allowed.txt")));
        Assert.DoesNotContain(events.Received, e => e.Event == "approval.requested");
        var ledger = await LedgerAsync(world);
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "approval.auto_allowed" && e.GetProperty("actor").GetString() == "policy");
    }

    [Fact]
    public async Task DenyRule_InTrustedMode_StillRefused()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "Bash", pattern = "rm *", action = "deny" });
        world.Model.Enqueue(Bash("rm README.md"), Bash("echo trusted > trusted.txt"), ScriptedReply.Text("Done."));

        var sessionId = await world.StartSessionAsync("clean up", mode: "trusted");
        await using var events = await world.EventsAsync(sessionId);
        var refused = await events.WaitForAsync("tool.result");
        await events.WaitForAsync("turn.completed");

        Assert.True(refused.Json.GetProperty("isError").GetBoolean());
        Assert.Contains("rule", refused.Str("content"), StringComparison.OrdinalIgnoreCase);
        Assert.True(File.Exists(Path.Combine(world.Repository, "README.md")), "A command a deny rule forbids ran in trusted mode.");
        Assert.True(File.Exists(Path.Combine(world.Repository, "trusted.txt")), "Trusted mode should allow what no rule denies.");
        Assert.DoesNotContain(events.Received, e => e.Event == "approval.requested");
    }

    [Fact]
    public async Task PlanMode_Edit_RefusedWithReason()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var target = Path.Combine(world.Repository, "planned.txt");
        world.Model.Enqueue(ScriptedReply.ToolUse("Write", new { file_path = target, content = "x\n" }), ScriptedReply.Text("I will only plan."));

        var sessionId = await world.StartSessionAsync("change something", mode: "plan");
        await using var events = await world.EventsAsync(sessionId);
        var refused = await events.WaitForAsync("tool.result");
        await events.WaitForAsync("turn.completed");

        Assert.True(refused.Json.GetProperty("isError").GetBoolean());
        Assert.Contains("plan mode", refused.Str("content"), StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(target));
        Assert.DoesNotContain(events.Received, e => e.Event == "approval.requested");
    }

    [Fact]
    public async Task TwoPendingApprovals_DecidedInReverseOrder_EachGetsItsOwnDecision()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(Bash("echo first > first.txt"));
        var first = await world.StartSessionAsync("first");
        await using var firstEvents = await world.EventsAsync(first);
        var firstAsk = await firstEvents.WaitForAsync("approval.requested");

        world.Model.Enqueue(Bash("echo second > second.txt"));
        var second = await world.StartSessionAsync("second");
        await using var secondEvents = await world.EventsAsync(second);
        var secondAsk = await secondEvents.WaitForAsync("approval.requested");

        var pending = await world.Http.GetOkAsync("/api/approvals?status=pending");
        Assert.Equal(2, pending.GetArrayLength());

        world.Model.Enqueue(ScriptedReply.Text("second done"), ScriptedReply.Text("first refused"));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(secondAsk.Str("approvalId")!, "allow_once"));
        await secondEvents.WaitForAsync("turn.completed");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(firstAsk.Str("approvalId")!, "deny", "Not the first one."));
        await firstEvents.WaitForAsync("turn.completed");

        Assert.True(File.Exists(Path.Combine(world.Repository, "second.txt")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "first.txt")));
        Assert.Equal(0, (await world.Http.GetOkAsync("/api/approvals?status=pending")).GetArrayLength());
    }

    [Fact]
    public async Task ProjectTimeout_NoDecision_DeniedVisiblyByTimeout()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.ClaudeAsync(clock);
        var patched = await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { approvalTimeoutSeconds = 30 }));
        Assert.Equal(30, patched.GetProperty("approvalTimeoutSeconds").GetInt32());
        world.Model.Enqueue(Bash("echo late > late.txt"), ScriptedReply.Text("Timed out."));

        var sessionId = await world.StartSessionAsync("write late.txt");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("approval.requested");
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(1, (await world.Http.GetOkAsync("/api/approvals?status=pending")).GetArrayLength());
        clock.Advance(TimeSpan.FromSeconds(2));

        var resolved = await events.WaitForAsync("approval.resolved");
        Assert.Equal("deny", resolved.Str("decision"));
        Assert.Equal("timeout", resolved.Str("decidedBy"));
        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(Path.Combine(world.Repository, "late.txt")));
        Assert.Contains(await LedgerAsync(world), e => e.GetProperty("actor").GetString() == "timeout" && e.GetProperty("action").GetString() == "approval.decided");
    }

    [Fact]
    public async Task AllowWithEditedInput_RunsTheEditedCommand_LedgerKeepsBoth_ResolvedEventTitlesTheEdit()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(Bash("echo original > original.txt"), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("write a file");
        await using var events = await world.EventsAsync(sessionId);
        var ask = await events.WaitForAsync("approval.requested");

        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_once",
            updatedInput: new { command = "echo edited > edited.txt", description = "Write a file" }));
        // The tool row shows what ran: the event gives the edit's title as Claude's tool would be titled.
        var resolved = await events.WaitForAsync("approval.resolved");
        Assert.Equal("echo edited > edited.txt", resolved.Str("updatedTitle"));
        await events.WaitForAsync("turn.completed");

        Assert.True(File.Exists(Path.Combine(world.Repository, "edited.txt")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "original.txt")));
        var decided = Assert.Single(await LedgerAsync(world), e => e.GetProperty("action").GetString() == "approval.decided");
        Assert.Equal("echo original > original.txt", decided.GetProperty("detail").GetProperty("input").GetProperty("command").GetString());
        Assert.Equal("echo edited > edited.txt", decided.GetProperty("detail").GetProperty("updatedInput").GetProperty("command").GetString());
    }

    [Fact]
    public async Task AllowForSession_SameToolAgain_RunsWithoutAsking()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(Bash("echo one > one.txt"), Bash("echo two > two.txt"), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("write two files");
        await using var events = await world.EventsAsync(sessionId);
        var ask = await events.WaitForAsync("approval.requested");

        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_session"));
        await events.WaitForAsync("turn.completed");

        Assert.True(File.Exists(Path.Combine(world.Repository, "two.txt")));
        Assert.Single(events.Received, e => e.Event == "approval.requested");
    }

    [Fact]
    public async Task AllowAlways_AddsVisibleRule_NextSessionRunsWithoutAsking()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(Bash("echo again >> again.txt"), ScriptedReply.Text("Done."));
        var first = await world.StartSessionAsync("append");
        await using var firstEvents = await world.EventsAsync(first);
        var ask = await firstEvents.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_always"));
        await firstEvents.WaitForAsync("turn.completed");

        var rule = Assert.Single((await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/rules")).EnumerateArray());
        Assert.Equal("Bash", rule.GetProperty("tool").GetString());
        Assert.Equal("allow", rule.GetProperty("action").GetString());

        world.Model.Enqueue(Bash("echo again >> again.txt"), ScriptedReply.Text("Done again."));
        var second = await world.StartSessionAsync("append again");
        await using var secondEvents = await world.EventsAsync(second);
        await secondEvents.WaitForAsync("turn.completed");
        Assert.DoesNotContain(secondEvents.Received, e => e.Event == "approval.requested");
        Assert.Equal("again\nagain\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "again.txt")));

        // A different command is not covered by the remembered one.
        world.Model.Enqueue(Bash("echo other > other.txt"));
        var third = await world.StartSessionAsync("something else");
        await using var thirdEvents = await world.EventsAsync(third);
        await thirdEvents.WaitForAsync("approval.requested");
    }

    [Fact]
    public async Task ExitPlanMode_ApprovalCarriesThePlan()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        const string plan = "1. Add a failing test\n2. Fix the parser";
        // As Claude Code asks since 2.1: the plan written to the plan file its prompt names (made up for each conversation), then
        // ExitPlanMode without it; Claude hands the file's text to the permission prompt.
        world.Model.Enqueue(
            ScriptedReply.Answering(request => ScriptedReply.ToolUse("Write", new { file_path = PlanFile(request), content = plan })),
            ScriptedReply.ToolUse("ExitPlanMode", new { }),
            ScriptedReply.Text("Starting."));
        var sessionId = await world.StartSessionAsync("plan the fix", mode: "plan");
        await using var events = await world.EventsAsync(sessionId);

        // Writing the plan is the agent's own note, not an edit plan mode refuses: allowed by the gatekeeper, and ledgered.
        var ask = await events.WaitForAsync("approval.requested");
        Assert.Equal("ExitPlanMode", ask.Str("tool"));
        Assert.Contains(await LedgerAsync(world), e => e.GetProperty("action").GetString() == "approval.auto_allowed" && e.ToString().Contains("Write", StringComparison.Ordinal));
        Assert.Contains("Add a failing test", ask.Str("plan"), StringComparison.Ordinal);
        var listed = await world.Http.GetOkAsync($"/api/approvals/{ask.Str("approvalId")}");
        Assert.Contains("Fix the parser", listed.GetProperty("plan").GetString(), StringComparison.Ordinal);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync("turn.completed");
    }

    [Fact]
    public async Task ToolSearch_LoadsATool_UnaskedButLedgered_TheToolItLoadsIsAsked_ADenyRuleStopsTheSearch()
    {
        // Claude Code 2.1.332 offers most tools by name only: the model loads their schemas with ToolSearch, then calls them.
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("ToolSearch", new { query = "select:WebFetch" }),
            ScriptedReply.ToolUse("WebFetch", new { url = "https://example.test/notes", prompt = "Summarise" }),
            ScriptedReply.Text("Fetched."));
        var sessionId = await world.StartSessionAsync("read the notes");
        await using var events = await world.EventsAsync(sessionId);
        Assert.Contains("ToolSearch", (await FirstScriptedRequestAsync(world)).ToolNames);

        var ask = await events.WaitForAsync("approval.requested");
        Assert.Equal("WebFetch", ask.Str("tool"));
        Assert.Contains("WebFetch", world.Model.Requests.Last(r => r.ConsumedScript).ToolNames); // loaded by the search
        Assert.Contains(await LedgerAsync(world), e => e.GetProperty("action").GetString() == "approval.auto_allowed" && e.ToString().Contains("ToolSearch", StringComparison.Ordinal));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "deny"));
        var first = await events.WaitForAsync("turn.completed");

        // The owner's deny rule beats it, as any rule does bookkeeping.
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "ToolSearch", pattern = "*", action = "deny" });
        world.Model.Enqueue(ScriptedReply.ToolUse("ToolSearch", new { query = "select:WebSearch" }), ScriptedReply.Text("Fine."));
        await world.SendAsync(sessionId, "search again");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > first.Id);
        Assert.Contains(await LedgerAsync(world), e => e.GetProperty("action").GetString() == "approval.auto_denied" && e.ToString().Contains("ToolSearch", StringComparison.Ordinal));
        Assert.DoesNotContain("WebSearch", world.Model.Requests.Last(r => r.ConsumedScript).ToolNames);
    }

    [Fact]
    public async Task ListAgents_ReachesOtherSessions_SoTheOwnerIsAsked()
    {
        // A 2.1.332 tool that lists the other Claude sessions of the machine (and the owner's cloud ones) to message them.
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("ListAgents", new { }), ScriptedReply.Text("Nobody else."));
        var sessionId = await world.StartSessionAsync("who else is working?");
        await using var events = await world.EventsAsync(sessionId);
        Assert.Contains("ListAgents", (await FirstScriptedRequestAsync(world)).OfferedToolNames);

        var ask = await events.WaitForAsync("approval.requested");
        Assert.Equal("ListAgents", ask.Str("tool"));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "deny"));
        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == ask.Str("toolCallId"));
        Assert.True(result.Json.GetProperty("isError").GetBoolean());
        await events.WaitForAsync("turn.completed");
        // A deny without a reason: the agent is told in plain words, and no device shows those words as if the owner typed them (#51).
        Assert.Contains("The owner denied this ListAgents call.", result.Str("content"), StringComparison.Ordinal);
        Assert.Null(events.Received.Single(e => e.Event == "approval.resolved").Str("message"));
        var decided = await world.Http.GetOkAsync($"/api/approvals/{ask.Str("approvalId")}");
        Assert.True(!decided.TryGetProperty("message", out var typed) || typed.ValueKind == JsonValueKind.Null, $"the approval keeps {typed} as the owner's words");
    }

    private static async Task<RecordedRequest> FirstScriptedRequestAsync(AgentWorld world)
    {
        using var timeout = new CancellationTokenSource(SseClient.DefaultWait);
        return await world.Model.WaitForRequestAsync(r => r.ConsumedScript, timeout.Token);
    }

    /// <summary>The plan file Claude Code's plan-mode prompt tells the model to write.</summary>
    private static string PlanFile(RecordedRequest request) =>
        Regex.Match(request.Body.GetRawText(), @"(?:create your plan at|plan file already exists at) (/[^\s""\\]+\.md)") is { Success: true } found
            ? found.Groups[1].Value
            : throw new InvalidOperationException("The request names no plan file.");

    [Fact]
    public async Task TaskList_CreatedAndUpdated_BecomesPlanEvents()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("TaskCreate", new { subject = "Write the test", description = "A failing test first" }),
            ScriptedReply.ToolUse("TaskCreate", new { subject = "Fix the bug", description = "Then the fix" }),
            ScriptedReply.ToolUse("TaskUpdate", new { taskId = "1", status = "completed" }),
            ScriptedReply.Text("Working through the list."));
        // Claude Code 2.1.332 offers its task list only to the models that want one, which its default (claude-opus-5-5) is not.
        var sessionId = await world.StartSessionAsync("track your work", model: "claude-sonnet-4-6");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");

        var plans = events.Received.Where(e => e.Event == "plan").ToList();
        Assert.NotEmpty(plans);
        var last = plans[^1].Json.GetProperty("entries").EnumerateArray()
            .Select(e => (e.GetProperty("content").GetString(), e.GetProperty("status").GetString())).ToList();
        Assert.Equal([("Write the test", "completed"), ("Fix the bug", "pending")], last);
    }

    [Fact]
    public async Task ModeChange_MidSession_SharedAndLedgered()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var sessionId = await world.StartSessionAsync("hello");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");

        var patched = await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/sessions/{sessionId}", new { mode = "plan" }));
        Assert.Equal("plan", patched.GetProperty("mode").GetString());
        var changed = await events.WaitForAsync(e => e.Event == "session.status" && e.Str("mode") == "plan");
        Assert.Equal("idle", changed.Str("status"));

        // The mode now governs the live agent: an edit is refused.
        var target = Path.Combine(world.Repository, "after-plan.txt");
        world.Model.Enqueue(ScriptedReply.ToolUse("Write", new { file_path = target, content = "x" }), ScriptedReply.Text("ok"));
        await world.SendAsync(sessionId, "write it");
        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(target));
        Assert.Contains(await LedgerAsync(world), e => e.GetProperty("action").GetString() == "session.mode_changed");
        await ApiAssert.ProblemAsync(await world.Http.PatchAsJsonAsync($"/api/sessions/{sessionId}", new { mode = "yolo" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
    }

    [Fact]
    public async Task Terminal_ListApproveAndDeny_DecideLikeAPhone()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(Bash("echo cli > cli.txt"), ScriptedReply.Text("Done."), Bash("echo no > no.txt"), ScriptedReply.Text("Fine."));
        var sessionId = await world.StartSessionAsync("from the terminal");
        await using var events = await world.EventsAsync(sessionId);
        var ask = await events.WaitForAsync("approval.requested");
        string[] target = ["--data", world.Server.DataDirectory, "--url", world.Server.BaseUrl.ToString()];

        var listed = new StringWriter();
        Assert.Equal(0, await CommandLine.RunAsync(["approvals", .. target], listed, new StringWriter()));
        Assert.Contains(ask.Str("approvalId")!, listed.ToString(), StringComparison.Ordinal);
        Assert.Contains("echo cli > cli.txt", listed.ToString(), StringComparison.Ordinal);

        Assert.Equal(0, await CommandLine.RunAsync(["approve", ask.Str("approvalId")!, .. target], new StringWriter(), new StringWriter()));
        var resolved = await events.WaitForAsync("approval.resolved");
        Assert.StartsWith("terminal on", resolved.Str("decidedBy"), StringComparison.Ordinal);
        await events.WaitForAsync("turn.completed");
        Assert.True(File.Exists(Path.Combine(world.Repository, "cli.txt")));

        var error = new StringWriter();
        Assert.Equal(1, await CommandLine.RunAsync(["approve", ask.Str("approvalId")!, .. target], new StringWriter(), error));
        Assert.Contains("already", error.ToString(), StringComparison.Ordinal);

        await world.SendAsync(sessionId, "again");
        var second = await events.WaitForAsync("approval.requested");
        Assert.Equal(0, await CommandLine.RunAsync(["deny", second.Str("approvalId")!, "--message", "not now", .. target], new StringWriter(), new StringWriter()));
        var denied = await events.WaitForAsync("tool.result");
        Assert.Contains("not now", denied.Str("content"), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(world.Repository, "no.txt")));
    }

    [Fact]
    public async Task ApprovalOnTheStream_CountsAsDeliveredToThatDevice()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var other = await world.Server.PairAsync("tablet");
        world.Model.Enqueue(Bash("echo d > d.txt"));
        var sessionId = await world.StartSessionAsync("deliver");
        await using var events = await world.EventsAsync(sessionId);
        var ask = await events.WaitForAsync("approval.requested");

        var approval = await other.Http.GetOkAsync($"/api/approvals/{ask.Str("approvalId")}");
        var delivered = approval.GetProperty("deliveredTo").EnumerateArray().Select(d => d.GetString()).ToList();
        Assert.Equal([world.Phone.DeviceId], delivered);

        await other.Http.GetOkAsync("/api/approvals?status=pending");
        approval = await other.Http.GetOkAsync($"/api/approvals/{ask.Str("approvalId")}");
        Assert.Equal(2, approval.GetProperty("deliveredTo").GetArrayLength());
    }

    private static ScriptedReply Bash(string command) => ScriptedReply.ToolUse("Bash", new { command, description = "Run a command" });

    private static async Task<List<JsonElement>> LedgerAsync(AgentWorld world) =>
        [.. (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()];
}
