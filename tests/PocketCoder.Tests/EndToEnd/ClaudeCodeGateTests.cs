using System.Net;
using FakeLlm;
using PocketCoder.Cli;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// The foundation, tried as a new user would: pair, add a repository, let the REAL Claude Code CLI
/// ask to run commands, and decide from the phone.
/// </summary>
public sealed class ClaudeCodeGateTests
{
    [Fact]
    public async Task ClaudeSession_AllowThenDeny_RunsOnlyWhatTheOwnerAllowed()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("Bash", new { command = "echo hi > made-by-agent.txt", description = "Write a file" }, "I'll write the file."),
            ScriptedReply.Text("The file is written."),
            ScriptedReply.ToolUse("Bash", new { command = "touch never.txt", description = "Touch a file" }),
            ScriptedReply.Text("Understood, I did not touch it."));
        var made = Path.Combine(world.Repository, "made-by-agent.txt");
        var never = Path.Combine(world.Repository, "never.txt");

        var sessionId = await world.StartSessionAsync("Please write hi into made-by-agent.txt");
        await using var events = await world.EventsAsync(sessionId);

        // The agent asks; nothing runs while the question is open.
        var requested = await events.WaitForAsync("approval.requested");
        var approvalId = requested.Str("approvalId")!;
        Assert.Equal("Bash", requested.Str("tool"));
        Assert.Equal("execute", requested.Str("kind"));
        Assert.Equal("echo hi > made-by-agent.txt", requested.Json.GetProperty("input").GetProperty("command").GetString());
        Assert.False(File.Exists(made), "The command ran before anyone allowed it.");
        Assert.Equal("waiting_approval", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());
        var pending = await world.Http.GetOkAsync("/api/approvals?status=pending");
        Assert.Equal(approvalId, Assert.Single(pending.EnumerateArray()).GetProperty("id").GetString());

        var allowed = await world.DecideAsync(approvalId, "allow_once");
        Assert.Equal("decided", (await ApiAssert.OkJsonAsync(allowed)).GetProperty("status").GetString());
        await ApiAssert.ProblemAsync(await world.DecideAsync(approvalId, "deny"), HttpStatusCode.Conflict, "APPROVAL_ALREADY_DECIDED");

        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.False(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        Assert.Equal("hi\n", await File.ReadAllTextAsync(made));
        await events.WaitForAsync("turn.completed");

        // A second command, denied with a message the model sees.
        await world.SendAsync(sessionId, "Now touch never.txt");
        var second = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(second.Str("approvalId")!, "deny", "Not in this repository, please."));
        var denied = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == second.Str("toolCallId"));
        Assert.True(denied.Json.GetProperty("isError").GetBoolean());
        await events.WaitForAsync("turn.completed");
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
        Assert.False(File.Exists(never), "A denied command ran.");
        Assert.Equal("idle", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());
        var modelSaw = world.Model.Requests[^1].LastToolResults();
        Assert.Contains(modelSaw, r => r.IsError && r.Content.Contains("Not in this repository, please.", StringComparison.Ordinal));

        // The whole log, read again from the start, is gapless and holds the story.
        var lastSeq = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await using var replay = await world.EventsAsync(sessionId);
        await replay.WaitForAsync(e => e.Id == lastSeq);
        Assert.Equal(Enumerable.Range(1, (int)lastSeq).Select(i => (long)i), replay.Received.Select(e => e.Id));
        var kinds = replay.Received.Select(e => e.Event).ToHashSet();
        Assert.Superset(new HashSet<string> { "session.status", "message.user", "message.delta", "message", "tool.call", "tool.result", "approval.requested", "approval.resolved", "usage", "turn.completed" }, kinds);

        // Resuming after id 3 starts exactly at 4.
        await using var resumed = await world.EventsAsync(sessionId, lastEventId: "3");
        Assert.Equal(4, (await resumed.NextAsync()).Id);

        // Every decision is in the ledger, and the chain holds until someone edits a row.
        await world.Server.StopAsync();
        var output = new StringWriter();
        Assert.Equal(0, await CommandLine.RunAsync(["ledger", "verify", "--data", world.Server.DataDirectory], output, new StringWriter()));
        Assert.Matches(@"^ok \d+ entries", output.ToString());
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(world.Server.DataDirectory, "pocketcoder.db")};Pooling=False"))
        {
            db.Open();
            using var tamper = db.CreateCommand();
            tamper.CommandText = "UPDATE ledger SET detail = replace(detail, 'allow_once', 'deny') WHERE action = 'approval.decided'";
            Assert.True(tamper.ExecuteNonQuery() > 0);
        }

        var error = new StringWriter();
        Assert.Equal(1, await CommandLine.RunAsync(["ledger", "verify", "--data", world.Server.DataDirectory], new StringWriter(), error));
        Assert.Contains("altered", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClaudeSubagent_ShellCallWaitsOnTheOwner_AndShowsUnderItsTask()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var made = Path.Combine(world.Repository, "made-by-subagent.txt");
        string? delegateTool = null;
        world.Model.Enqueue(
            // Claude Code names its delegating tool Agent (Task before 2.1): whichever this CLI offers.
            ScriptedReply.Answering(request =>
            {
                delegateTool = request.ToolNames.FirstOrDefault(name => name is "Agent" or "Task");
                return ScriptedReply.ToolUse(delegateTool ?? "Agent", new
                {
                    description = "Write the file",
                    prompt = "Write sub into made-by-subagent.txt",
                    subagent_type = "general-purpose",
                    run_in_background = false,
                });
            }),
            // The subagent's own requests: a shell call, then its report.
            ScriptedReply.ToolUse("Bash", new { command = "echo sub > made-by-subagent.txt", description = "Write a file" }),
            ScriptedReply.Text("The subagent wrote the file."),
            ScriptedReply.Text("My subagent wrote the file."));

        var sessionId = await world.StartSessionAsync("Delegate writing made-by-subagent.txt");
        await using var events = await world.EventsAsync(sessionId);

        var started = await events.WaitForAsync(e => e.Event == "tool.call" && e.Str("tool") is "Agent" or "Task");
        Assert.NotNull(delegateTool);
        Assert.Equal(delegateTool, started.Str("tool"));
        Assert.Null(started.Str("parentToolCallId"));
        var parent = started.Str("toolCallId");

        // Starting a subagent is a call like any other: put to the owner.
        var delegating = await events.WaitForAsync("approval.requested");
        Assert.Equal(parent, delegating.Str("toolCallId"));
        Assert.Null(delegating.Str("parentToolCallId"));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(delegating.Str("approvalId")!, "allow_once"));

        // The subagent's shell call is put to the owner, named as the subagent's, and does not run until allowed.
        var requested = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("tool") == "Bash");
        Assert.Equal("Bash", requested.Str("tool"));
        Assert.Equal(parent, requested.Str("parentToolCallId"));
        var running = events.Received.Single(e => e.Event == "task.status");
        Assert.Equal((parent, "running", "local_agent", "Write the file"), (running.Str("toolCallId"), running.Str("status"), running.Str("taskType"), running.Str("description")));
        var call = events.Received.Single(e => e.Event == "tool.call" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.Equal(parent, call.Str("parentToolCallId"));
        Assert.False(File.Exists(made), "The subagent's command ran before anyone allowed it.");
        // The inbox, which reads the approvals list and no session log, names the subagent as the session's card does.
        var listed = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().Single(a => a.GetProperty("id").GetString() == requested.Str("approvalId"));
        var startedBy = events.Received.Single(e => e.Event == "tool.call" && e.Str("toolCallId") == parent);
        Assert.Equal((parent, startedBy.Str("title")), (listed.GetProperty("parentToolCallId").GetString(), listed.GetProperty("askedBy").GetString()));
        Assert.False(string.IsNullOrEmpty(startedBy.Str("title")));
        Assert.Equal("waiting_approval", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());

        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "allow_once"));
        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.False(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        Assert.Equal("sub\n", await File.ReadAllTextAsync(made));

        // The subagent's report is its Agent call's result; its task ends, and then the turn.
        var done = await events.WaitForAsync(e => e.Event == "task.status" && e.Str("status") != "running");
        Assert.Equal((parent, running.Str("taskId"), "completed"), (done.Str("toolCallId"), done.Str("taskId"), done.Str("status")));
        var report = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == parent);
        Assert.Contains("The subagent wrote the file.", report.Str("content"), StringComparison.Ordinal);
        var reply = await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "My subagent wrote the file.");
        Assert.Null(reply.Str("parentToolCallId"));
        await events.WaitForAsync("turn.completed");

        // A second subagent, stopped on its own while its shell call waits: the call never runs, the turn goes on.
        var never = Path.Combine(world.Repository, "never-by-subagent.txt");
        world.Model.Enqueue(
            ScriptedReply.ToolUse(delegateTool!, new { description = "Touch a file", prompt = "Touch never-by-subagent.txt", subagent_type = "general-purpose", run_in_background = false }),
            ScriptedReply.ToolUse("Bash", new { command = "touch never-by-subagent.txt", description = "Touch a file" }),
            ScriptedReply.Text("The subagent was stopped."));
        await world.SendAsync(sessionId, "Delegate touching never-by-subagent.txt");
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("tool") == delegateTool);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(second.Str("approvalId")!, "allow_once"));
        var secondTask = await events.WaitForAsync(e => e.Event == "task.status" && e.Str("toolCallId") == second.Str("toolCallId"));
        var waiting = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("tool") == "Bash");
        Assert.Equal(second.Str("toolCallId"), waiting.Str("parentToolCallId"));
        await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{sessionId}/tasks/{running.Str("taskId")}/stop", null),
            HttpStatusCode.Conflict, "AGENT_TASK_NOT_RUNNING");
        Assert.Equal(HttpStatusCode.Accepted, (await world.Http.PostAsync($"/api/sessions/{sessionId}/tasks/{secondTask.Str("taskId")}/stop", null)).StatusCode);
        // Claude withdraws the stopped subagent's question, then says the task stopped.
        var withdrawn = await events.WaitForAsync(e => e.Event == "approval.resolved" && e.Str("approvalId") == waiting.Str("approvalId"));
        Assert.Equal("cancelled", withdrawn.Str("status"));
        var stopped = await events.WaitForAsync(e => e.Event == "task.status" && e.Str("taskId") == secondTask.Str("taskId") && e.Str("status") != "running");
        Assert.Equal("stopped", stopped.Str("status"));
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > stopped.Id);
        Assert.False(File.Exists(never), "The stopped subagent's command ran.");
        var ledger = (await world.Http.GetOkAsync("/api/ledger")).GetProperty("entries").EnumerateArray()
            .Select(e => (Action: e.GetProperty("action").GetString(), Subject: e.GetProperty("subject").GetString(), Actor: e.GetProperty("actor").GetString()));
        Assert.Contains(("session.task_stopped", sessionId, "test phone"), ledger);
    }
}
