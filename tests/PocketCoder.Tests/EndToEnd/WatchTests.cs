using System.Diagnostics;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// `pocketcoder watch` in a real terminal: a tmux pane runs it against the running server while the REAL Claude Code
/// CLI waits on an approval; the pane shows the call, a key press (send-keys) allows it, and the pane then shows the
/// decision, the agent's reply and the turn's end (capture-pane).
/// </summary>
public sealed class WatchTests
{
    [Fact]
    public async Task Watch_InATerminal_ShowsTheWaitingCall_AndAKeyAllowsIt()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo watched > watched.txt", description = "Write watched.txt" }),
            ScriptedReply.Text("Wrote watched.txt."));
        var sessionId = await world.StartSessionAsync("Write watched.txt");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");

        await using var pane = await TmuxPane.StartAsync(world.Home, [.. PocketCoderCommand.Prefix, "watch",
            sessionId[..8], "--url", world.Server.BaseUrl.ToString(), "--data", world.Server.DataDirectory]);
        var screen = await pane.WaitForAsync(s => s.Contains("a allow once", StringComparison.Ordinal) && s.Contains("wants to run", StringComparison.Ordinal));
        Assert.Contains("Write watched.txt", screen, StringComparison.Ordinal);
        Assert.Contains("echo watched > watched.txt", screen, StringComparison.Ordinal);

        await pane.SendKeysAsync("a");
        var resolved = await events.WaitForAsync("approval.resolved");
        Assert.Equal((asked.Str("approvalId"), "allow_once"), (resolved.Str("approvalId"), resolved.Str("decision")));
        await events.WaitForAsync("turn.completed");
        Assert.Equal("watched\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "watched.txt")));
        screen = await pane.WaitForAsync(s => s.Contains("turn ended", StringComparison.Ordinal));
        Assert.Contains("allow once", screen, StringComparison.Ordinal);
        Assert.Contains("Wrote watched.txt.", screen, StringComparison.Ordinal);

        // A key with nothing waiting does nothing; q ends watching.
        await pane.SendKeysAsync("d");
        await pane.SendKeysAsync("q");
        await pane.WaitForAsync(s => s.Contains("watch exited 0", StringComparison.Ordinal));
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        Assert.DoesNotContain(ledger, e => e.GetProperty("action").GetString() == "approval.denied");
    }

    /// <summary>One tmux pane on a private socket, kept after its program exits so its last screen can still be read.</summary>
    private sealed class TmuxPane : IAsyncDisposable
    {
        private readonly string _socket;

        private TmuxPane(string socket) => _socket = socket;

        public static async Task<TmuxPane> StartAsync(string folder, params string[] command)
        {
            var pane = new TmuxPane(Path.Combine(folder, $"watch-{Guid.NewGuid():N}.sock"));
            // Through a shell that says how the program ended, and stays for the screen to be read.
            await pane.TmuxAsync(["new-session", "-d", "-x", "160", "-y", "60", "-s", "watch", "--",
                "sh", "-c", "\"$@\"; echo \"watch exited $?\"; exec sleep 600", "sh", .. command]);
            return pane;
        }

        public Task SendKeysAsync(string keys) => TmuxAsync(["send-keys", "-t", "watch", "-l", keys]);

        /// <summary>Reads the screen until it shows what is awaited (the pane's program draws when events arrive).</summary>
        public async Task<string> WaitForAsync(Func<string, bool> shows)
        {
            var deadline = Stopwatch.StartNew();
            var screen = "";
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                screen = await TmuxAsync(["capture-pane", "-p", "-J", "-S", "-500", "-t", "watch"]);
                if (shows(screen))
                {
                    return screen;
                }

                await Task.Delay(100);
            }

            throw new TimeoutException($"The pane never showed what was awaited. It shows:\n{screen}");
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await TmuxAsync(["kill-server"]);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        private async Task<string> TmuxAsync(string[] arguments)
        {
            var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in (string[])["-S", _socket, .. arguments])
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"tmux {string.Join(' ', arguments)}: {await error}");
        }
    }
}
