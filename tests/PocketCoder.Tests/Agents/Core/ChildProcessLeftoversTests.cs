using System.Runtime;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// What a finished child leaves in the server: none of its pipes stays open until a garbage collection happens to
/// finalize it (a server that runs git, tmux and probes by the hundred kept ~2 of them per run, found by leaving the
/// native binary running), and the log of its stderr is the owner's alone from the moment it is made.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ChildProcessLeftoversTests
{
    // The child's own stdin, stdout and stderr: pipes whose other ends this process holds.
    private const string NameMyPipes = "readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2";

    [Fact]
    public async Task HelperRun_Finished_NoneOfItsPipesIsStillOpen()
    {
        var pipes = await WithoutCollectionsAsync(async () =>
        {
            var result = await ChildProcess.RunAsync(Spec(NameMyPipes), 4096, TimeSpan.FromSeconds(30), CancellationToken.None);
            var named = Pipes(result.Stdout);
            return (named, StillOpen(named));
        });

        Assert.Empty(pipes);
    }

    [Fact]
    public async Task Agent_Disposed_NoneOfItsPipesIsStillOpen()
    {
        var pipes = await WithoutCollectionsAsync(async () =>
        {
            var lines = new List<string>();
            var child = ChildProcess.Start(Spec($"{NameMyPipes}; read line; echo \"got $line\""), line =>
            {
                lock (lines)
                {
                    lines.Add(line);
                }

                return Task.CompletedTask;
            });
            // Written to, as an agent's input is: a stdin the server used is its to close.
            await child.WriteLineAsync("hello", CancellationToken.None);
            await child.Exited.WaitAsync(TimeSpan.FromSeconds(30));
            await child.DisposeAsync();
            string[] named;
            lock (lines)
            {
                Assert.Equal("got hello", lines[^1]);
                named = Pipes(string.Join('\n', lines));
            }

            return (named, StillOpen(named));
        });

        Assert.Empty(pipes);
    }

    [Fact]
    public async Task StderrLog_ItsFoldersAndFile_AreTheOwnersAlone()
    {
        var root = TempPaths.NewDirectory("pc-stderr-log");
        try
        {
            var log = Path.Combine(root, "logs", "sessions", "one", "agent.log");
            await using (var child = ChildProcess.Start(Spec("echo 'a token: s3cret' >&2") with { StderrLogPath = log }, _ => Task.CompletedTask))
            {
                await child.Exited.WaitAsync(TimeSpan.FromSeconds(30));
            }

            Assert.Contains("s3cret", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
            Assert.Equal("600", Mode(log));
            foreach (var folder in new[] { "logs", "logs/sessions", "logs/sessions/one" })
            {
                Assert.Equal("700", Mode(Path.Combine(root, folder)));
            }
        }
        finally
        {
            TempPaths.Delete(root);
        }
    }

    private static ProcessSpec Spec(string script) =>
        new("sh", ["-c", script], Path.GetTempPath(), new Dictionary<string, string?>(), StderrLogPath: null);

    private static string[] Pipes(string output)
    {
        var named = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("pipe:[", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, named.Length);
        return named;
    }

    /// <summary>Which of <paramref name="pipes"/> this process still has open.</summary>
    private static string[] StillOpen(string[] pipes)
    {
        var open = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target)
                {
                    open.Add(target);
                }
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }

        return [.. pipes.Where(open.Contains)];
    }

    /// <summary>
    /// Runs <paramref name="work"/> with no garbage collection in between where the runtime allows it: a collection would
    /// finalize a leaked pipe and hide the leak.
    /// </summary>
    private static async Task<string[]> WithoutCollectionsAsync(Func<Task<(string[] Named, string[] Open)>> work)
    {
        var held = GC.TryStartNoGCRegion(64L * 1024 * 1024);
        try
        {
            return (await work()).Open;
        }
        finally
        {
            if (held && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }
    }

    private static string Mode(string path) => Convert.ToString(UnixFiles.Stat(path)!.Permissions, 8);
}
