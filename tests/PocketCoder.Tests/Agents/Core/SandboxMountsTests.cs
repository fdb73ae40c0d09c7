using PocketCoder.Agents.Processes;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>What a sandbox sees, read from its bubblewrap arguments (<see cref="SandboxMounts"/>): where the sockets are covered.</summary>
[Trait("Category", "Unit")]
public sealed class SandboxMountsTests
{
    /// <summary>Where a socket shows inside is where the mounts put it: at its own path, at another where its folder is bound elsewhere, nowhere under a later mount.</summary>
    [Fact]
    public void SandboxMounts_ASocketIsSeenWhereTheMountsShowIt()
    {
        var mounts = SandboxMounts.Of(
        [
            "--unshare-net", "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--tmpfs", "/run", "--ro-bind", "/tmp/home", "/tmp/home",
            "--tmpfs", "/tmp/home/.ssh", "--tmpfs", "/data", "--bind", "/data/agents/claude/home/.claude", "/tmp/home/.claude", "--setenv", "A", "B", "--",
            "--bind", "/ignored", "/ignored",
        ]);

        Assert.Equal(["/var/tmp/x.sock"], SandboxMounts.WhereSeen(mounts, "/var/tmp/x.sock"));
        Assert.Equal(["/tmp/home/agent.sock"], SandboxMounts.WhereSeen(mounts, "/tmp/home/agent.sock"));
        Assert.Empty(SandboxMounts.WhereSeen(mounts, "/tmp/other/x.sock"));
        Assert.Empty(SandboxMounts.WhereSeen(mounts, "/run/user/0/bus"));
        Assert.Empty(SandboxMounts.WhereSeen(mounts, "/tmp/home/.ssh/agent.sock"));
        // The agent's copy of its folder shows at the owner's path (and the owner's own folder there is covered by it).
        Assert.Equal(["/tmp/home/.claude/ide.sock"], SandboxMounts.WhereSeen(mounts, "/data/agents/claude/home/.claude/ide.sock"));
        Assert.Empty(SandboxMounts.WhereSeen(mounts, "/tmp/home/.claude/ide.sock"));
        Assert.Throws<ArgumentException>(() => SandboxMounts.Of(["--overlay-src", "/a"]));
    }
}
