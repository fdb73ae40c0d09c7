using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

public sealed class RestartTests
{
    [Fact]
    public async Task ServerRestart_WithPendingApproval_InterruptedThenResumesConversation()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo a > a.txt", description = "Write a" }));
        var sessionId = await world.StartSessionAsync("remember the word PELICAN, then write a.txt");
        long seqBeforeRestart;
        string approvalId;
        await using (var events = await world.EventsAsync(sessionId))
        {
            approvalId = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;
            seqBeforeRestart = events.Received[^1].Id;
        }

        await world.RestartServerAsync();

        var session = await world.SessionAsync(sessionId);
        Assert.Equal("interrupted", session.GetProperty("status").GetString());
        var approval = await world.Http.GetOkAsync($"/api/approvals/{approvalId}");
        Assert.Equal("interrupted", approval.GetProperty("status").GetString());
        Assert.Equal(0, (await world.Http.GetOkAsync("/api/approvals?status=pending")).GetArrayLength());
        Assert.False(File.Exists(Path.Combine(world.Repository, "a.txt")));

        // Everything recorded before the restart is still there, in order, with the interruption after it.
        await using var replay = await world.EventsAsync(sessionId);
        var settled = await replay.WaitForAsync(e => e.Event == "approval.resolved");
        Assert.Equal("interrupted", settled.Str("status"));
        Assert.Equal(Enumerable.Range(1, (int)settled.Id).Select(i => (long)i), replay.Received.Select(e => e.Id));
        Assert.True(settled.Id > seqBeforeRestart);

        // Resume brings the agent back with its own conversation.
        world.Model.Enqueue(ScriptedReply.Text("The word was PELICAN."));
        var resumed = await world.Http.PostAsync($"/api/sessions/{sessionId}/resume", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, resumed.StatusCode);
        await world.SendAsync(sessionId, "What was the word?");
        await replay.WaitForAsync("turn.completed");
        var request = world.Model.Requests[^1];
        Assert.Contains("PELICAN", request.Body.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
        // The session goes idle as the turn ends, in its own event (a GET at once may still see it running). The resume's own
        // "idle" came before the turn's "running": only an idle after that running is the turn's end.
        var turnBegan = replay.Received.Last(e => e.Event == "session.status" && e.Str("status") == "running").Id;
        if (!replay.Received.Any(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > turnBegan))
        {
            await replay.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > turnBegan);
        }

        // Seen once in a loaded full run as "failed" after the turn: the session's errors say why, if it happens again.
        var status = (await world.SessionAsync(sessionId)).GetProperty("status").GetString();
        Assert.True(status == "idle", $"status {status}; {string.Join("; ", replay.Received.Where(e => e.Event is "session.error" or "session.status").Select(e => e.Data))}");
    }

    [Fact]
    public async Task ServerRestart_IdleSession_NextMessageResumesTransparently()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.Text("Noted: the colour is TEAL."));
        var sessionId = await world.StartSessionAsync("remember the colour TEAL");
        await using (var events = await world.EventsAsync(sessionId))
        {
            await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > 3);
        }

        await world.RestartServerAsync();
        Assert.Equal("idle", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());

        world.Model.Enqueue(ScriptedReply.Text("TEAL."));
        await using var after = await world.EventsAsync(sessionId);
        await world.SendAsync(sessionId, "Which colour?");
        await after.WaitForAsync("turn.completed");
        Assert.Contains("TEAL", world.Model.Requests[^1].Body.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
    }
}
