using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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
        world.Model.Enqueue(ScriptedReply.ToolUse("ExitPlanMode", new { plan }), ScriptedReply.Text("Starting."));
        var sessionId = await world.StartSessionAsync("plan the fix", mode: "plan");
        await using var events = await world.EventsAsync(sessionId);

        var ask = await events.WaitForAsync("approval.requested");
        Assert.Equal("ExitPlanMode", ask.Str("tool"));
        Assert.Contains("Add a failing test", ask.Str("plan"), StringComparison.Ordinal);
        var listed = await world.Http.GetOkAsync($"/api/approvals/{ask.Str("approvalId")}");
        Assert.Contains("Fix the parser", listed.GetProperty("plan").GetString(), StringComparison.Ordinal);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync("turn.completed");
    }

    [Fact]
    public async Task TaskList_CreatedAndUpdated_BecomesPlanEvents()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("TaskCreate", new { subject = "Write the test", description = "A failing test first" }),
            ScriptedReply.ToolUse("TaskCreate", new { subject = "Fix the bug", description = "Then the fix" }),
            ScriptedReply.ToolUse("TaskUpdate", new { taskId = "1", status = "completed" }),
            ScriptedReply.Text("Working through the list."));
        var sessionId = await world.StartSessionAsync("track your work");
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
