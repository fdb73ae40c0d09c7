using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace PocketCoder.Agents.Processes;

/// <summary>
/// The one thread every child process is forked from, alive as long as the server.
/// </summary>
/// <remarks>
/// Linux sends a parent-death signal (<c>PR_SET_PDEATHSIG</c>, which bubblewrap's <c>--die-with-parent</c> sets) when
/// the <em>thread</em> that forked the child exits, not the process. <see cref="Process.Start()"/> forks on the calling
/// thread; started from a thread-pool thread, a sandboxed agent was SIGKILLed when that thread retired, 20 s to minutes
/// later, usually while it waited for the owner. Forking from this thread ties the signal to the server's own life: a
/// <c>kill -9</c> of the server still takes every sandbox with it, an idle thread pool never does.
/// </remarks>
internal static class LauncherThread
{
    private static readonly BlockingCollection<Launch> Queue = [];
    private static readonly Lazy<Thread> Thread = new(StartThread);

    /// <summary>Starts the process on the launcher thread; blocks the caller for as long as the fork and exec take.</summary>
    public static void Start(Process process)
    {
        _ = Thread.Value;
        using var launch = new Launch(process);
        Queue.Add(launch);
        launch.Done.Wait();
        launch.Error?.Throw();
    }

    private static Thread StartThread()
    {
        // Not a pool thread, and never ends: the signal must not fire while the server lives. Background, so that it does
        // not keep a finished process alive.
        var thread = new Thread(Run) { IsBackground = true, Name = "pocketcoder process launcher" };
        thread.Start();
        return thread;
    }

    private static void Run()
    {
        foreach (var launch in Queue.GetConsumingEnumerable())
        {
            try
            {
                launch.Process.Start();
            }
#pragma warning disable CA1031 // Handed to the caller, who sees it as if it had started the process itself.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                launch.Error = ExceptionDispatchInfo.Capture(exception);
            }
            finally
            {
                launch.Done.Set();
            }
        }
    }

    private sealed class Launch(Process process) : IDisposable
    {
        public Process Process { get; } = process;

        public ManualResetEventSlim Done { get; } = new();

        public ExceptionDispatchInfo? Error { get; set; }

        public void Dispose() => Done.Dispose();
    }
}
