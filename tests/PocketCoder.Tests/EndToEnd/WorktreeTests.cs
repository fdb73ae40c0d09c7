using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Sessions in worktrees of one repository, with the REAL Claude Code CLI (sandboxed, as by default): two sessions change
/// the same file differently, each in its own worktree; merging the first fast-forwards the base, merging the second
/// reports the conflict and leaves the base as it was. Orphans (a worktree nothing recorded, as a crash between creating
/// and recording it leaves; a session's worktree deleted by hand) are listed and cleaned.
/// </summary>
public sealed class WorktreeTests
{
    [Fact]
    public async Task TwoSessions_SameFile_FirstFastForwards_SecondConflicts_BaseUntouched()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/git/identity", new { name = "Owner", email = "owner@example.invalid" }));

        var first = await WorkAsync(world, "from A");
        var second = await WorkAsync(world, "from B");
        foreach (var (session, text) in new[] { (first, "from A"), (second, "from B") })
        {
            var worktree = await world.Http.GetOkAsync($"/api/sessions/{session}/worktree");
            var path = worktree.GetProperty("path").GetString()!;
            Assert.StartsWith(world.Server.DataDirectory, path, StringComparison.Ordinal);
            Assert.Equal($"pocketcoder/{session[..8]}/work", worktree.GetProperty("branch").GetString());
            Assert.Equal("main", worktree.GetProperty("baseRef").GetString());
            Assert.Equal(["shared.txt"], worktree.GetProperty("changed").EnumerateArray().Select(f => f.GetString()));
            Assert.False(worktree.GetProperty("merged").GetBoolean(), "a branch with work not in its base is said to be merged");
            Assert.Equal(text + "\n", await File.ReadAllTextAsync(Path.Combine(path, "shared.txt")));
            // The branch against where it started: the new file, uncommitted, with its line.
            var diff = await world.Http.GetOkAsync($"/api/sessions/{session}/worktree/diff");
            Assert.Equal([("shared.txt", "A")], diff.GetProperty("files").EnumerateArray().Select(f => (f.GetProperty("path").GetString(), f.GetProperty("status").GetString())));
            Assert.Contains("+" + text, diff.GetProperty("diff").GetString(), StringComparison.Ordinal);
        }

        Assert.False(File.Exists(Path.Combine(world.Repository, "shared.txt")), "a session in a worktree changed the project's own folder");

        var merged = await world.Http.PostOkAsync($"/api/sessions/{first}/worktree/merge", new { });
        Assert.True(merged.GetProperty("fastForward").GetBoolean());
        Assert.Equal("from A\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "shared.txt")));
        var head = Git(world.Repository, "rev-parse", "HEAD");
        // Merged: its base holds all of it, so the app offers Merge no more (issue #51); the other branch is not.
        Assert.True((await world.Http.GetOkAsync($"/api/sessions/{first}/worktree")).GetProperty("merged").GetBoolean(), "a merged branch is not said to be merged");
        Assert.False((await world.Http.GetOkAsync($"/api/sessions/{second}/worktree")).GetProperty("merged").GetBoolean());

        var conflict = await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{second}/worktree/merge", new { }),
            HttpStatusCode.Conflict, "MERGE_CONFLICT");
        Assert.Equal(["shared.txt"], conflict.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(head, Git(world.Repository, "rev-parse", "HEAD"));
        Assert.Equal("", Git(world.Repository, "status", "--porcelain"));
        Assert.Equal("from A\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "shared.txt")));

        // Keep the second branch, remove its worktree (the session stops).
        var kept = await world.Http.PostOkAsync($"/api/sessions/{second}/worktree/remove", new { discardBranch = false });
        Assert.False(kept.GetProperty("present").GetBoolean());
        Assert.Equal("stopped", (await world.SessionAsync(second)).GetProperty("status").GetString());
        Assert.Contains($"pocketcoder/{second[..8]}/work", Git(world.Repository, "branch", "--list", "pocketcoder/*"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Merge takes what the owner reviewed (the branch's commit and the worktree's tree, as <c>GET …/worktree</c> gave them): a
    /// process the agent left running commits to the branch after the review, and the merge is refused with the base as it was;
    /// so is one after a file changed in the worktree. Looked at again, the same work merges, exactly as shown.
    /// </summary>
    [Fact]
    public async Task Merge_AfterTheBranchOrWorktreeChangedSinceTheReview_RefusedUntilLookedAtAgain()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/git/identity", new { name = "Owner", email = "owner@example.invalid" }));
        // Where the test and the process the agent leaves behind signal each other: pipes, which no snapshot takes.
        await File.WriteAllTextAsync(Path.Combine(world.Repository, ".gitignore"), "/pipes/\n");
        Git(world.Repository, "add", ".gitignore");
        Git(world.Repository, "-c", "user.email=t@example.invalid", "-c", "user.name=T", "commit", "-q", "-m", "ignore pipes");
        var main = Git(world.Repository, "rev-parse", "main");

        world.Model.Enqueue(
            ScriptedReply.ToolUse("Bash", new { command = "echo reviewed > reviewed.txt", description = "Write" }),
            ScriptedReply.ToolUse("Bash", new
            {
                command = "mkdir -p pipes && mkfifo pipes/go pipes/landed && (read go < pipes/go; echo late > late.txt && git add late.txt && " +
                    "git -c user.name=Agent -c user.email=agent@example.invalid commit -qm late; echo landed > pipes/landed) < /dev/null > /dev/null 2>&1 &",
                description = "Leave a process behind",
            }),
            ScriptedReply.Text("Done."));
        var session = (await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions",
            new { agent = "claude-code", prompt = "Work", mode = "trusted", worktree = true })).GetProperty("id").GetString()!;
        await using (var events = await world.EventsAsync(session))
        {
            await events.WaitForAsync("turn.completed");
        }

        var reviewed = await world.Http.GetOkAsync($"/api/sessions/{session}/worktree");
        var path = reviewed.GetProperty("path").GetString()!;
        Assert.Equal(["reviewed.txt"], reviewed.GetProperty("changed").EnumerateArray().Select(f => f.GetString()));
        // The process commits to the branch after the owner looked.
        await SignalAsync(Path.Combine(path, "pipes", "go"));
        Assert.Equal("landed\n", await ReadPipeAsync(Path.Combine(path, "pipes", "landed")));
        Assert.Equal("late", Git(world.Repository, "log", "-1", "--format=%s", reviewed.GetProperty("branch").GetString()!));

        var merge = $"/api/sessions/{session}/worktree/merge";
        // Only an id as the review gave it: a name would be whatever it names when the merge runs.
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(merge, new { commit = "pocketcoder/" + session[..8] + "/work" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(merge, Reviewed(reviewed)), HttpStatusCode.Conflict, "WORKTREE_MOVED");
        Assert.Equal(main, Git(world.Repository, "rev-parse", "main"));

        // Looked at again; then a file changes in the worktree, uncommitted.
        var again = await world.Http.GetOkAsync($"/api/sessions/{session}/worktree");
        Assert.Equal(["late.txt", "reviewed.txt"], again.GetProperty("changed").EnumerateArray().Select(f => f.GetString()));
        await File.WriteAllTextAsync(Path.Combine(path, "unseen.txt"), "unseen\n");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(merge, Reviewed(again)), HttpStatusCode.Conflict, "WORKTREE_MOVED");
        Assert.Equal(main, Git(world.Repository, "rev-parse", "main"));

        var shown = await world.Http.GetOkAsync($"/api/sessions/{session}/worktree");
        var merged = await world.Http.PostOkAsync(merge, Reviewed(shown));
        Assert.True(merged.GetProperty("fastForward").GetBoolean());
        Assert.Equal(shown.GetProperty("tree").GetString(), Git(world.Repository, "rev-parse", "main^{tree}"));
        Assert.Equal("unseen\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "unseen.txt")));
        // What was uncommitted is now the branch's last commit, and the worktree's own git agrees.
        Assert.Equal("", Git(path, "status", "--porcelain"));
    }

    private static object Reviewed(JsonElement worktree) => new { commit = worktree.GetProperty("head").GetString(), tree = worktree.GetProperty("tree").GetString() };

    /// <summary>Writes a line into a pipe (opening it waits for its reader).</summary>
    private static Task SignalAsync(string pipe) =>
        Task.Run(() => File.WriteAllText(pipe, "go\n")).WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Reads a pipe to its end (opening it waits for its writer).</summary>
    private static Task<string> ReadPipeAsync(string pipe) => Task.Run(() => File.ReadAllText(pipe)).WaitAsync(TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Orphans_ListedAndCleaned()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var root = Path.Combine(world.Server.DataDirectory, "worktrees", world.ProjectId);
        Directory.CreateDirectory(root);
        var stray = Path.Combine(root, "left-by-a-crash");
        Git(world.Repository, "worktree", "add", "-q", "-b", "stray", stray, "HEAD");

        var session = await WorkAsync(world, "soon gone");
        var gone = (await world.Http.GetOkAsync($"/api/sessions/{session}/worktree")).GetProperty("path").GetString()!;
        Directory.Delete(gone, recursive: true);

        var orphans = (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans")).EnumerateArray()
            .Select(o => (o.GetProperty("kind").GetString(), o.GetProperty("path").GetString())).ToList();
        Assert.Equal([("no-session", stray), ("gone", gone)], orphans);

        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans/clean", new { });
        Assert.Empty((await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans")).EnumerateArray());
        Assert.False(Directory.Exists(stray));
        Assert.DoesNotContain(stray, Git(world.Repository, "worktree", "list"), StringComparison.Ordinal);
    }

    /// <summary>Files, git and commands with <c>?session=</c> act on that session's worktree, confined to it as to the project.</summary>
    [Fact]
    public async Task FilesGitAndCommands_OfASession_ActOnItsWorktree()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var session = await WorkAsync(world, "on the branch");
        var api = $"/api/projects/{world.ProjectId}";
        var worktree = (await world.Http.GetOkAsync($"/api/sessions/{session}/worktree")).GetProperty("path").GetString()!;

        Assert.Contains("shared.txt", Names(await world.Http.GetOkAsync($"{api}/files?session={session}")));
        Assert.DoesNotContain("shared.txt", Names(await world.Http.GetOkAsync($"{api}/files")));
        Assert.Equal("on the branch\n", (await world.Http.GetOkAsync($"{api}/files/content?path=shared.txt&session={session}")).GetProperty("content").GetString());
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{api}/files/content?path=../../etc/passwd&session={session}"), HttpStatusCode.BadRequest, "OUTSIDE_PROJECT_ROOT");

        var status = await world.Http.GetOkAsync($"{api}/git/status?session={session}");
        Assert.Equal($"pocketcoder/{session[..8]}/work", status.GetProperty("branch").GetString());
        Assert.Equal(["shared.txt"], status.GetProperty("untracked").EnumerateArray().Select(p => p.GetString()));
        Assert.Empty((await world.Http.GetOkAsync($"{api}/git/status")).GetProperty("untracked").EnumerateArray());

        var command = await world.Http.PostAsJsonAsync($"{api}/commands?session={session}", new { command = "pwd; cat shared.txt" });
        Assert.Equal(HttpStatusCode.Accepted, command.StatusCode);
        var id = (await command.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await using (var output = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events"))
        {
            await output.WaitForAsync("exit");
            var printed = string.Concat(output.Received.Where(e => e.Event == "output").Select(e => e.Str("text")));
            Assert.Equal($"{worktree}\non the branch\n", printed);
        }

        // Its terminal is a shell of its own, started in the worktree, beside the project's; removing the worktree closes it.
        Assert.True((await world.Http.PostAsJsonAsync($"{api}/terminal?session={session}", new { cols = 300, rows = 20 })).IsSuccessStatusCode);
        await using (var screen = await SseClient.ConnectAsync(world.Http, $"{api}/terminal/events?session={session}"))
        {
            Assert.True((await world.Http.PostAsJsonAsync($"{api}/terminal/input?session={session}", new { text = "pwd", keys = new[] { "Enter" } }))
                .IsSuccessStatusCode);
            await screen.WaitForAsync(e => e.Event == "screen" && (e.Str("text") ?? "").Contains("\n" + worktree + "\n", StringComparison.Ordinal));
        }

        // Only a session of this project, only one with a worktree, and never the project once its worktree is gone.
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{api}/files?session=nope"), HttpStatusCode.NotFound, "SESSION_NOT_FOUND");
        var plain = await world.StartSessionAsync("no worktree here");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{api}/git/status?session={plain}"), HttpStatusCode.NotFound, "WORKTREE_NOT_FOUND");
        Assert.True((await world.Http.PostAsJsonAsync($"/api/sessions/{session}/worktree/remove", new { discardBranch = false })).IsSuccessStatusCode);
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{api}/files?session={session}"), HttpStatusCode.Conflict, "WORKTREE_UNAVAILABLE");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{api}/terminal/screen?session={session}"), HttpStatusCode.Conflict, "WORKTREE_UNAVAILABLE");
        Assert.DoesNotContain($"pc-{world.ProjectId}-{session}", TmuxSessions(world));
    }

    /// <summary>
    /// A submodule is checked out in the session's worktree from the project's own copy, at the commit the base records,
    /// with nothing fetched (its origin is gone by then); removing the worktree leaves the submodule's copy clean.
    /// </summary>
    [Fact]
    public async Task Submodule_CheckedOutFromTheProjectsOwnCopy_NothingFetched_RemovedCleanly()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var library = TempPaths.NewGitRepository();
        File.WriteAllText(Path.Combine(library, "lib.txt"), "library v1\n");
        Git(library, "add", ".");
        Git(library, "-c", "user.email=t@example.invalid", "-c", "user.name=T", "commit", "-q", "-m", "v1");
        Git(world.Repository, "-c", "protocol.file.allow=always", "submodule", "add", "-q", library, "lib");
        Git(world.Repository, "-c", "user.email=t@example.invalid", "-c", "user.name=T", "commit", "-q", "-m", "add lib");
        TempPaths.Delete(library);

        var session = await WorkAsync(world, "with a submodule");
        var worktree = (await world.Http.GetOkAsync($"/api/sessions/{session}/worktree")).GetProperty("path").GetString()!;
        Assert.Equal("library v1\n", await File.ReadAllTextAsync(Path.Combine(worktree, "lib", "lib.txt")));
        Assert.Equal(Git(Path.Combine(world.Repository, "lib"), "rev-parse", "HEAD"), Git(Path.Combine(worktree, "lib"), "rev-parse", "HEAD"));
        Assert.DoesNotContain("lib", (await world.Http.GetOkAsync($"/api/sessions/{session}/worktree")).GetProperty("changed").EnumerateArray()
            .Select(f => f.GetString()));

        Assert.True((await world.Http.PostAsJsonAsync($"/api/sessions/{session}/worktree/remove", new { discardBranch = true })).IsSuccessStatusCode);
        Assert.False(Directory.Exists(worktree));
        Assert.Single(Git(Path.Combine(world.Repository, "lib"), "worktree", "list").Split('\n'));
        Assert.Empty((await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans")).EnumerateArray());
    }

    /// <summary>A project set to work on branches: a session that does not say otherwise gets a worktree; one that says no does not.</summary>
    [Fact]
    public async Task ProjectDefault_NewSessionsOnABranch_UnlessTheySayOtherwise()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var project = await world.Http.PatchOkAsync($"/api/projects/{world.ProjectId}", new { worktreeDefault = true });
        Assert.True(project.GetProperty("worktreeDefault").GetBoolean());

        var byDefault = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "claude-code" });
        Assert.Equal("preparing", byDefault.GetProperty("status").GetString());
        await using (var events = await world.EventsAsync(byDefault.GetProperty("id").GetString()!))
        {
            await events.WaitForAsync(e => e.Event == "session.preparing" && e.Str("phase") == "ready");
        }

        var worktree = await world.Http.GetOkAsync($"/api/sessions/{byDefault.GetProperty("id").GetString()}/worktree");
        Assert.StartsWith("pocketcoder/", worktree.GetProperty("branch").GetString(), StringComparison.Ordinal);

        var inTheFolder = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "claude-code", worktree = false });
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/sessions/{inTheFolder.GetProperty("id").GetString()}/worktree"),
            HttpStatusCode.NotFound, "WORKTREE_NOT_FOUND");
    }

    private static string TmuxSessions(AgentWorld world)
    {
        var info = new System.Diagnostics.ProcessStartInfo("tmux", ["-S", PocketCoder.Workspace.Terminal.Terminals.SocketFor(world.Server.DataDirectory), "list-sessions", "-F", "#{session_name}"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var tmux = System.Diagnostics.Process.Start(info)!;
        var output = tmux.StandardOutput.ReadToEnd();
        tmux.WaitForExit();
        return output;
    }

    private static List<string> Names(JsonElement listing) => [.. listing.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()!)];

    [Fact]
    public async Task NotAGitRepository_ClearError_NoSessionLeft()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var plain = TempPaths.NewDirectory("pc-plain");
        try
        {
            var project = await world.Http.PostOkAsync("/api/projects", new { path = plain });
            var id = project.GetProperty("id").GetString();
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{id}/sessions", new { agent = "claude-code", worktree = true }),
                HttpStatusCode.Conflict, "GIT_NOT_INITIALIZED");
            Assert.Empty((await world.Http.GetOkAsync($"/api/sessions?projectId={id}")).EnumerateArray());
        }
        finally
        {
            TempPaths.Delete(plain);
        }
    }

    /// <summary>A trusted session in its own worktree that writes shared.txt; its id once the turn is over.</summary>
    private static async Task<string> WorkAsync(AgentWorld world, string text)
    {
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = $"echo '{text}' > shared.txt", description = "Write shared.txt" }),
            ScriptedReply.Text("Written."));
        var session = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions",
            new { agent = "claude-code", prompt = $"Write {text}", mode = "trusted", worktree = true });
        var id = session.GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(id);
        await events.WaitForAsync("turn.completed");
        return id;
    }

    private static string Git(string directory, params string[] arguments) => TempPaths.Git(directory, arguments);
}
