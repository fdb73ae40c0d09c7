using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// A sandboxed child lives exactly as long as whoever stops it: not as long as the thread that happened to start it.
/// bubblewrap's parent-death signal fires when the forking <em>thread</em> exits, and .NET retires idle pool threads
/// after about 20 s; every sandboxed agent used to be SIGKILLed that way while it waited for the owner.
/// </summary>
public sealed class SandboxLifetimeTests
{
    [Fact]
    public async Task SandboxedChild_TheThreadThatStartedItEnds_ItLivesOnAndAnswers()
    {
        var bwrap = AgentSandbox.FindBwrap();
        Assert.True(bwrap is not null, "bubblewrap is missing: scripts/test.sh installs it.");
        var folder = TempPaths.NewDirectory("pc-sandbox");
        try
        {
            var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
            var sandbox = new AgentSandbox(bwrap, [folder], [], [], Path.Combine(folder, "agent-home"));
            var spec = sandbox.Wrap(new ProcessSpec("/bin/cat", [], folder, new Dictionary<string, string?>(), null), AgentState.Of([]));

            // Started from a thread of its own that ends once the sandbox is up (bubblewrap sets the signal as it starts), as a
            // pool thread retires: the signal would come at once.
            ChildProcess? child = null;
            using var up = new ManualResetEventSlim();
            var starter = new Thread(() =>
            {
                child = ChildProcess.Start(spec, line =>
                {
                    up.Set();
                    return lines.Writer.WriteAsync(line).AsTask();
                });
                child.WriteLineAsync("up", CancellationToken.None).GetAwaiter().GetResult();
                up.Wait(TimeSpan.FromSeconds(30));
            });
            starter.Start();
            starter.Join();
            await using var started = child!;
            Assert.Equal("up", await lines.Reader.ReadAsync());

            // cat echoes what it reads: an answer after the starter's end shows it outlived it (a kill would end Exited instead).
            await started.WriteLineAsync("still here", CancellationToken.None);
            var echoed = lines.Reader.ReadAsync().AsTask();
            var first = await Task.WhenAny(echoed, started.Exited).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(first == echoed, "the sandbox ended with its starter thread");
            Assert.Equal("still here", await echoed);
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    [Fact]
    public async Task SandboxedChild_ProcessesItLeavesBehind_EndWithIt()
    {
        var bwrap = AgentSandbox.FindBwrap();
        Assert.True(bwrap is not null, "bubblewrap is missing: scripts/test.sh installs it.");
        var folder = TempPaths.NewDirectory("pc-sandbox");
        try
        {
            var ready = new TaskCompletionSource();
            var sandbox = new AgentSandbox(bwrap, [folder], [], [], Path.Combine(folder, "agent-home"));
            // A tool that leaves its process group and its parent, and clears its environment: nothing but the sandbox's own
            // process namespace still holds it.
            var marker = $"sleep 600.{Random.Shared.Next(1, int.MaxValue)}";
            var spec = sandbox.Wrap(new ProcessSpec("/bin/sh", ["-c", $"env -i setsid {marker} </dev/null >/dev/null 2>&1 & echo up; exec cat"],
                folder, new Dictionary<string, string?>(), null), AgentState.Of([]));
            await using var child = ChildProcess.Start(spec, _ =>
            {
                ready.TrySetResult();
                return Task.CompletedTask;
            });
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var escaped = await FindAsync(marker);

            // The agent exits by itself (its input closed): the escaped sleeper must not be left running.
            await child.EndInputAsync(TimeSpan.FromSeconds(10));
            await child.Exited.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(await GoneAsync(escaped), $"process {escaped}, which left the agent's group and environment, outlived the sandbox");
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    /// <summary>The pid of the process whose command line starts with <paramref name="name"/>, once it runs.</summary>
    private static async Task<int> FindAsync(string name)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(directory), out var pid) && ReadCommandLine(pid).StartsWith(name, StringComparison.Ordinal))
                {
                    return pid;
                }
            }

            await Task.Delay(20, deadline.Token);
        }
    }

    private static async Task<bool> GoneAsync(int pid)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!deadline.IsCancellationRequested)
        {
            if (StatOf(pid) is not { } stat || stat.Split(") ")[^1].StartsWith('Z'))
            {
                return true;
            }

            await Task.Delay(20, CancellationToken.None);
        }

        return false;
    }

    /// <summary>The process's /proc stat line; null once it is gone (it may go between a check and the read: "No such process").</summary>
    private static string? StatOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ReadCommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }
}
