using System.Net.Http.Json;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Tests.Workspace;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// An agent that can write .git/config can name programs git will run. The server's own git (status, diff,
/// stage, commit, checkout from the phone) must run none of them.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HostileGitConfigTests
{
    [Fact]
    public async Task HostileRepositoryConfig_StatusDiffStageCommitCheckoutHistoryDiscard_RunNoneOfItsPrograms()
    {
        var markers = TempPaths.NewDirectory("pc-markers");
        await using var world = await WorkspaceWorld.StartAsync();
        try
        {
            var repo = world.Repository;
            var evil = Path.Combine(markers, "evil.sh");
            // Touches a marker named by its first argument, then passes stdin through so git would be satisfied.
            File.WriteAllText(evil, $"#!/bin/sh\ntouch '{markers}'/ran-$1\ncat\n");
            File.SetUnixFileMode(evil, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var hooks = Path.Combine(markers, "hooks");
            Directory.CreateDirectory(hooks);
            foreach (var hook in new[] { "pre-commit", "commit-msg", "post-commit", "post-checkout", "prepare-commit-msg" })
            {
                File.WriteAllText(Path.Combine(hooks, hook), $"#!/bin/sh\ntouch '{markers}'/ran-hook-{hook}\n");
                File.SetUnixFileMode(Path.Combine(hooks, hook), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            File.WriteAllText(Path.Combine(repo, ".gitattributes"), "*.txt filter=evil.one diff=evil\n");
            File.WriteAllText(Path.Combine(repo, "data.txt"), "one\n");
            WorkspaceWorld.Git(repo, "add", "-A");
            WorkspaceWorld.Git(repo, "commit", "-q", "-m", "attributes");
            foreach (var (key, value) in new[]
            {
                ("core.fsmonitor", $"{evil} fsmonitor"),
                ("core.hooksPath", hooks),
                ("filter.evil.one.clean", $"{evil} clean"),
                ("filter.evil.one.smudge", $"{evil} smudge"),
                ("filter.evil.one.process", $"{evil} process"),
                ("diff.external", $"{evil} external"),
                ("diff.evil.command", $"{evil} diffcommand"),
                ("diff.evil.textconv", $"{evil} textconv"),
                ("commit.gpgSign", "true"),
                // git runs gpg.program without a shell: the script itself, so it would run (and mark) if ever called.
                ("gpg.program", evil),
                ("core.pager", $"{evil} pager"),
                ("log.showSignature", "true"),
                ("gpg.ssh.program", evil),
            })
            {
                WorkspaceWorld.Git(repo, "config", key, value);
            }

            File.WriteAllText(Path.Combine(repo, "data.txt"), "two\n");
            var status = await world.Http.GetOkAsync($"{world.Api}/git/status");
            Assert.Equal("data.txt", Assert.Single(status.GetProperty("unstaged").EnumerateArray()).GetProperty("path").GetString());
            var diff = await world.Http.GetOkAsync($"{world.Api}/git/diff?path=data.txt");
            Assert.Contains("+two", diff.GetProperty("diff").GetString());
            await world.Http.PostOkAsync($"{world.Api}/git/stage", new { paths = new[] { "data.txt" } });
            await world.Http.GetOkAsync($"{world.Api}/git/diff?staged=true");
            await world.Http.PostOkAsync($"{world.Api}/git/commit", new { message = "from the phone" });
            // Checking out rewrites data.txt both ways: the smudge filter and post-checkout hook would run.
            await world.Http.PostOkAsync($"{world.Api}/git/branch", new { name = "side", from = "HEAD~1", checkout = true });
            Assert.Equal("one\n", File.ReadAllText(Path.Combine(repo, "data.txt")));
            await world.Http.PostOkAsync($"{world.Api}/git/checkout", new { @ref = "main" });

            Assert.Equal("two\n", File.ReadAllText(Path.Combine(repo, "data.txt")));

            // A signed commit (as any made on GitHub's web UI): history and a commit's page would check its signature
            // with the repository's gpg.program. The signature is junk; what matters is whether anything runs to check it.
            var tree = WorkspaceWorld.Git(repo, "rev-parse", "HEAD^{tree}").Trim();
            var parent = WorkspaceWorld.Git(repo, "rev-parse", "HEAD").Trim();
            var signed = Path.Combine(markers, "signed-commit");
            File.WriteAllText(signed, $"tree {tree}\nparent {parent}\nauthor A <a@example.invalid> 1700000000 +0000\n" +
                "committer A <a@example.invalid> 1700000000 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n\nsigned\n");
            var sha = WorkspaceWorld.Git(repo, "hash-object", "-t", "commit", "-w", signed).Trim();
            WorkspaceWorld.Git(repo, "update-ref", "refs/heads/main", sha);
            var log = await world.Http.GetOkAsync($"{world.Api}/git/log");
            Assert.Equal(sha, log.GetProperty("commits")[0].GetProperty("sha").GetString());
            await world.Http.GetOkAsync($"{world.Api}/git/commits/{sha}");

            // Discarding restores through the smudge filter the repository names.
            File.WriteAllText(Path.Combine(repo, "data.txt"), "three\n");
            await world.Http.PostOkAsync($"{world.Api}/git/discard", new { paths = new[] { "data.txt" } });
            Assert.Equal("two\n", File.ReadAllText(Path.Combine(repo, "data.txt")));
            Assert.Empty(Directory.GetFiles(markers, "ran-*"));
        }
        finally
        {
            TempPaths.Delete(markers);
        }
    }

    [Fact]
    public async Task PartialCloneWithHostileSshCommand_ReadingAMissingBlob_RunsNoTransport()
    {
        var markers = TempPaths.NewDirectory("pc-markers");
        var source = TempPaths.NewGitRepository();
        var clone = Path.Combine(TempPaths.NewDirectory("pc-partial"), "clone");
        try
        {
            WorkspaceWorld.Git(source, "config", "uploadpack.allowFilter", "true");
            // Blobs stay on the "promisor" remote: reading one makes git fetch it, through core.sshCommand for ssh.
            WorkspaceWorld.Git(markers, "clone", "-q", "--filter=blob:none", "--no-checkout", "file://" + source, clone);
            var evil = Path.Combine(markers, "ssh.sh");
            File.WriteAllText(evil, $"#!/bin/sh\ntouch '{markers}'/ran-ssh\nexit 1\n");
            File.SetUnixFileMode(evil, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            WorkspaceWorld.Git(clone, "config", "remote.origin.url", "ssh://example.invalid/repo");
            WorkspaceWorld.Git(clone, "config", "core.sshCommand", evil);
            // A protocol's own allow outranks the general one: it must not open what the app closed.
            WorkspaceWorld.Git(clone, "config", "protocol.ssh.allow", "always");

            await using var world = await WorkspaceWorld.StartAsync(clone);
            var response = await world.Http.GetAsync($"{world.Api}/git/file-base?path=README.md");

            Assert.NotEqual(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Empty(Directory.GetFiles(markers, "ran-*"));
        }
        finally
        {
            TempPaths.Delete(markers);
            TempPaths.Delete(source);
            TempPaths.Delete(Path.GetDirectoryName(clone)!);
        }
    }

    /// <summary>
    /// A <c>commondir</c> file in the repository's git folder makes git take config, hooks and refs from the folder it names
    /// (here one with core.fsmonitor, core.sshCommand and an ssh remote). Only linked worktrees' folders have one: the app's
    /// git refuses the repository, saying why, and runs nothing it names.
    /// </summary>
    [Fact]
    public async Task GitFolderRedirected_CommondirPlanted_RefusedAndNothingItNamesRuns()
    {
        var markers = TempPaths.NewDirectory("pc-markers");
        var remote = TempPaths.NewDirectory("pc-remote");
        await using var world = await WorkspaceWorld.StartAsync();
        try
        {
            var repo = world.Repository;
            WorkspaceWorld.Git(remote, "init", "-q", "--bare", "-b", "main");
            WorkspaceWorld.Git(repo, "remote", "add", "origin", remote);
            WorkspaceWorld.Git(repo, "push", "-q", "-u", "origin", "main");
            var evil = Path.Combine(markers, "evil.git");
            WorkspaceWorld.Git(markers, "clone", "-q", "--bare", repo, evil);
            foreach (var (key, value) in new[]
            {
                ("core.bare", "false"), ("core.fsmonitor", Script(markers, "fsmonitor")), ("core.sshCommand", Script(markers, "ssh")),
                ("remote.origin.url", "ssh://pocketcoder.invalid/repo"), ("branch.main.remote", "origin"), ("branch.main.merge", "refs/heads/main"),
            })
            {
                WorkspaceWorld.Git(evil, "config", key, value);
            }

            WorkspaceWorld.Git(evil, "update-ref", "refs/remotes/origin/main", "main");
            File.WriteAllText(Path.Combine(repo, ".git", "commondir"), evil + "\n");

            var status = await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/git/status"), System.Net.HttpStatusCode.Conflict, "GIT_REDIRECTED");
            Assert.Contains("commondir", status.GetProperty("detail").GetString(), StringComparison.Ordinal);
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/git/push", new { }), System.Net.HttpStatusCode.Conflict, "GIT_REDIRECTED");
            Assert.Empty(Directory.GetFiles(markers, "ran-*"));
        }
        finally
        {
            TempPaths.Delete(markers);
            TempPaths.Delete(remote);
        }
    }

    /// <summary>
    /// Push talks to a remote with the owner's own ssh and credential set-up, never a program the repository's config names:
    /// a receive-pack command (run locally for a remote on this machine), a URL rewritten to the <c>ext::</c> transport the
    /// config allows, an ssh command, a credential helper, an upload-pack.
    /// </summary>
    [Fact]
    public async Task Push_ProgramsTheRepositoryConfigNames_NoneRuns()
    {
        var markers = TempPaths.NewDirectory("pc-markers");
        var remote = TempPaths.NewDirectory("pc-remote");
        await using var world = await WorkspaceWorld.StartAsync();
        try
        {
            var repo = world.Repository;
            WorkspaceWorld.Git(remote, "init", "-q", "--bare", "-b", "main");
            WorkspaceWorld.Git(repo, "remote", "add", "origin", remote);
            WorkspaceWorld.Git(repo, "push", "-q", "-u", "origin", "main");
            var push = $"{world.Api}/git/push";

            WorkspaceWorld.Git(repo, "config", "remote.origin.receivepack", Script(markers, "receivepack"));
            WorkspaceWorld.Git(repo, "commit", "-q", "--allow-empty", "-m", "one");
            await world.Http.PostOkAsync(push, new { });
            Assert.Equal(WorkspaceWorld.Git(repo, "rev-parse", "main").Trim(), WorkspaceWorld.Git(remote, "rev-parse", "main").Trim());
            WorkspaceWorld.Git(repo, "config", "--unset", "remote.origin.receivepack");

            WorkspaceWorld.Git(repo, "config", "protocol.ext.allow", "always");
            WorkspaceWorld.Git(repo, "config", $"url.ext::{Script(markers, "ext")}.insteadOf", remote);
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(push, new { }), System.Net.HttpStatusCode.Conflict, "GIT_FAILED");
            WorkspaceWorld.Git(repo, "config", "--remove-section", $"url.ext::{Script(markers, "ext")}");

            WorkspaceWorld.Git(repo, "config", "remote.origin.url", "ssh://pocketcoder.invalid/repo");
            WorkspaceWorld.Git(repo, "config", "core.sshCommand", Script(markers, "ssh"));
            var refused = await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(push, new { }), System.Net.HttpStatusCode.Conflict, "GIT_PROGRAM_REFUSED");
            Assert.Contains("core.sshcommand", refused.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
            WorkspaceWorld.Git(repo, "config", "--unset", "core.sshCommand");
            WorkspaceWorld.Git(repo, "config", "remote.origin.url", remote);

            foreach (var (key, value) in new[]
            {
                ("credential.helper", "!" + Script(markers, "credential")), ("credential.https://example.invalid.helper", "!" + Script(markers, "credential")),
                ("remote.origin.uploadpack", Script(markers, "uploadpack")),
            })
            {
                WorkspaceWorld.Git(repo, "config", key, value);
                await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(push, new { }), System.Net.HttpStatusCode.Conflict, "GIT_PROGRAM_REFUSED");
                WorkspaceWorld.Git(repo, "config", "--unset", key);
            }

            Assert.Empty(Directory.GetFiles(markers, "ran-*"));
        }
        finally
        {
            TempPaths.Delete(markers);
            TempPaths.Delete(remote);
        }
    }

    /// <summary>A script that leaves <c>ran-NAME</c> in <paramref name="markers"/> and fails.</summary>
    private static string Script(string markers, string name)
    {
        var path = Path.Combine(markers, name + ".sh");
        File.WriteAllText(path, $"#!/bin/sh\ntouch '{markers}'/ran-{name}\nexit 1\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
