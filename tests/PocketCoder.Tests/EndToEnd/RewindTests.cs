using System.Net;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Rewinding a session with the REAL Claude Code CLI: the files go back to before the turn (refused while something else changed
/// them), and the conversation goes on from the turn before in a new session, the model seeing the earlier turns and not the later.
/// </summary>
public sealed class RewindTests
{
    [Fact]
    public async Task Claude_ForkFromTurn2_LeavesTheOriginal_RewindToBeforeTurn2_RestoresTheFile_AndTheNextRequestCarriesOnlyTurn1()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("Bash", new { command = "printf 'one\\n' > a.txt", description = "Write one" }),
            ScriptedReply.Text("Wrote one."),
            ScriptedReply.ToolUse("Bash", new { command = "printf 'two\\n' > a.txt", description = "Write two" }),
            ScriptedReply.Text("Wrote two."),
            ScriptedReply.Text("Fork at one."),
            ScriptedReply.Text("Still two."),
            ScriptedReply.Text("Back at one."));
        var (sessionId, events) = await TwoTurnsAsync(world);
        await using var streamed = events;
        var file = Path.Combine(world.Repository, "a.txt");

        // A fork from turn 2: a session on a branch of its own, its files as turn 2 found them, its conversation turn 1's.
        var forkId = (await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/2/fork", new { })).GetProperty("id").GetString()!;
        await using (var branch = await world.EventsAsync(forkId, lastEventId: "0"))
        {
            await branch.WaitForAsync(e => e.Event == "session.preparing" && e.Str("phase") == "ready");
            var worktree = (await world.Http.GetOkAsync($"/api/sessions/{forkId}/worktree")).GetProperty("path").GetString()!;
            Assert.Equal("one\n", await File.ReadAllTextAsync(Path.Combine(worktree, "a.txt")));
            await world.SendAsync(forkId, "which version is this?");
            await branch.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Fork at one.");
        }

        AssertOnlyTurn1(world.Model.Requests.Last(r => r.LastUserText().Contains("which version is this?", StringComparison.Ordinal)));
        // The original is as it was: its files, and its conversation, whose next request carries both turns.
        Assert.Equal("two\n", await File.ReadAllTextAsync(file));
        await world.SendAsync(sessionId, "and the original?");
        await events.WaitForAsync(e => e.Event == "turn.changes" && e.Json.GetProperty("turn").GetInt32() == 3);
        var original = world.Model.Requests.Last(r => r.LastUserText().Contains("and the original?", StringComparison.Ordinal));
        Assert.True(original.Contains("now the second version") && original.Contains("Wrote two."), "The original conversation is whole.");

        // A file changed outside the agent since its last turn: nothing is rewound, and the answer names it.
        var mine = Path.Combine(world.Repository, "mine.txt");
        await File.WriteAllTextAsync(mine, "owner\n");
        var refused = await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{sessionId}/turns/2/rewind", null),
            HttpStatusCode.Conflict, "FILES_CHANGED_SINCE");
        Assert.Equal(["mine.txt"], refused.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("two\n", await File.ReadAllTextAsync(file));
        File.Delete(mine);
        await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{sessionId}/turns/9/rewind", null), HttpStatusCode.NotFound, "TURN_NOT_FOUND");

        var rewound = await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/2/rewind", new { });
        var newId = rewound.GetProperty("id").GetString()!;
        Assert.NotEqual(sessionId, newId);
        Assert.Equal("one\n", await File.ReadAllTextAsync(file));
        Assert.Equal("stopped", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());

        await using var carried = await world.EventsAsync(newId, lastEventId: "0");
        // The earlier turn is the new session's history, as it is its agent's.
        await carried.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Wrote one.");
        await world.SendAsync(newId, "what is in a.txt?");
        await carried.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Back at one.");
        AssertOnlyTurn1(world.Model.Requests.Last(r => r.LastUserText().Contains("what is in a.txt?", StringComparison.Ordinal)));

        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()
            .ToList();
        Assert.Equal(forkId, ledger.Single(e => e.GetProperty("action").GetString() == "session.forked").GetProperty("detail").GetProperty("newSessionId").GetString());
        var rewind = ledger.Single(e => e.GetProperty("action").GetString() == "session.rewound");
        Assert.Equal(newId, rewind.GetProperty("detail").GetProperty("newSessionId").GetString());
        Assert.Equal("forked", rewind.GetProperty("detail").GetProperty("conversation").GetString());
    }

    /// <summary>An agent that cannot fork its conversation (Codex): the files go back, and a new conversation is told the earlier turns.</summary>
    [Fact]
    public async Task Codex_RewindToBeforeTurn2_RestoresTheFile_AndANewConversationIsToldTurn1()
    {
        await using var world = await AgentWorld.CodexAsync();
        world.Model.Enqueue(
            world.ShellCall("printf 'one\\n' > a.txt"),
            ScriptedReply.Text("Wrote one."),
            world.ShellCall("printf 'two\\n' > a.txt"),
            ScriptedReply.Text("Wrote two."),
            ScriptedReply.Text("Noted."));
        var (sessionId, events) = await TwoTurnsAsync(world);
        await using var streamed = events;
        var file = Path.Combine(world.Repository, "a.txt");

        var newId = (await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/2/rewind", new { })).GetProperty("id").GetString()!;
        Assert.Equal("one\n", await File.ReadAllTextAsync(file));
        await using var carried = await world.EventsAsync(newId, lastEventId: "0");
        await carried.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Noted.");
        var request = world.Model.Requests.Last(r => r.LastUserText().Contains("rewound to before its turn 2", StringComparison.Ordinal));
        Assert.Contains("Turn 1. I asked: write the first version\nYou answered: Wrote one.", request.LastUserText(), StringComparison.Ordinal);
        Assert.False(request.Contains("now the second version") || request.Contains("Wrote two."), "The later turn is not.");
    }

    private static void AssertOnlyTurn1(RecordedRequest request)
    {
        Assert.True(request.Contains("write the first version") && request.Contains("Wrote one."), "The earlier turn is in the conversation.");
        Assert.False(request.Contains("now the second version") || request.Contains("Wrote two."), "The later turn is not.");
    }

    /// <summary>A trusted session whose turn 1 writes "one" into a.txt and turn 2 "two" (as the script says), both turns' reviews closed.</summary>
    private static async Task<(string SessionId, SseClient Events)> TwoTurnsAsync(AgentWorld world)
    {
        var sessionId = await world.StartSessionAsync("write the first version", mode: "trusted");
        var events = await world.EventsAsync(sessionId, lastEventId: "0");
        var first = await events.WaitForAsync("turn.changes");
        await world.SendAsync(sessionId, "now the second version");
        await events.WaitForAsync(e => e.Event == "turn.changes" && e.Id > first.Id);
        Assert.Equal("two\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "a.txt")));
        return (sessionId, events);
    }
}
