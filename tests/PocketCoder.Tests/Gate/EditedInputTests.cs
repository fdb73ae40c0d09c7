using System.Net;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>"Edit, then allow" only where the agent runs the edited input; elsewhere it would approve something else.</summary>
public sealed class EditedInputTests
{
    [Fact]
    public async Task CodexApproval_DecidedWithUpdatedInput_RefusedAndStillPending()
    {
        await using var world = await AgentWorld.CodexAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("exec_command", new { cmd = "touch asked.txt" }),
            ScriptedReply.Text("Understood."));
        var sessionId = await world.StartSessionAsync("touch asked.txt");
        await using var events = await world.EventsAsync(sessionId);

        var requested = await events.WaitForAsync("approval.requested");
        Assert.False(requested.Json.GetProperty("canEditInput").GetBoolean());
        var approvalId = requested.Str("approvalId")!;
        var listed = Assert.Single((await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray());
        Assert.False(listed.GetProperty("canEditInput").GetBoolean());

        await ApiAssert.ProblemAsync(await world.DecideAsync(approvalId, "allow_once", updatedInput: new { command = "touch other.txt" }),
            HttpStatusCode.UnprocessableEntity, "EDITED_INPUT_UNSUPPORTED");

        var approval = await world.Http.GetOkAsync($"/api/approvals/{approvalId}");
        Assert.Equal("pending", approval.GetProperty("status").GetString());
        Assert.DoesNotContain(events.Received, e => e.Event == "approval.resolved");

        // A plain decision still goes through.
        await ApiAssert.OkJsonAsync(await world.DecideAsync(approvalId, "deny", "No."));
        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(Path.Combine(world.Repository, "asked.txt")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "other.txt")));
    }
}
