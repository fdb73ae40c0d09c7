using PocketCoder.Errors;

namespace PocketCoder.Workspace.Terminal;

/// <summary>
/// One poller per terminal, shared by every stream watching it: tmux is asked for the screen four times a second
/// however many phones look (it used to be four forks a second per stream, with no cap). The poller starts with
/// the first watcher and stops with the last. A device may hold at most <see cref="MaxStreamsPerDevice"/> streams.
/// </summary>
public sealed class TerminalScreens(Terminals terminals, ILogger<TerminalScreens> logger)
{
    /// <summary>How often the screen is looked at while anyone watches.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    public const int MaxStreamsPerDevice = 4;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Poller> _byProject = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _streamsByDevice = new(StringComparer.Ordinal);

    /// <summary>Pollers running now (for tests and diagnostics).</summary>
    public int RunningPollers
    {
        get
        {
            lock (_lock)
            {
                return _byProject.Count;
            }
        }
    }

    /// <summary>Starts watching a terminal; dispose the watch to stop. Refused past the device's cap.</summary>
    public Watch Subscribe(string projectId, string? session, string deviceId, TerminalScreen first)
    {
        lock (_lock)
        {
            var open = _streamsByDevice.GetValueOrDefault(deviceId);
            if (open >= MaxStreamsPerDevice)
            {
                throw new ApiProblem(StatusCodes.Status429TooManyRequests, ErrorCodes.TooManyStreams,
                    $"This device already has {open} terminal streams open (at most {MaxStreamsPerDevice}); close one first.");
            }

            _streamsByDevice[deviceId] = open + 1;
            // Keyed by the tmux session: a project's terminal and each of its worktrees' are separate shells.
            var key = Terminals.SessionName(projectId, session);
            if (!_byProject.TryGetValue(key, out var poller))
            {
                _byProject[key] = poller = new Poller(first);
                _ = Task.Run(() => PollAsync(projectId, session, key, poller));
            }

            poller.Watchers++;
            return new Watch(this, key, deviceId, poller);
        }
    }

    private void Unsubscribe(string projectId, string deviceId, Poller poller)
    {
        lock (_lock)
        {
            if (--_streamsByDevice[deviceId] == 0)
            {
                _streamsByDevice.Remove(deviceId);
            }

            if (--poller.Watchers == 0)
            {
                Forget(projectId, poller);
                poller.Stop.Cancel();
            }
        }
    }

    private async Task PollAsync(string projectId, string? session, string key, Poller poller)
    {
        try
        {
            while (!poller.Stop.IsCancellationRequested)
            {
                await Task.Delay(PollInterval, poller.Stop.Token);
                try
                {
                    poller.Publish(await terminals.ScreenAsync(projectId, session, poller.Stop.Token));
                }
                catch (ApiProblem problem) when (problem.Code == ErrorCodes.TerminalNotFound)
                {
                    // The shell ended: its watchers are told; a stream opened later starts afresh (and finds no terminal).
                    lock (_lock)
                    {
                        Forget(key, poller);
                    }

                    poller.Publish(null);
                    return;
                }
                catch (ApiProblem problem)
                {
                    // tmux slow or failing for a moment: try again at the next tick, the watchers keep the last screen.
                    logger.LogWarning("Terminal screen of project {ProjectId} could not be read: {Problem}", projectId, problem.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The last watcher left.
        }
    }

    private void Forget(string projectId, Poller poller)
    {
        if (_byProject.TryGetValue(projectId, out var current) && current == poller)
        {
            _byProject.Remove(projectId);
        }
    }

    internal sealed class Poller(TerminalScreen first)
    {
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenSource Stop { get; } = new();

        public int Watchers { get; set; }

        /// <summary>The latest screen, or null once the shell has ended.</summary>
        public TerminalScreen? Latest { get; private set; } = first;

        public int Version { get; private set; }

        public Task Changed => Volatile.Read(ref _changed).Task;

        public void Publish(TerminalScreen? screen)
        {
            if (screen is not null && screen == Latest)
            {
                return;
            }

            Latest = screen;
            Version++;
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>One stream's view of a shared poller.</summary>
    public sealed class Watch : IDisposable
    {
        private readonly TerminalScreens _owner;
        private readonly string _projectId;
        private readonly string _deviceId;
        private readonly Poller _poller;
        private int _seen;
        private bool _disposed;

        internal Watch(TerminalScreens owner, string projectId, string deviceId, Poller poller)
        {
            (_owner, _projectId, _deviceId, _poller) = (owner, projectId, deviceId, poller);
            _seen = poller.Version;
        }

        /// <summary>
        /// Waits for a screen this watch has not seen (Some), the shell's end (closed), or the timeout (nothing new:
        /// time for a heartbeat).
        /// </summary>
        public async Task<(bool Changed, TerminalScreen? Screen)> NextAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            var changed = _poller.Changed;
            if (_poller.Version == _seen)
            {
                try
                {
                    await changed.WaitAsync(timeout, cancellationToken);
                }
                catch (TimeoutException)
                {
                    return (false, null);
                }
            }

            _seen = _poller.Version;
            return (true, _poller.Latest);
        }

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                _owner.Unsubscribe(_projectId, _deviceId, _poller);
            }
        }
    }
}
