using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Workspace;

public sealed class GitTests
{
    [Fact]
    public async Task StageCommitPush_ToLocalBareRemote_CommitArrivesAndIsLedgered()
    {
        var remote = TempPaths.NewDirectory("pc-remote");
        WorkspaceWorld.Git(remote, "init", "-q", "--bare", "-b", "main");
        await using var world = await WorkspaceWorld.StartAsync();
        try
        {
            WorkspaceWorld.Git(world.Repository, "remote", "add", "origin", remote);
            WorkspaceWorld.Git(world.Repository, "push", "-q", "-u", "origin", "main");
            File.WriteAllText(Path.Combine(world.Repository, "README.md"), "# changed\n");
            File.WriteAllText(Path.Combine(world.Repository, "new file.txt"), "new\n");

            var status = await world.Http.GetOkAsync($"{world.Api}/git/status");
            Assert.Equal("main", status.GetProperty("branch").GetString());
            Assert.Equal("origin/main", status.GetProperty("upstream").GetString());
            Assert.Equal("README.md", Assert.Single(status.GetProperty("unstaged").EnumerateArray()).GetProperty("path").GetString());
            Assert.Equal("new file.txt", Assert.Single(status.GetProperty("untracked").EnumerateArray()).GetString());
            Assert.Empty(status.GetProperty("staged").EnumerateArray());

            var diff = await world.Http.GetOkAsync($"{world.Api}/git/diff?path=README.md");
            Assert.Contains("+# changed", diff.GetProperty("diff").GetString());

            var staged = await world.Http.PostOkAsync($"{world.Api}/git/stage", new { paths = new[] { "README.md", "new file.txt" } });
            Assert.Equal(2, staged.GetProperty("staged").GetArrayLength());
            var stagedDiff = await world.Http.GetOkAsync($"{world.Api}/git/diff?staged=true");
            Assert.Contains("+new", stagedDiff.GetProperty("diff").GetString());

            var unstaged = await world.Http.PostOkAsync($"{world.Api}/git/unstage", new { paths = new[] { "new file.txt" } });
            Assert.Equal("README.md", Assert.Single(unstaged.GetProperty("staged").EnumerateArray()).GetProperty("path").GetString());

            var commit = await world.Http.PostOkAsync($"{world.Api}/git/commit", new { message = "-m looks like an option\n\nbody" });
            var sha = commit.GetProperty("sha").GetString()!;
            Assert.Equal(WorkspaceWorld.Git(world.Repository, "rev-parse", "HEAD").Trim(), sha);
            Assert.Equal("-m looks like an option", WorkspaceWorld.Git(world.Repository, "log", "-1", "--format=%s").Trim());
            var ahead = await world.Http.GetOkAsync($"{world.Api}/git/status");
            Assert.Equal(1, ahead.GetProperty("ahead").GetInt32());

            var push = await world.Http.PostOkAsync($"{world.Api}/git/push", new { });
            Assert.True(push.GetProperty("ok").GetBoolean());
            Assert.Equal(sha, WorkspaceWorld.Git(remote, "rev-parse", "main").Trim());

            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/commit", new { message = "again" }),
                HttpStatusCode.Conflict, "NOTHING_TO_COMMIT");

            foreach (var action in new[] { "git.staged", "git.unstaged", "git.committed", "git.pushed" })
            {
                var entry = Assert.Single(await world.LedgerAsync(action));
                Assert.Equal(world.Phone.DeviceId, entry.GetProperty("detail").GetProperty("deviceId").GetString());
            }
        }
        finally
        {
            TempPaths.Delete(remote);
        }
    }

    [Fact]
    public async Task Push_Rejected_ExplainsAndReturnsGitOutput()
    {
        var remote = TempPaths.NewDirectory("pc-remote");
        WorkspaceWorld.Git(remote, "init", "-q", "--bare", "-b", "main");
        await using var world = await WorkspaceWorld.StartAsync();
        var other = TempPaths.NewDirectory("pc-clone");
        try
        {
            WorkspaceWorld.Git(world.Repository, "remote", "add", "origin", remote);
            WorkspaceWorld.Git(world.Repository, "push", "-q", "-u", "origin", "main");
            WorkspaceWorld.Git(other, "clone", "-q", remote, ".");
            WorkspaceWorld.Git(other, "-c", "user.email=o@example.invalid", "-c", "user.name=O", "commit", "-q", "--allow-empty", "-m", "theirs");
            WorkspaceWorld.Git(other, "push", "-q");
            WorkspaceWorld.Git(world.Repository, "commit", "-q", "--allow-empty", "-m", "ours");

            var body = await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/push", new { }), HttpStatusCode.Conflict, "GIT_FAILED");
            Assert.Contains("pull", body.GetProperty("detail").GetString());
            Assert.Contains("rejected", body.GetProperty("detail").GetString());
        }
        finally
        {
            TempPaths.Delete(remote);
            TempPaths.Delete(other);
        }
    }

    [Fact]
    public async Task Push_NoUpstream_NoUpstreamCode()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/push", new { }), HttpStatusCode.Conflict, "NO_UPSTREAM");
    }

    [Fact]
    public async Task BranchCheckoutAndFileBase_Work()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var created = await world.Http.PostOkAsync($"{world.Api}/git/branch", new { name = "feature/x", checkout = true });
        Assert.Equal("feature/x", created.GetProperty("branch").GetString());
        var branches = await world.Http.GetOkAsync($"{world.Api}/git/branches");
        Assert.Equal("feature/x", branches.GetProperty("current").GetString());
        Assert.Equal(2, branches.GetProperty("branches").GetArrayLength());

        var back = await world.Http.PostOkAsync($"{world.Api}/git/checkout", new { @ref = "main" });
        Assert.Equal("main", back.GetProperty("branch").GetString());
        Assert.Equal("main", WorkspaceWorld.Git(world.Repository, "branch", "--show-current").Trim());

        File.WriteAllText(Path.Combine(world.Repository, "README.md"), "edited\n");
        var baseFile = await world.Http.GetOkAsync($"{world.Api}/git/file-base?path=README.md");
        Assert.Equal("# test project\n", baseFile.GetProperty("content").GetString());
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/git/file-base?path=nope.txt"), HttpStatusCode.NotFound, "FILE_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/checkout", new { @ref = "no-such-branch" }),
            HttpStatusCode.BadRequest, "INVALID_REF");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/branch", new { name = "bad..name" }),
            HttpStatusCode.BadRequest, "INVALID_REF");
        Assert.Single(await world.LedgerAsync("git.branch_created"));
        Assert.Single(await world.LedgerAsync("git.checked_out"));
    }

    [Fact]
    public async Task OptionInjection_BranchRefAndPaths_FailSafelyAndCreateNothing()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var marker = Path.Combine(Path.GetTempPath(), $"pc-pwned-{Guid.NewGuid():N}");
        var injections = new[]
        {
            $"--upload-pack=touch {marker}", $"--exec=touch {marker}", $"-c core.pager=touch {marker}", $"--output={marker}", "-b", "--orphan=evil",
            "-D", $"--receive-pack=touch {marker}", "--help", $"-o{marker}",
        };
        var before = WorkspaceWorld.Git(world.Repository, "for-each-ref").Trim();
        foreach (var injection in injections)
        {
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/branch", new { name = injection }), HttpStatusCode.BadRequest, "INVALID_REF");
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/checkout", new { @ref = injection }), HttpStatusCode.BadRequest, "INVALID_REF");
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/branch", new { name = "ok-name", from = injection }),
                HttpStatusCode.BadRequest, "INVALID_REF");

            // A path that looks like an option is just a (missing) path after "--": git says so, or stages nothing.
            var stage = await world.Http.PostAsJsonAsync($"{world.Api}/git/stage", new { paths = new[] { injection } });
            Assert.NotEqual(HttpStatusCode.InternalServerError, stage.StatusCode);
            var diff = await world.Http.GetAsync($"{world.Api}/git/diff?path={Uri.EscapeDataString(injection)}");
            Assert.NotEqual(HttpStatusCode.InternalServerError, diff.StatusCode);
            var fileBase = await world.Http.GetAsync($"{world.Api}/git/file-base?path={Uri.EscapeDataString(injection)}");
            Assert.NotEqual(HttpStatusCode.InternalServerError, fileBase.StatusCode);
        }

        Assert.False(File.Exists(marker), "an injected option ran");
        Assert.Equal(before, WorkspaceWorld.Git(world.Repository, "for-each-ref").Trim());
        Assert.Equal("main", WorkspaceWorld.Git(world.Repository, "branch", "--show-current").Trim());
        Assert.Empty(WorkspaceWorld.Git(world.Repository, "diff", "--cached", "--name-only").Trim());
        Assert.False(File.Exists(Path.Combine(world.Repository, "-b")));
    }

    [Fact]
    public async Task Status_NotARepository_GitNotInitialized()
    {
        var plain = TempPaths.NewDirectory("pc-plain");
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        try
        {
            var project = await phone.Http.PostOkAsync("/api/projects", new { path = plain });
            var api = $"/api/projects/{project.GetProperty("id").GetString()}/git";
            await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"{api}/status"), HttpStatusCode.Conflict, "GIT_NOT_INITIALIZED");
            await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"{api}/branches"), HttpStatusCode.Conflict, "GIT_NOT_INITIALIZED");
            await ApiAssert.ProblemAsync(await phone.Http.PostAsJsonAsync($"{api}/commit", new { message = "x" }), HttpStatusCode.Conflict, "GIT_NOT_INITIALIZED");
        }
        finally
        {
            TempPaths.Delete(plain);
        }
    }

    [Fact]
    public async Task StagePath_OutsideRoot_RefusedWithOutsideProjectRoot()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/stage", new { paths = new[] { "../x" } }),
            HttpStatusCode.BadRequest, "OUTSIDE_PROJECT_ROOT");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/git/diff?path=%2Fetc%2Fpasswd"), HttpStatusCode.BadRequest, "OUTSIDE_PROJECT_ROOT");
    }

    [Fact]
    public async Task LogAndCommitDetail_PagesNewestFirst_AndShowTheCommitsPatch()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        for (var i = 1; i <= 3; i++)
        {
            File.WriteAllText(Path.Combine(world.Repository, "n.txt"), $"line {i}\n");
            WorkspaceWorld.Git(world.Repository, "add", "n.txt");
            WorkspaceWorld.Git(world.Repository, "commit", "-q", "-m", $"change {i}", "-m", $"body of {i}");
        }

        var first = await world.Http.GetOkAsync($"{world.Api}/git/log?limit=2");
        var commits = first.GetProperty("commits").EnumerateArray().ToList();
        Assert.Equal(["change 3", "change 2"], commits.Select(c => c.GetProperty("subject").GetString()));
        Assert.Equal(2, first.GetProperty("next").GetInt32());
        Assert.Equal(WorkspaceWorld.Git(world.Repository, "rev-parse", "HEAD").Trim(), commits[0].GetProperty("sha").GetString());
        Assert.Equal(commits[1].GetProperty("sha").GetString(), Assert.Single(commits[0].GetProperty("parents").EnumerateArray()).GetString());

        var rest = await world.Http.GetOkAsync($"{world.Api}/git/log?limit=2&skip=2");
        Assert.Equal(["change 1", "initial"], rest.GetProperty("commits").EnumerateArray().Select(c => c.GetProperty("subject").GetString()));
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("next").ValueKind);

        var detail = await world.Http.GetOkAsync($"{world.Api}/git/commits/{commits[0].GetProperty("sha").GetString()}");
        Assert.Equal("change 3\n\nbody of 3", detail.GetProperty("message").GetString());
        Assert.Contains("-line 2\n+line 3", detail.GetProperty("diff").GetString());

        var marker = Path.Combine(Path.GetTempPath(), $"pc-pwned-{Guid.NewGuid():N}");
        foreach (var bad in new[] { $"--output={marker}", "no-such-commit", "-p" })
        {
            await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/git/commits/{Uri.EscapeDataString(bad)}"), HttpStatusCode.BadRequest, "INVALID_REF");
            await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/git/log?ref={Uri.EscapeDataString(bad)}"), HttpStatusCode.BadRequest, "INVALID_REF");
        }

        Assert.False(File.Exists(marker), "an injected option ran");

        // What a commit's author may write cannot break the page: separators in the subject, a time zone out of range,
        // and a tag's name resolves to its commit.
        var tree = WorkspaceWorld.Git(world.Repository, "rev-parse", "HEAD^{tree}").Trim();
        var odd = Path.Combine(world.Repository, ".git", "odd-commit");
        File.WriteAllText(odd, $"tree {tree}\nparent {commits[0].GetProperty("sha").GetString()}\nauthor A\u001eB <a@example.invalid> 1700000000 +9959\n" +
            "committer A <a@example.invalid> 1700000000 +0000\n\nsub\u001eject\n");
        var sha = WorkspaceWorld.Git(world.Repository, "hash-object", "--literally", "-t", "commit", "-w", odd).Trim();
        WorkspaceWorld.Git(world.Repository, "update-ref", "refs/heads/main", sha);
        WorkspaceWorld.Git(world.Repository, "tag", "-a", "-m", "release", "v1", sha);
        var top = (await world.Http.GetOkAsync($"{world.Api}/git/log?limit=1")).GetProperty("commits")[0];
        Assert.Equal(sha, top.GetProperty("sha").GetString());
        Assert.Equal("A\u001eB", top.GetProperty("authorName").GetString());
        var tagged = await world.Http.GetOkAsync($"{world.Api}/git/commits/v1");
        Assert.Equal(sha, tagged.GetProperty("commit").GetProperty("sha").GetString());
    }

    [Fact]
    public async Task Discard_RestoresTrackedDeletesUntracked_KeepsStagedUnlessAsked_AndIsLedgered()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var readme = Path.Combine(world.Repository, "README.md");
        File.WriteAllText(readme, "staged\n");
        WorkspaceWorld.Git(world.Repository, "add", "README.md");
        File.WriteAllText(readme, "staged and then more\n");
        File.WriteAllText(Path.Combine(world.Repository, "scratch.txt"), "junk\n");
        Directory.CreateDirectory(Path.Combine(world.Repository, "keep"));
        File.WriteAllText(Path.Combine(world.Repository, "keep", "a.txt"), "a\n");

        var status = await world.Http.PostOkAsync($"{world.Api}/git/discard", new { paths = new[] { "README.md", "scratch.txt" } });
        Assert.Equal("staged\n", File.ReadAllText(readme));
        Assert.False(File.Exists(Path.Combine(world.Repository, "scratch.txt")));
        Assert.Equal("README.md", Assert.Single(status.GetProperty("staged").EnumerateArray()).GetProperty("path").GetString());

        // A folder is not a file: refused, and what is in it is left alone (a tracked one would be reverted whole).
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/discard", new { paths = new[] { "keep" } }),
            HttpStatusCode.BadRequest, "INVALID_PATH");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/discard", new { paths = new[] { "" } }),
            HttpStatusCode.BadRequest, "INVALID_PATH");
        Assert.True(File.Exists(Path.Combine(world.Repository, "keep", "a.txt")));

        await world.Http.PostOkAsync($"{world.Api}/git/discard", new { paths = new[] { "README.md" }, includeStaged = true });
        Assert.Equal("# test project\n", File.ReadAllText(readme));
        Assert.Empty(WorkspaceWorld.Git(world.Repository, "diff", "--cached", "--name-only").Trim());

        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/discard", new { paths = new[] { "../outside.txt" } }),
            HttpStatusCode.BadRequest, "OUTSIDE_PROJECT_ROOT");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/discard", new { paths = Array.Empty<string>() }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        var entries = await world.LedgerAsync("git.discarded");
        Assert.Equal(2, entries.Count);
        Assert.Contains(entries, e => e.GetProperty("detail").GetProperty("deleted").EnumerateArray().Select(p => p.GetString()).SequenceEqual(["scratch.txt"]));
    }
}
