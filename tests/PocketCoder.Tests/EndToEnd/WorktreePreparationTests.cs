using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Workspace.Worktrees;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// A session on a branch of its own is answered before git makes its worktree (seconds on a large repository): it says
/// <c>preparing</c>, <c>session.preparing</c> events tell each phase, the first prompt and anything sent meanwhile wait in
/// its queue, and its agent starts in the worktree once it is there. A real git repository throughout; a phase of the
/// making is held at <see cref="SessionWorktrees.BeforePhase"/> to look at what the owner sees meanwhile.
/// </summary>
public sealed class WorktreePreparationTests
{
    [Fact]
    public async Task Answered_BeforeTheWorktreeExists_ThenItsAgentStartsThere_WithTheFirstPromptAndWhatWasSentMeanwhile()
    {
        var fake = new FakeAgent();
        await using var world = await AgentWorld.FakeAsync(fake);
        var gate = Hold(world, PreparationPhases.Branch);

        var created = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions",
            new { agent = FakeAgent.AgentId, prompt = "first", worktree = true });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var session = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = session.GetProperty("id").GetString()!;
        Assert.Equal("preparing", session.GetProperty("status").GetString());

        // git has not begun: no folder, no branch, no worktree to show, and nothing falls back to the project's folder.
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var path = Path.Combine(world.Server.DataDirectory, "worktrees", world.ProjectId, id);
        Assert.False(Directory.Exists(path));
        Assert.Equal("", TempPaths.Git(world.Repository, "branch", "--list", "pocketcoder/*"));
        // Its worktree is on its way, and it says so: not "does not work in a worktree of its own" (#51).
        var notYet = await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/sessions/{id}/worktree"), HttpStatusCode.Conflict, "WORKTREE_UNAVAILABLE");
        Assert.Contains("being prepared", notYet.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/projects/{world.ProjectId}/files?session={id}"), HttpStatusCode.Conflict,
            "WORKTREE_UNAVAILABLE");
        Assert.Equal("preparing", (await world.SessionAsync(id)).GetProperty("status").GetString());

        // A message sent meanwhile waits behind the first prompt, and the queue is not held: both go once the agent is up.
        var sent = await world.Http.PostAsJsonAsync($"/api/sessions/{id}/messages", new { text = "second" });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        Assert.Equal("second", (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("queued").GetProperty("text").GetString());
        var queue = await world.Http.GetOkAsync($"/api/sessions/{id}/queue");
        Assert.Equal(["first", "second"], queue.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("text").GetString()));
        Assert.False(queue.GetProperty("held").GetBoolean());

        await using var events = await world.EventsAsync(id);
        gate.Release.SetResult();
        await events.WaitForAsync(e => e.Event == "session.preparing" && e.Str("phase") == "ready");
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: second");

        var phases = events.Received.Where(e => e.Event == "session.preparing").Select(e => e.Str("phase")).ToList();
        Assert.Equal(["branch", "checkout", "ready"], phases);
        var statuses = events.Received.Where(e => e.Event == "session.status").Select(e => e.Str("status")).ToList();
        Assert.Equal(["preparing", "starting"], statuses.Take(2));
        Assert.Equal(["first", "second"], events.Received.Where(e => e.Event == "message.user").Select(e => e.Str("text")));

        var worktree = await world.Http.GetOkAsync($"/api/sessions/{id}/worktree");
        Assert.Equal(path, worktree.GetProperty("path").GetString());
        Assert.True(File.Exists(Path.Combine(path, "README.md")));
        Assert.Equal(path, (await fake.SessionAsync(0)).Options!.WorkingDirectory);
        Assert.Equal($"pocketcoder/{id[..8]}/work", TempPaths.Git(path, "symbolic-ref", "--short", "HEAD"));
        Assert.Equal("", TempPaths.Git(path, "status", "--porcelain"));
    }

    /// <summary>git refuses (a branch of the session's name, with someone's work on it, already exists): the session fails with
    /// a clear <c>session.error</c>, never hangs, never starts its agent in the project's folder, and their branch is untouched.</summary>
    [Fact]
    public async Task GitFails_SessionFailsWithAClearError_NeverStartsElsewhere_TheirBranchUntouched()
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        var gate = Hold(world, PreparationPhases.Branch);
        var id = await CreateAsync(world, "first");
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var theirs = $"pocketcoder/{id[..8]}/work";
        TempPaths.Git(world.Repository, "checkout", "-q", "-b", theirs);
        File.WriteAllText(Path.Combine(world.Repository, "theirs.txt"), "theirs\n");
        TempPaths.Git(world.Repository, "add", "theirs.txt");
        TempPaths.Git(world.Repository, "-c", "user.email=t@example.invalid", "-c", "user.name=T", "commit", "-q", "-m", "their work");
        var work = TempPaths.Git(world.Repository, "rev-parse", "HEAD");
        TempPaths.Git(world.Repository, "checkout", "-q", "main");

        await using var events = await world.EventsAsync(id);
        gate.Release.SetResult();
        var error = await events.WaitForAsync("session.error");
        Assert.Equal("WORKTREE_FAILED", error.Str("code"));
        Assert.Contains("already exists", error.Str("message"), StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");

        Assert.Equal(work, TempPaths.Git(world.Repository, "rev-parse", theirs));
        Assert.False(Directory.Exists(Path.Combine(world.Server.DataDirectory, "worktrees", world.ProjectId, id)));
        // Restarting it, or writing to it, brings no agent up in the project's own folder.
        var resumed = await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/sessions/{id}/resume", null), HttpStatusCode.Conflict,
            "WORKTREE_UNAVAILABLE");
        Assert.Contains("could not be made", resumed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{id}/messages", new { text = "again" }), HttpStatusCode.Conflict,
            "WORKTREE_UNAVAILABLE");
        Assert.Empty(world.Fake!.Started);
    }

    /// <summary>Stopped (or its turn cancelled) while git checks out: git stops, and the half-made worktree and its branch go.</summary>
    [Theory]
    [InlineData("stop")]
    [InlineData("cancel")]
    public async Task StoppedDuringTheCheckout_TheHalfMadeWorktreeAndBranchGo(string how)
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        var gate = Hold(world, PreparationPhases.Checkout);
        var id = await CreateAsync(world, "first");
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var path = Path.Combine(world.Server.DataDirectory, "worktrees", world.ProjectId, id);
        Assert.True(Directory.Exists(path), "the worktree was not begun");
        Assert.Contains(id[..8], TempPaths.Git(world.Repository, "branch", "--list", "pocketcoder/*"), StringComparison.Ordinal);
        // Being made, it is no orphan to clean.
        Assert.Empty((await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans")).EnumerateArray());

        var stopped = how == "stop" ? await world.Http.DeleteAsync($"/api/sessions/{id}") : await world.Http.PostAsync($"/api/sessions/{id}/cancel", null);
        Assert.True(stopped.IsSuccessStatusCode, await stopped.Content.ReadAsStringAsync());

        Assert.Equal("stopped", (await world.SessionAsync(id)).GetProperty("status").GetString());
        Assert.False(Directory.Exists(path));
        Assert.Equal("", TempPaths.Git(world.Repository, "branch", "--list", "pocketcoder/*"));
        Assert.DoesNotContain(path, TempPaths.Git(world.Repository, "worktree", "list"), StringComparison.Ordinal);
        Assert.Empty((await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans")).EnumerateArray());
        Assert.Empty(world.Fake!.Started);
    }

    /// <summary>The server stops while git checks out: the next start makes the worktree again, and the first prompt runs there.</summary>
    [Fact]
    public async Task ServerRestartsDuringThePreparation_ItIsFinishedOnStart()
    {
        var fake = new FakeAgent();
        await using var world = await AgentWorld.FakeAsync(fake);
        var gate = Hold(world, PreparationPhases.Checkout);
        var id = await CreateAsync(world, "first");
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await world.RestartServerAsync();

        await using var events = await world.EventsAsync(id);
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: first");
        var path = (await world.Http.GetOkAsync($"/api/sessions/{id}/worktree")).GetProperty("path").GetString()!;
        Assert.Equal(path, (await fake.SessionAsync(0)).Options!.WorkingDirectory);
        Assert.Equal("", TempPaths.Git(path, "status", "--porcelain"));
        Assert.Empty((await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans")).EnumerateArray());
    }

    /// <summary>What can be known at once is said at once, with no session left: an unknown base, a repository with no commit.</summary>
    [Fact]
    public async Task TheBase_IsCheckedBeforeTheAnswer_NoSessionLeftWhenItCannotBe()
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        var sessions = $"/api/projects/{world.ProjectId}/sessions";
        var unknown = await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(sessions, new { agent = FakeAgent.AgentId, worktree = true, @base = "no-such-branch" }),
            HttpStatusCode.BadRequest, "WORKTREE_UNAVAILABLE");
        Assert.Contains("no-such-branch", unknown.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty((await world.Http.GetOkAsync($"/api/sessions?projectId={world.ProjectId}")).EnumerateArray());

        var empty = TempPaths.NewDirectory("pc-empty");
        try
        {
            TempPaths.Git(empty, "init", "-q", "-b", "main");
            var project = (await world.Http.PostOkAsync("/api/projects", new { path = empty })).GetProperty("id").GetString();
            var none = await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{project}/sessions", new { agent = FakeAgent.AgentId, worktree = true }),
                HttpStatusCode.BadRequest, "WORKTREE_UNAVAILABLE");
            Assert.Contains("no commit yet", none.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(empty);
        }

        // A tag of the same name as no branch: the commit it names is the base, and the work has no branch to merge into.
        TempPaths.Git(world.Repository, "tag", "v1");
        var tagged = await world.Http.PostOkAsync(sessions, new { agent = FakeAgent.AgentId, worktree = true, @base = "v1" });
        Assert.Equal("preparing", tagged.GetProperty("status").GetString());
        await using var events = await world.EventsAsync(tagged.GetProperty("id").GetString()!);
        await events.WaitForAsync(e => e.Event == "session.preparing" && e.Str("phase") == "ready");
        var worktree = await world.Http.GetOkAsync($"/api/sessions/{tagged.GetProperty("id").GetString()}/worktree");
        Assert.Equal(TempPaths.Git(world.Repository, "rev-parse", "v1^{commit}"), worktree.GetProperty("baseRef").GetString());
    }

    private static async Task<string> CreateAsync(AgentWorld world, string prompt)
    {
        var session = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = FakeAgent.AgentId, prompt, worktree = true });
        Assert.Equal("preparing", session.GetProperty("status").GetString());
        return session.GetProperty("id").GetString()!;
    }

    /// <summary>Holds <paramref name="phase"/> of making worktrees on the world's server until released (or the making is cancelled).</summary>
    private static PhaseGate Hold(AgentWorld world, string phase)
    {
        var gate = new PhaseGate();
        world.Server.Services.GetRequiredService<SessionWorktrees>().BeforePhase = async (reached, cancellationToken) =>
        {
            if (reached == phase)
            {
                gate.Reached.TrySetResult();
                await gate.Release.Task.WaitAsync(cancellationToken);
            }
        };
        return gate;
    }

    private sealed class PhaseGate
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
