using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// A rewind loses nothing of the owner's (issue #67): what changed between any of the agent's turns since the target is named
/// before, refused unless the owner says keep or discard, kept when told; the files before a rewind come back exactly on an
/// undo; and a project in a subfolder of a repository is rewound inside its folder only. The server and git are real; the
/// agent is the fake one, whose turn "agent-N" writes agent.txt and fileN.txt once the gate has let its call through.
/// </summary>
public sealed class RewindKeepsYoursTests
{
    /// <summary>The issue's case: a file written by hand between turns 4 and 5, then a rewind to before turn 4.</summary>
    [Fact]
    public async Task Rewind_AHandMadeFileBetweenEarlierTurns_IsNamedFirst_KeptWhenTold_AndTheTitleStays()
    {
        await using var world = await UnsandboxedAsync();
        var (sessionId, events) = await TurnsAsync(world, 5, between: turn =>
        {
            if (turn == 4)
            {
                File.WriteAllText(Path.Combine(world.Repository, "mine.txt"), "made by hand\n");
            }
        });
        await using var streamed = events;

        var preview = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/turns/4/rewind-preview");
        Assert.Equal(["agent.txt:restore", "file4.txt:delete", "file5.txt:delete"], Files(preview, "files"));
        Assert.Equal(["mine.txt:delete"], Files(preview, "others"));

        var refused = await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{sessionId}/turns/4/rewind", null),
            HttpStatusCode.Conflict, "FILES_CHANGED_SINCE");
        Assert.Equal(["mine.txt"], refused.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("5\n", Read(world, "agent.txt"));

        var rewound = await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/4/rewind?others=keep", new { });
        Assert.Equal("3\n", Read(world, "agent.txt"));
        Assert.False(File.Exists(Path.Combine(world.Repository, "file4.txt")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "file5.txt")));
        Assert.Equal("made by hand\n", Read(world, "mine.txt"));

        // The new session goes by the old one's title, and its transcript says what happened.
        Assert.Equal((await world.SessionAsync(sessionId)).GetProperty("title").GetString(), rewound.GetProperty("title").GetString());
        await using var carried = await world.EventsAsync(rewound.GetProperty("id").GetString()!, lastEventId: "0");
        var told = await carried.WaitForAsync("history.imported");
        Assert.Equal(("rewind", 4), (told.Str("source"), told.Json.GetProperty("turn").GetInt32()));
    }

    /// <summary>
    /// A file of the owner's that became ignored after a turn (a <c>.gitignore</c> line, which an agent may add unasked) is in no
    /// snapshot since: the rewind must not put an old copy over it, since nothing would keep the owner's for an undo.
    /// </summary>
    [Fact]
    public async Task Rewind_AFileIgnoredSince_IsTheOwnersAndKept()
    {
        // Turn 2's agent adds the ignore line: no snapshot after it has notes.md, and no gap between turns shows it changing.
        var writes = Writes(outside: false);
        await using var world = await AgentWorld.FakeAsync(new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                await writes(session, prompt);
                if (prompt.Text == "agent-2")
                {
                    await File.WriteAllTextAsync(Path.Combine(session.Options!.WorkingDirectory, ".gitignore"), "notes.md\n");
                }
            },
        });
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { sandbox = "none" }));
        var (sessionId, events) = await TurnsAsync(world, 3, between: turn => File.WriteAllText(Path.Combine(world.Repository, "notes.md"),
            turn == 1 ? "first notes\n" : "the owner's notes, later\n"));
        await using var streamed = events;

        var preview = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/turns/2/rewind-preview");
        Assert.Contains("notes.md:restore", Files(preview, "others"));
        await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/2/rewind?others=keep", new { });
        Assert.Equal("the owner's notes, later\n", Read(world, "notes.md"));
    }

    /// <summary>
    /// A session rewound once has handed its files on: a second rewind (or its preview) of it is refused, naming the session that
    /// carries it on, rather than working on whatever folder it falls back to (an attacker review: a session on a worktree of its
    /// own fell back to the project's own folder and overwrote the owner's checkout).
    /// </summary>
    [Fact]
    public async Task ASessionRewoundOnce_IsNotRewoundAgain_TheOneThatCarriesItOnIs()
    {
        await using var world = await UnsandboxedAsync();
        var (sessionId, events) = await TurnsAsync(world, 3, between: _ => { });
        await using var streamed = events;
        var rewound = (await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/3/rewind", new { })).GetProperty("id").GetString()!;

        var again = await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{sessionId}/turns/2/rewind?others=discard", null),
            HttpStatusCode.Conflict, "SESSION_NOT_ACTIVE");
        Assert.Contains(rewound, again.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/sessions/{sessionId}/turns/2/rewind-preview"), HttpStatusCode.Conflict, "SESSION_NOT_ACTIVE");
        Assert.Equal("2\n", Read(world, "agent.txt"));
    }

    /// <summary>Discarding the owner's file too, then undoing: every file is back exactly as before the rewind, the hand-made one with it.</summary>
    [Fact]
    public async Task UndoRewind_AfterADiscard_RestoresTheExactStateBefore_Once()
    {
        await using var world = await UnsandboxedAsync();
        var (sessionId, events) = await TurnsAsync(world, 3, between: turn =>
        {
            if (turn == 2)
            {
                File.WriteAllText(Path.Combine(world.Repository, "mine.txt"), "made by hand\n");
                File.WriteAllText(Path.Combine(world.Repository, "file1.txt"), "edited by hand\n");
            }
        });
        await using var streamed = events;
        var before = State(world.Repository);

        var rewound = await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/2/rewind?others=discard", new { });
        var newId = rewound.GetProperty("id").GetString()!;
        Assert.False(File.Exists(Path.Combine(world.Repository, "mine.txt")));
        Assert.Equal("1\n", Read(world, "agent.txt"));
        Assert.Equal("1\n", Read(world, "file1.txt"));
        await SettledAsync(world, newId);

        var undone = await world.Http.PostOkAsync($"/api/sessions/{newId}/rewind/undo", new { });

        Assert.Equal(before, State(world.Repository));
        Assert.Equal("stopped", (await world.SessionAsync(newId)).GetProperty("status").GetString());
        Assert.Equal((await world.SessionAsync(sessionId)).GetProperty("title").GetString(), undone.GetProperty("title").GetString());
        await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{newId}/rewind/undo", null), HttpStatusCode.NotFound, "REWIND_NOT_FOUND");
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "session.rewind_undone");
    }

    /// <summary>A session on a worktree of its own: the rewind's session takes the worktree over, and the undo's takes it back, files and all.</summary>
    [Fact]
    public async Task UndoRewind_OnASessionsOwnWorktree_TheWorktreeGoesToTheSessionThatCarriesOn()
    {
        await using var world = await UnsandboxedAsync();
        var sessionId = (await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions",
            new { agent = FakeAgent.AgentId, prompt = "agent-1", mode = "trusted", worktree = true })).GetProperty("id").GetString()!;
        await using (var events = await world.EventsAsync(sessionId, lastEventId: "0"))
        {
            await events.WaitForAsync(e => e.Event == "turn.changes" && e.Json.GetProperty("turn").GetInt32() == 1);
            await world.SendAsync(sessionId, "agent-2");
            await events.WaitForAsync(e => e.Event == "turn.changes" && e.Json.GetProperty("turn").GetInt32() == 2);
        }

        var worktree = (await world.Http.GetOkAsync($"/api/sessions/{sessionId}/worktree")).GetProperty("path").GetString()!;
        var newId = (await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/2/rewind", new { })).GetProperty("id").GetString()!;
        Assert.Equal("1\n", File.ReadAllText(Path.Combine(worktree, "agent.txt")));
        Assert.Equal(worktree, (await world.Http.GetOkAsync($"/api/sessions/{newId}/worktree")).GetProperty("path").GetString());
        await SettledAsync(world, newId);

        var undoneId = (await world.Http.PostOkAsync($"/api/sessions/{newId}/rewind/undo", new { })).GetProperty("id").GetString()!;

        Assert.Equal("2\n", File.ReadAllText(Path.Combine(worktree, "agent.txt")));
        Assert.True(File.Exists(Path.Combine(worktree, "file2.txt")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "agent.txt")), "The project's own folder is not the session's.");
        Assert.Equal(worktree, (await world.Http.GetOkAsync($"/api/sessions/{undoneId}/worktree")).GetProperty("path").GetString());
    }

    /// <summary>A file changed after the rewind: an undo would lose it, so it is refused, naming it.</summary>
    [Fact]
    public async Task UndoRewind_AFileChangedSince_IsRefusedNamingIt()
    {
        await using var world = await UnsandboxedAsync();
        var (sessionId, events) = await TurnsAsync(world, 2);
        await using var streamed = events;
        var newId = (await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/2/rewind", new { })).GetProperty("id").GetString()!;
        await SettledAsync(world, newId);
        File.WriteAllText(Path.Combine(world.Repository, "later.txt"), "after the rewind\n");

        var refused = await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{newId}/rewind/undo", null),
            HttpStatusCode.Conflict, "FILES_CHANGED_SINCE");

        Assert.Equal(["later.txt"], refused.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("1\n", Read(world, "agent.txt"));
    }

    /// <summary>
    /// #65's remainder: the project is a subfolder of a repository, and its agent's turn also changed (and staged) a file beside
    /// it. The snapshots are of the whole repository; the rewind puts back the project's folder only.
    /// </summary>
    [Fact]
    public async Task Rewind_AProjectInASubfolder_TouchesNothingBesideIt()
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent { Script = Writes(outside: true) });
        var repository = TempPaths.NewGitRepository();
        Directory.CreateDirectory(Path.Combine(repository, "app"));
        File.WriteAllText(Path.Combine(repository, "app", "agent.txt"), "0\n");
        File.WriteAllText(Path.Combine(repository, "beside.txt"), "the repository's\n");
        TempPaths.Git(repository, "add", ".");
        TempPaths.Git(repository, "-c", "user.email=o@example.invalid", "-c", "user.name=O", "commit", "-q", "-m", "app");
        var projectId = (await world.Http.PostOkAsync("/api/projects", new { path = Path.Combine(repository, "app"), name = "app" })).GetProperty("id").GetString()!;
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{projectId}", new { sandbox = "none" }));
        var sessionId = (await world.Http.PostOkAsync($"/api/projects/{projectId}/sessions", new { agent = FakeAgent.AgentId, prompt = "agent-1", mode = "trusted" }))
            .GetProperty("id").GetString()!;
        await using (var events = await world.EventsAsync(sessionId, lastEventId: "0"))
        {
            await events.WaitForAsync("turn.changes");
        }

        Assert.Equal("changed by the turn\n", File.ReadAllText(Path.Combine(repository, "beside.txt")));

        var preview = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/turns/1/rewind-preview");
        Assert.Equal(["agent.txt:restore", "file1.txt:delete"], Files(preview, "files"));
        await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/1/rewind", new { });

        Assert.Equal("0\n", File.ReadAllText(Path.Combine(repository, "app", "agent.txt")));
        Assert.False(File.Exists(Path.Combine(repository, "app", "file1.txt")));
        Assert.Equal("changed by the turn\n", File.ReadAllText(Path.Combine(repository, "beside.txt")));
        TempPaths.Delete(repository);
    }

    private static async Task<AgentWorld> UnsandboxedAsync()
    {
        var world = await AgentWorld.FakeAsync(new FakeAgent { Script = Writes(outside: false) });
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { sandbox = "none" }));
        return world;
    }

    /// <summary>
    /// "agent-N": once its call is let through (after the turn's opening snapshot), writes N into agent.txt and fileN.txt (and, told
    /// to, changes and stages beside.txt in the folder above); anything else (a rewind's summary) is only answered.
    /// </summary>
    private static Func<FakeAgentSession, AgentPrompt, Task> Writes(bool outside) => async (session, prompt) =>
    {
        if (prompt.Text.StartsWith("agent-", StringComparison.Ordinal))
        {
            await session.AskToRunAsync("write");
            var folder = session.Options!.WorkingDirectory;
            var n = prompt.Text["agent-".Length..];
            await File.WriteAllTextAsync(Path.Combine(folder, "agent.txt"), n + "\n");
            await File.WriteAllTextAsync(Path.Combine(folder, $"file{n}.txt"), n + "\n");
            if (outside)
            {
                await File.WriteAllTextAsync(Path.Combine(folder, "..", "beside.txt"), "changed by the turn\n");
                TempPaths.Git(folder, "add", "../beside.txt");
            }
        }

        await session.SayAsync($"Done: {prompt.Text[..Math.Min(20, prompt.Text.Length)]}");
        await session.EndTurnAsync();
    };

    /// <summary>A trusted session through <paramref name="turns"/> turns, each review closed; <paramref name="between"/> runs after each turn but the last.</summary>
    private static async Task<(string SessionId, SseClient Events)> TurnsAsync(AgentWorld world, int turns, Action<int>? between = null)
    {
        var sessionId = await world.StartSessionAsync("agent-1", mode: "trusted");
        var events = await world.EventsAsync(sessionId, lastEventId: "0");
        for (var turn = 1; ; turn++)
        {
            await events.WaitForAsync(e => e.Event == "turn.changes" && e.Json.GetProperty("turn").GetInt32() == turn);
            if (turn == turns)
            {
                return (sessionId, events);
            }

            between?.Invoke(turn);
            await world.SendAsync(sessionId, $"agent-{turn + 1}");
        }
    }

    /// <summary>The rewind's new session has answered its first message (a summary of the earlier turns) and is idle.</summary>
    private static async Task SettledAsync(AgentWorld world, string sessionId)
    {
        await using var events = await world.EventsAsync(sessionId, lastEventId: "0");
        var answered = await events.WaitForAsync(e => e.Event == "message" && e.Str("text")!.StartsWith("Done: This conversation", StringComparison.Ordinal));
        await events.WaitForAsync(e => e.Id > answered.Id && e.Event == "session.status" && e.Str("status") == "idle");
    }

    private static string Read(AgentWorld world, string path) => File.ReadAllText(Path.Combine(world.Repository, path));

    private static List<string> Files(JsonElement preview, string list) =>
        [.. preview.GetProperty(list).EnumerateArray().Select(f => $"{f.GetProperty("path").GetString()}:{f.GetProperty("action").GetString()}")];

    /// <summary>Every file but git's own, with its content.</summary>
    private static SortedDictionary<string, string> State(string folder) => new(
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(folder, f).StartsWith(".git", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllText), StringComparer.Ordinal);
}
