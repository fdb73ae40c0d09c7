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
}
