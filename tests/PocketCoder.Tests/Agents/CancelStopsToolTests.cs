using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Tests.Workspace;

namespace PocketCoder.Tests.Agents;

/// <summary>Cancelling a turn stops its tools, not only the turn: an approved long command does not run on.</summary>
public sealed class CancelStopsToolTests
{
    [Fact]
    public Task Codex_ApprovedLongCommand_CancelKillsIt() =>
        CancelKillsToolAsync(AgentWorld.CodexAsync, "sleep 3071", ScriptedReply.ToolUse("exec_command", new { cmd = "sleep 3071" }));

    // Claude Code refuses a standalone long sleep before asking (2.1.332, and the one claude-agent-acp bundles: "Blocked:
    // standalone sleep"), so the long command is another.
    [Fact]
    public Task Claude_ApprovedLongCommand_CancelKillsIt() =>
        CancelKillsToolAsync(() => AgentWorld.ClaudeAsync(), "timeout 3072 tail -f /dev/null",
            ScriptedReply.ToolUse("Bash", new { command = "timeout 3072 tail -f /dev/null", description = "Wait" }));

    [Fact]
    public Task ClaudeOverAcp_ApprovedLongCommand_CancelKillsIt() =>
        CancelKillsToolAsync(AgentWorld.ClaudeAcpAsync, "timeout 3073 tail -f /dev/null",
            ScriptedReply.ToolUse("Bash", new { command = "timeout 3073 tail -f /dev/null", description = "Wait" }));

    /// <param name="command">Unique on this machine: the tool's process is found by it (agents may run tools in a pid namespace).</param>
    private static async Task CancelKillsToolAsync(Func<Task<AgentWorld>> start, string command, ScriptedReply call)
    {
        await using var world = await start();
        world.Model.Enqueue(call, ScriptedReply.Text("Stopped."));
        var sessionId = await world.StartSessionAsync("wait a while");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));

        var pid = await PidAsync(command, events);
        Assert.True(CommandsTests.IsAlive(pid));

        await world.CancelAsync(sessionId);
        var completed = await events.WaitForAsync(e => e.Event is "turn.completed" or "session.error");
        Assert.True(completed.Event == "turn.completed", "error: " + completed.Json.ToString());
        Assert.False(CommandsTests.IsAlive(pid), $"The approved tool (pid {pid}) kept running after the turn was cancelled.");

        // The session stays usable, and nothing of the cancelled call arrives after its turn ended.
        world.Model.Enqueue(ScriptedReply.Text("Still here."));
        await world.SendAsync(sessionId, "are you there?");
        var next = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > completed.Id);
        Assert.DoesNotContain(events.Received, e => e.Event == "tool.result" && e.Id > completed.Id && e.Id < next.Id
            && e.Str("toolCallId") == asked.Str("toolCallId") && !e.Json.GetProperty("isError").GetBoolean());
    }

    private static async Task<int> PidAsync(string command, SseClient events)
    {
        // There is no event for "the tool's process started" to await: look for it in the process table, reading
        // the session's events meanwhile so that a call that ended (or an agent that failed) says so at once.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    var commandLine = (await File.ReadAllTextAsync(Path.Combine(directory, "cmdline"))).Replace('\0', ' ').Trim();
                    if (commandLine == command && int.TryParse(Path.GetFileName(directory), out var pid))
                    {
                        return pid;
                    }
                }
                catch (IOException)
                {
                    // Not a process, or gone.
                }
            }

            try
            {
                var next = await events.NextAsync(TimeSpan.FromMilliseconds(50));
                Assert.False(next.Event is "tool.result" or "session.error" or "turn.completed",
                    $"'{command}' is not running and the session sent {next.Event}: {next.Data}");
            }
            catch (OperationCanceledException)
            {
                // No event in the meantime: look again.
            }
        }

        throw new TimeoutException($"'{command}' never started: the approved command did not run. Events since the approval: "
            + string.Join(", ", events.Received.Select(e => $"{e.Id}:{e.Event}")));
    }
}
