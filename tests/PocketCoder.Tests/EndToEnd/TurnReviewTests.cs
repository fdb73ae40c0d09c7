using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Each turn's changes, for review: what the REAL Claude Code CLI changed in the project during one turn (and nothing
/// the owner changed between turns), and a verdict that goes back to the agent as a message.
/// </summary>
public sealed class TurnReviewTests
{
    [Fact]
    public async Task TurnChanges_AreExactlyWhatTheTurnChanged_AndAReviewReachesTheAgent()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("Bash", new { command = "printf 'changed\\n' > README.md && printf 'new\\n' > new.txt", description = "Edit" }),
            ScriptedReply.Text("Done."),
            ScriptedReply.Text("Nothing to do."),
            ScriptedReply.Text("Will add a heading."));
        var sessionId = await world.StartSessionAsync("edit the readme", mode: "trusted");
        await using var events = await world.EventsAsync(sessionId, lastEventId: "0");
        var first = await events.WaitForAsync("turn.changes");
        Assert.Equal(1, first.Json.GetProperty("turn").GetInt32());
        Assert.Equal(2, first.Json.GetProperty("filesChanged").GetInt32());

        var changes = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/turns/1");
        Assert.True(changes.GetProperty("finished").GetBoolean());
        var files = changes.GetProperty("files").EnumerateArray()
            .Select(f => (f.GetProperty("path").GetString(), f.GetProperty("status").GetString(), f.GetProperty("added").GetInt32(), f.GetProperty("deleted").GetInt32()))
            .ToList();
        Assert.Equal([("README.md", "M", 1, 1), ("new.txt", "A", 1, 0)], files);
        Assert.Contains("-# test project\n+changed", changes.GetProperty("diff").GetString());

        // What the owner does between turns is not the next turn's doing.
        await File.WriteAllTextAsync(Path.Combine(world.Repository, "mine.txt"), "owner\n");
        await world.SendAsync(sessionId, "anything else?");
        var second = await events.WaitForAsync(e => e.Event == "turn.changes" && e.Id > first.Id);
        Assert.Equal(2, second.Json.GetProperty("turn").GetInt32());
        Assert.Equal(0, second.Json.GetProperty("filesChanged").GetInt32());
        Assert.Empty((await world.Http.GetOkAsync($"/api/sessions/{sessionId}/turns/2")).GetProperty("files").EnumerateArray());

        // The verdict: ledgered, and sent to the agent as the owner's next message.
        var review = await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/turns/1/review", new { verdict = "changes", message = "Keep the heading." });
        Assert.Equal(HttpStatusCode.Accepted, review.StatusCode);
        var reply = await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Will add a heading.");
        await events.WaitForAsync(e => e.Event == "turn.changes" && e.Id > reply.Id);
        Assert.Contains(world.Model.Requests, r => r.LastUserText().Contains("want these changed:\n\nKeep the heading.", StringComparison.Ordinal));
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()
            .Single(e => e.GetProperty("action").GetString() == "turn.reviewed");
        Assert.Equal("changes", ledger.GetProperty("detail").GetProperty("verdict").GetString());

        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/turns/1/review", new { verdict = "changes" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/turns/1/review", new { verdict = "ship it" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/sessions/{sessionId}/turns/99"), HttpStatusCode.NotFound, "TURN_NOT_FOUND");

        // The owner's own staging area and git folder are as they were: the snapshots used an index of their own.
        Assert.Empty(PocketCoder.Tests.Workspace.WorkspaceWorld.Git(world.Repository, "diff", "--cached", "--name-only").Trim());
        Assert.Empty(Directory.GetFiles(Path.Combine(world.Repository, ".git"), "pocketcoder-snapshot-*"));
    }
}
