using PocketCoder.Bridges.Slack;
using PocketCoder.Bridges.Telegram;

namespace PocketCoder.Bridges;

/// <summary>
/// Runs the bridges <c>bridges.json</c> names, and follows the file: a bridge added, changed or removed with
/// <c>pocketcoder bridge</c> while the server runs starts, restarts or stops within a few seconds.
/// </summary>
public sealed class BridgeHost(BridgeServices services, ILoggerFactory loggers) : BackgroundService
{
    private static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long one Telegram long poll waits for news.</summary>
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(25);

    private readonly ILogger _logger = loggers.CreateLogger<BridgeHost>();
    private readonly Dictionary<string, (ChatBridge Bridge, CancellationTokenSource Stop, Task Running, IChatPlatform Platform)> _running = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private string? _fileState;
    private TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the running bridges satisfy <paramref name="condition"/> (they change when bridges.json does).</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<ChatBridge>, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task applied;
            lock (_lock)
            {
                applied = _applied.Task;
            }

            if (condition(Bridges))
            {
                return;
            }

            await applied.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The bridges running now.</summary>
    public IReadOnlyList<ChatBridge> Bridges
    {
        get
        {
            lock (_lock)
            {
                return [.. _running.Values.Select(r => r.Bridge)];
            }
        }
    }

    /// <summary>A bridge's bound chats changed from outside it (the phone unbound one; null: a project was removed).</summary>
    public void ChannelsChanged(string? bridgeId)
    {
        lock (_lock)
        {
            foreach (var (id, running) in _running)
            {
                if (bridgeId is null || id == bridgeId)
                {
                    running.Bridge.ChannelsChanged();
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            Apply(stoppingToken);
            using var timer = new PeriodicTimer(FileCheckInterval, services.Clock);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Apply(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            List<Task> stopping;
            lock (_lock)
            {
                stopping = [.. _running.Keys.Select(Stop)];
            }

            await Task.WhenAll(stopping).ConfigureAwait(false);
        }
    }

    /// <summary>Brings the running bridges in line with the file, if it changed since the last look.</summary>
    private void Apply(CancellationToken stoppingToken)
    {
        var path = BridgesFile.PathIn(services.Options.DataDirectory);
        var info = new FileInfo(path);
        var state = info.Exists ? $"{info.LastWriteTimeUtc.Ticks}/{info.Length}" : "none";
        if (state == _fileState)
        {
            return;
        }

        _fileState = state;
        IReadOnlyList<BridgeDefinition> wanted;
        try
        {
            wanted = BridgesFile.Load(services.Options.DataDirectory);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // The bridges already running go on; the file is looked at again when it changes.
            BridgeLog.BadFile(_logger, exception.Message);
            return;
        }

        lock (_lock)
        {
            foreach (var id in _running.Keys.Where(id => wanted.All(w => w != _running[id].Bridge.Definition)).ToList())
            {
                _ = Stop(id);
            }

            foreach (var definition in wanted.Where(w => !_running.ContainsKey(w.Id)))
            {
                IChatPlatform platform = definition.Platform switch
                {
                    BridgesFile.TelegramPlatformName => new TelegramPlatform(definition, PollWait),
                    BridgesFile.SlackPlatformName => new SlackPlatform(definition),
                    // BridgesFile.Load accepts no other platform.
                    _ => new Feishu.FeishuPlatform(definition),
                };
                var bridge = new ChatBridge(definition, platform, services, loggers.CreateLogger($"PocketCoder.Bridges.{definition.Id}"));
                var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                _running[definition.Id] = (bridge, stop, Task.Run(() => bridge.RunAsync(stop.Token), CancellationToken.None), platform);
            }

            var applied = _applied;
            _applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            applied.TrySetResult();
        }
    }

    /// <summary>Stops a bridge and forgets it (under the lock); the task completes when it has let go of its platform.</summary>
    private async Task Stop(string id)
    {
        var (_, stop, running, platform) = _running[id];
        _running.Remove(id);
        await stop.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        await platform.DisposeAsync().ConfigureAwait(false);
        stop.Dispose();
    }
}
