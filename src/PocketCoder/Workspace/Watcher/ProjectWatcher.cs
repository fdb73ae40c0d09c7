namespace PocketCoder.Workspace.Watcher;

/// <summary>One batch of changed paths in a project, relative to its root.</summary>
public sealed record FileChangeBatch(IReadOnlyList<string> Paths, bool Truncated);

/// <summary>
/// Watches one project tree and hands over debounced batches of changed paths. inotify (through
/// <see cref="FileSystemWatcher"/>, which in .NET 10 shares one inotify instance per process) is used while it
/// works; when the kernel refuses more watches or its queue overflows, the watcher says so (a truncated batch:
/// re-list) and falls back to polling the tree, skipping the ignored folders, so changes keep coming.
/// </summary>
public sealed class ProjectWatcher : IDisposable
{
    public const int MaxBatch = 500;
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private const int MaxPolledEntries = 200_000;

    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal) { ".git", "node_modules", "bin", "obj", "dist", "build", ".next" };

    private readonly string _root;
    private readonly Action<FileChangeBatch> _onBatch;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly Timer _flush;
    private FileSystemWatcher? _watcher;
    private Timer? _poll;
    private Dictionary<string, (long Ticks, long Size)>? _snapshot;
    private bool _overflowed;
    private DateTime _batchStarted;
    private bool _disposed;

    public ProjectWatcher(string root, Action<FileChangeBatch> onBatch, ILogger logger)
    {
        _root = root;
        _onBatch = onBatch;
        _logger = logger;
        _flush = new Timer(_ => Flush());
        try
        {
            var watcher = new FileSystemWatcher(root)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                InternalBufferSize = 64 * 1024,
            };
            watcher.Created += (_, e) => Changed(e.FullPath);
            watcher.Changed += (_, e) => Changed(e.FullPath);
            watcher.Deleted += (_, e) => Changed(e.FullPath);
            watcher.Renamed += (_, e) =>
            {
                Changed(e.OldFullPath);
                Changed(e.FullPath);
            };
            watcher.Error += (_, e) => Failed(e.GetException());
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Failed(exception);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        _watcher?.Dispose();
        _poll?.Dispose();
        _flush.Dispose();
    }

    internal static bool IsIgnored(string relative)
    {
        if (relative.Split('/').Any(Ignored.Contains))
        {
            return true;
        }

        // The file API writes through a temporary beside the target; the rename reports the target itself.
        var name = Path.GetFileName(relative);
        return name.StartsWith('.') && name.Contains(".pocketcoder-", StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.Ordinal);
    }

    private void Changed(string fullPath)
    {
        if (!fullPath.StartsWith(_root, StringComparison.Ordinal))
        {
            return;
        }

        var relative = fullPath.Length == _root.Length ? "" : fullPath[(_root.Length + 1)..];
        if (relative.Length == 0 || IsIgnored(relative))
        {
            return;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var now = DateTime.UtcNow;
            if (_pending.Count == 0 && !_overflowed)
            {
                _batchStarted = now;
            }

            // Past the batch limit only count that there were more: memory stays bounded during a storm.
            if (_pending.Count <= MaxBatch)
            {
                _pending.Add(relative);
            }

            // Trailing debounce, but a steady stream of changes still gets a batch out at least every MaxDelay.
            var wait = Math.Clamp((_batchStarted + MaxDelay - now).Ticks, 0, Debounce.Ticks);
            _flush.Change(TimeSpan.FromTicks(wait), Timeout.InfiniteTimeSpan);
        }
    }

    private void Flush()
    {
        FileChangeBatch batch;
        lock (_lock)
        {
            if (_disposed || (_pending.Count == 0 && !_overflowed))
            {
                return;
            }

            var truncated = _overflowed || _pending.Count > MaxBatch;
            var paths = _pending.Order(StringComparer.Ordinal).Take(MaxBatch).ToList();
            _pending.Clear();
            _overflowed = false;
            batch = new FileChangeBatch(paths, truncated);
        }

        _onBatch(batch);
    }

    private void Failed(Exception exception)
    {
        _logger.LogWarning("Watching {Root} with inotify failed ({Message}); polling every {Interval} s instead.", _root, exception.Message,
            PollInterval.TotalSeconds);
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            // Something was missed: the batch says so and the client re-lists.
            _overflowed = true;
            _batchStarted = DateTime.UtcNow;
            _flush.Change(Debounce, Timeout.InfiniteTimeSpan);
            if (_poll is not null)
            {
                return;
            }

            _snapshot = Scan();
            _poll = new Timer(_ => Poll(), null, PollInterval, PollInterval);
        }

        var watcher = Interlocked.Exchange(ref _watcher, null);
        watcher?.Dispose();
    }

    private void Poll()
    {
        var now = Scan();
        var before = _snapshot ?? [];
        var changed = now.Where(entry => !before.TryGetValue(entry.Key, out var old) || old != entry.Value).Select(entry => entry.Key)
            .Concat(before.Keys.Where(path => !now.ContainsKey(path)));
        foreach (var path in changed)
        {
            Changed(Path.Combine(_root, path));
        }

        _snapshot = now;
    }

    private Dictionary<string, (long Ticks, long Size)> Scan()
    {
        var entries = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(_root);
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 };
        while (pending.Count > 0 && entries.Count < MaxPolledEntries)
        {
            var directory = pending.Pop();
            IEnumerable<FileSystemInfo> children;
            try
            {
                children = new DirectoryInfo(directory).EnumerateFileSystemInfos("*", options).ToList();
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var child in children)
            {
                if (Ignored.Contains(child.Name))
                {
                    continue;
                }

                var relative = child.FullName[(_root.Length + 1)..];
                bool isDirectory;
                try
                {
                    isDirectory = child is DirectoryInfo && child.LinkTarget is null;
                    entries[relative] = (child.LastWriteTimeUtc.Ticks, isDirectory ? -1 : child is FileInfo file ? file.Length : 0);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // Gone (or locked away) between the listing and the look: it is simply not in this snapshot. A poll
                    // runs on a timer thread, where an exception would take the whole server down.
                    continue;
                }

                if (isDirectory)
                {
                    pending.Push(child.FullName);
                }
            }
        }

        return entries;
    }
}
