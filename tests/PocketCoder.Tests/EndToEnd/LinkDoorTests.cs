using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Workspace.Worktrees;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Every door through which the server changes a project's files, tried with a link planted where it writes or deletes, pointing
/// to a folder outside the project (an owner's home) whose file must come through untouched: rewind, fork, git discard, worktree
/// merge and worktree removal. The server and git are real; the agent is the fake one, its "allowed command" a change made on disk
/// during its turn. (The files API's writes are tried with links in HostilePathTests and ConfinementRaceTests.)
/// </summary>
public sealed class LinkDoorTests : IAsyncDisposable
{
    private static readonly string[] Owner = ["-c", "user.email=owner@example.invalid", "-c", "user.name=Owner"];

    private readonly string _outside = TempPaths.NewDirectory("pc-home");

    public LinkDoorTests()
    {
        Directory.CreateDirectory(Path.Combine(_outside, "precious"));
        File.WriteAllText(Precious, "the owner's\n");
    }

    private string PreciousFolder => Path.Combine(_outside, "precious");

    private string Precious => Path.Combine(PreciousFolder, "keep.txt");

    /// <summary>
    /// The exploit of issue #65: the repository commits <c>cache</c> as a link to a folder outside; a turn replaces it with a real
    /// folder holding keep.txt; rewinding to before that turn put the link back and then deleted cache/keep.txt through it.
    /// </summary>
    [Fact]
    public async Task Rewind_ACommittedLinkATurnMadeAFolder_TheLinkComesBack_TheFileBeyondItStays()
    {
        await using var world = await UnsandboxedAsync(new FakeAgent { Script = LinkToFolder(commit: false) });
        CommitCacheLink(world.Repository);
        var sessionId = await world.StartSessionAsync("make the cache a folder", mode: "trusted");
        await using (var events = await world.EventsAsync(sessionId, lastEventId: "0"))
        {
            await events.WaitForAsync("turn.changes");
        }

        Assert.Equal("made in the project\n", File.ReadAllText(Path.Combine(world.Repository, "cache", "keep.txt")));

        var rewound = await world.Http.PostAsync($"/api/sessions/{sessionId}/turns/1/rewind", null);

        Assert.Equal(HttpStatusCode.Created, rewound.StatusCode);
        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Equal(PreciousFolder, new DirectoryInfo(Path.Combine(world.Repository, "cache")).LinkTarget);
    }

    /// <summary>The twin through a fork: the turn commits the folder, and a fork's worktree (checked out with the folder) goes back to the link.</summary>
    [Fact]
    public async Task Fork_ACommittedLinkATurnMadeAFolderAndCommitted_TheForksWorktreeHasTheLink_TheFileBeyondItStays()
    {
        await using var world = await UnsandboxedAsync(new FakeAgent { Script = LinkToFolder(commit: true) });
        CommitCacheLink(world.Repository);
        var sessionId = await world.StartSessionAsync("make the cache a folder", mode: "trusted");
        await using (var events = await world.EventsAsync(sessionId, lastEventId: "0"))
        {
            await events.WaitForAsync("turn.changes");
        }

        var forkId = (await world.Http.PostOkAsync($"/api/sessions/{sessionId}/turns/1/fork", new { })).GetProperty("id").GetString()!;
        await using (var fork = await world.EventsAsync(forkId, lastEventId: "0"))
        {
            var end = await fork.WaitForAsync(e => (e.Event == "session.preparing" && e.Str("phase") == "ready") || e.Event == "session.error");
            Assert.Equal("session.preparing", end.Event);
        }

        var worktree = (await world.Http.GetOkAsync($"/api/sessions/{forkId}/worktree")).GetProperty("path").GetString()!;
        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Equal(PreciousFolder, new DirectoryInfo(Path.Combine(worktree, "cache")).LinkTarget);
    }

    /// <summary>
    /// Discarding what the agent did to a tracked file (replaced it with a link to the owner's file), an untracked link to it, and a
    /// path beyond a link to the owner's folder: each is refused as leading outside before git sees it, and nothing outside changes.
    /// </summary>
    [Fact]
    public async Task GitDiscard_LinksLeadingOut_RefusedBeforeGit_TheirTargetsStay()
    {
        await using var world = await UnsandboxedAsync(new FakeAgent());
        var notes = Path.Combine(world.Repository, "notes.txt");
        File.WriteAllText(notes, "the project's notes\n");
        TempPaths.Git(world.Repository, "add", "notes.txt");
        TempPaths.Git(world.Repository, [.. Owner, "commit", "-q", "-m", "notes"]);
        File.Delete(notes);
        File.CreateSymbolicLink(notes, Precious);
        File.CreateSymbolicLink(Path.Combine(world.Repository, "stray"), Precious);
        Directory.CreateSymbolicLink(Path.Combine(world.Repository, "away"), PreciousFolder);

        foreach (var path in new[] { "notes.txt", "stray", "away/keep.txt" })
        {
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/git/discard", new { paths = new[] { path } }),
                HttpStatusCode.BadRequest, "OUTSIDE_PROJECT_ROOT");
        }

        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Equal(["keep.txt"], Directory.GetFiles(PreciousFolder).Select(Path.GetFileName));
        Assert.Equal(Precious, new FileInfo(notes).LinkTarget);
    }

    /// <summary>
    /// The owner's checkout (git's own writes, on the app's request) along the exploit's path: main commits cache as a link to the
    /// owner's folder, another branch has it as a folder holding keep.txt. Switching there and back removes cache/keep.txt and puts
    /// the link back, never deleting through it; an untracked link where a checkout writes is refused by git, not written through.
    /// </summary>
    [Fact]
    public async Task GitCheckout_TheLinkAndTheFolderInTurn_NothingBeyondTheLinkIsTouched()
    {
        await using var world = await UnsandboxedAsync(new FakeAgent());
        CommitCacheLink(world.Repository);
        TempPaths.Git(world.Repository, "checkout", "-q", "-b", "folder");
        File.Delete(Path.Combine(world.Repository, "cache"));
        Directory.CreateDirectory(Path.Combine(world.Repository, "cache"));
        File.WriteAllText(Path.Combine(world.Repository, "cache", "keep.txt"), "the branch's\n");
        File.WriteAllText(Path.Combine(world.Repository, "cache", "new.txt"), "the branch's\n");
        TempPaths.Git(world.Repository, "add", "-A");
        TempPaths.Git(world.Repository, [.. Owner, "commit", "-q", "-m", "cache is a folder"]);
        TempPaths.Git(world.Repository, "checkout", "-q", "main");
        Assert.Equal(PreciousFolder, new DirectoryInfo(Path.Combine(world.Repository, "cache")).LinkTarget);

        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/git/checkout", new { @ref = "folder" });
        Assert.Equal("the branch's\n", File.ReadAllText(Path.Combine(world.Repository, "cache", "keep.txt")));
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/git/checkout", new { @ref = "main" });
        Assert.Equal(PreciousFolder, new DirectoryInfo(Path.Combine(world.Repository, "cache")).LinkTarget);
        Assert.Equal("the owner's\n", File.ReadAllText(Precious));

        // main again, the link untracked now (the owner's commit removed it): a checkout of the folder's branch would write through it.
        TempPaths.Git(world.Repository, "rm", "-q", "--cached", "cache");
        TempPaths.Git(world.Repository, [.. Owner, "commit", "-q", "-m", "cache untracked"]);
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/git/checkout", new { @ref = "folder" }),
            HttpStatusCode.Conflict, "GIT_FAILED");
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(PreciousFolder).Select(Path.GetFileName));
        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
    }

    /// <summary>
    /// A merge into the branch the project's folder has checked out writes the branch's new files there: a link planted in the folder
    /// where one goes makes git refuse (nothing merged, a 409), never write beyond it.
    /// </summary>
    [Fact]
    public async Task WorktreeMerge_ALinkPlantedWhereTheMergeWrites_NothingWrittenBeyondIt()
    {
        await using var world = await UnsandboxedAsync(new FakeAgent());
        TempPaths.Git(world.Repository, "config", "user.name", "Owner");
        TempPaths.Git(world.Repository, "config", "user.email", "owner@example.invalid");
        var (sessionId, worktree) = await WorktreeSessionAsync(world);
        Directory.CreateDirectory(Path.Combine(worktree, "cache"));
        File.WriteAllText(Path.Combine(worktree, "cache", "new.txt"), "from the session\n");
        File.WriteAllText(Path.Combine(worktree, "cache", "keep.txt"), "from the session\n");
        Directory.CreateSymbolicLink(Path.Combine(world.Repository, "cache"), PreciousFolder);

        var merged = await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/worktree/merge", new { });

        await ApiAssert.ProblemAsync(merged, HttpStatusCode.Conflict, "GIT_FAILED");
        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Equal(["keep.txt"], Directory.GetFiles(PreciousFolder).Select(Path.GetFileName));
    }

    /// <summary>Removing a worktree (branch and all) that holds a link to the owner's folder removes the link, not the folder's files.</summary>
    [Fact]
    public async Task WorktreeDiscard_ALinkInTheWorktree_GoesWithIt_TheFolderItPointsToStays()
    {
        await using var world = await UnsandboxedAsync(new FakeAgent());
        var (sessionId, worktree) = await WorktreeSessionAsync(world);
        Directory.CreateSymbolicLink(Path.Combine(worktree, "escape"), PreciousFolder);
        File.CreateSymbolicLink(Path.Combine(worktree, "escape-file"), Precious);
        // A folder under the worktrees nothing knows (a crash before it was recorded): removed whole by the server, not by git.
        var orphan = Path.Combine(world.Server.DataDirectory, "worktrees", world.ProjectId, "0123456789abcdef");
        Directory.CreateDirectory(orphan);
        Directory.CreateSymbolicLink(Path.Combine(orphan, "escape"), PreciousFolder);

        var removed = await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/worktree/remove", new { discardBranch = true });
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/worktrees/orphans/clean", new { });

        Assert.False(Directory.Exists(worktree) || Directory.Exists(orphan));
        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
    }

    /// <summary>
    /// A worktree's submodule is checked out into a folder the server makes: a folder on its way swapped for a link to the owner's
    /// folder just before (as a process could) is not followed, so neither the folder nor the submodule's files land outside.
    /// </summary>
    [Fact]
    public async Task WorktreeSubmodule_AFolderOnItsWaySwappedForALink_NothingIsMadeBeyondIt()
    {
        await using var world = await UnsandboxedAsync(new FakeAgent());
        var library = TempPaths.NewGitRepository();
        TempPaths.Git(world.Repository, "-c", "protocol.file.allow=always", "submodule", "add", "-q", library, "vendor/lib");
        TempPaths.Git(world.Repository, [.. Owner, "commit", "-q", "-m", "add lib"]);
        TempPaths.Delete(library);
        world.Server.Services.GetRequiredService<SessionWorktrees>().BeforePhase = (phase, _) =>
        {
            if (phase == PreparationPhases.Submodules)
            {
                var worktree = Directory.GetDirectories(Path.Combine(world.Server.DataDirectory, "worktrees", world.ProjectId)).Single();
                Directory.Delete(Path.Combine(worktree, "vendor"), recursive: true);
                Directory.CreateSymbolicLink(Path.Combine(worktree, "vendor"), PreciousFolder);
            }

            return Task.CompletedTask;
        };

        await WorktreeSessionAsync(world);

        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(PreciousFolder).Select(Path.GetFileName));
    }

    /// <summary>A world whose project runs its agent unsandboxed: what is tested is the server's own file changes, on any machine.</summary>
    private static async Task<AgentWorld> UnsandboxedAsync(FakeAgent fake)
    {
        var world = await AgentWorld.FakeAsync(fake);
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { sandbox = "none" }));
        return world;
    }

    /// <summary>The repository commits cache as a link to the folder outside.</summary>
    private void CommitCacheLink(string repository)
    {
        Directory.CreateSymbolicLink(Path.Combine(repository, "cache"), PreciousFolder);
        TempPaths.Git(repository, "add", "cache");
        TempPaths.Git(repository, [.. Owner, "commit", "-q", "-m", "cache"]);
    }

    /// <summary>
    /// The turn's allowed command (a trusted session's, asked through the gate, so after the turn's opening snapshot): cache, a link,
    /// becomes a real folder holding keep.txt (committed, when told).
    /// </summary>
    private static Func<FakeAgentSession, AgentPrompt, Task> LinkToFolder(bool commit) => async (session, prompt) =>
    {
        // (What it asks to run is beside the point: the change below is made on disk once the gate has let the call through.)
        await session.AskToRunAsync("ls");
        var cache = Path.Combine(session.Options!.WorkingDirectory, "cache");
        File.Delete(cache);
        Directory.CreateDirectory(cache);
        await File.WriteAllTextAsync(Path.Combine(cache, "keep.txt"), "made in the project\n");
        if (commit)
        {
            TempPaths.Git(session.Options.WorkingDirectory, "add", "-A");
            TempPaths.Git(session.Options.WorkingDirectory, [.. Owner, "commit", "-q", "-m", "cache is a folder"]);
        }

        await session.SayAsync("Done.");
        await session.EndTurnAsync();
    };

    /// <summary>A session on a worktree of its own, once its worktree is ready, and its turn over.</summary>
    private static async Task<(string SessionId, string Worktree)> WorktreeSessionAsync(AgentWorld world)
    {
        var created = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = FakeAgent.AgentId, prompt = "first", worktree = true });
        var id = created.GetProperty("id").GetString()!;
        await using (var events = await world.EventsAsync(id, lastEventId: "0"))
        {
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: first");
            await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
        }

        return (id, (await world.Http.GetOkAsync($"/api/sessions/{id}/worktree")).GetProperty("path").GetString()!);
    }

    public ValueTask DisposeAsync()
    {
        TempPaths.Delete(_outside);
        return ValueTask.CompletedTask;
    }
}
