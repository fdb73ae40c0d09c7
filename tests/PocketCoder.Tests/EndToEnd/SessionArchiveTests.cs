using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>Archiving a live Claude Code session: it stops, leaves the lists' view, and keeps its history and ledger.</summary>
public sealed class SessionArchiveTests
{
    [Fact]
    public async Task Archive_LiveSession_StopsIt_TellsEveryDevice_KeepsHistory_Unarchive_BringsItBack()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.Text("Hello."));
        var sessionId = await world.StartSessionAsync("say hello");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");

        var archived = await world.Http.PostOkAsync($"/api/sessions/{sessionId}/archive", new { });
        Assert.Equal("stopped", archived.GetProperty("status").GetString());
        Assert.NotEqual(JsonValueKind.Null, archived.GetProperty("archivedAt").ValueKind);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == "archived");

        // Kept whole: listed (marked), its events readable, its messages refused like any stopped session's.
        var listed = (await world.Http.GetOkAsync("/api/sessions")).EnumerateArray().Single(s => s.GetProperty("id").GetString() == sessionId);
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("archivedAt").ValueKind);
        await using (var replay = await world.EventsAsync(sessionId, lastEventId: "0"))
        {
            await replay.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Hello.");
        }

        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text = "again" }),
            HttpStatusCode.Conflict, "SESSION_NOT_ACTIVE");

        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=500")).GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("subject").GetString() == sessionId).Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["session.stopped", "session.archived"], ledger.Where(a => a is "session.stopped" or "session.archived"));

        var back = await world.Http.PostOkAsync($"/api/sessions/{sessionId}/unarchive", new { });
        Assert.Equal(JsonValueKind.Null, back.GetProperty("archivedAt").ValueKind);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == "unarchived");

        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync("/api/sessions/no-such-session/archive", new { }), HttpStatusCode.NotFound, "SESSION_NOT_FOUND");
    }
}
