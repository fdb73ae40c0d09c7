using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// The REAL Claude Code CLI writing where an edit changes what runs next, or where a symlink leads out of
/// the project: the owner is asked even in accept_edits and trusted mode.
/// </summary>
public sealed class ProtectedPathsTests
{
    [Theory]
    [InlineData("accept_edits", ".claude/settings.json")]
    // A new file: Claude's Write refuses to overwrite a file it has not read first, before asking anyone.
    [InlineData("trusted", ".git/hooks/pre-commit")]
    public async Task ClaudeWritesProtectedPath_ApprovalAsked(string mode, string relative)
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var target = Path.Combine(world.Repository, relative);
        var before = File.Exists(target) ? await File.ReadAllTextAsync(target) : null;
        world.Model.Enqueue(ScriptedReply.ToolUse("Write", new { file_path = target, content = "[core]\n\tfsmonitor = touch pwned\n" }),
            ScriptedReply.Text("Left it alone."));

        var sessionId = await world.StartSessionAsync("change the config", mode: mode);
        await using var events = await world.EventsAsync(sessionId);
        var requested = await events.WaitForAsync("approval.requested");
        Assert.True(requested.Json.GetProperty("canEditInput").GetBoolean());
        Assert.Equal(before, File.Exists(target) ? await File.ReadAllTextAsync(target) : null);

        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "deny"));
        await events.WaitForAsync("turn.completed");
        Assert.Equal(before, File.Exists(target) ? await File.ReadAllTextAsync(target) : null);
    }

    [Fact]
    public async Task ClaudeWritesThroughSymlinkLeadingOutside_ApprovalAskedInAcceptEdits()
    {
        var outside = TempPaths.NewDirectory("pc-outside");
        try
        {
            await using var world = await AgentWorld.ClaudeAsync();
            Directory.CreateSymbolicLink(Path.Combine(world.Repository, "out"), outside);
            world.Model.Enqueue(ScriptedReply.ToolUse("Write", new { file_path = Path.Combine(world.Repository, "out", "escaped.txt"), content = "x\n" }),
                ScriptedReply.Text("Left it alone."));

            var sessionId = await world.StartSessionAsync("write a file", mode: "accept_edits");
            await using var events = await world.EventsAsync(sessionId);
            var requested = await events.WaitForAsync("approval.requested");
            await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "deny"));
            await events.WaitForAsync("turn.completed");
            Assert.False(File.Exists(Path.Combine(outside, "escaped.txt")));
        }
        finally
        {
            TempPaths.Delete(outside);
        }
    }
}
