using System.Text;

namespace PocketCoder.Workspace.Commands;

/// <param name="Id">The SSE id: from 1, gapless, per run.</param>
public sealed record CommandChunk(long Id, string Stream, string Text);

public sealed record CommandOutputEvent(string Stream, string Text);

public sealed record CommandExitEvent(int? ExitCode, long DurationMs, bool TimedOut, bool Cancelled, bool Truncated, string Status, string? ErrorCode);

/// <summary>
/// The output of one running command, as the live SSE streams read it. Only the first 300 KB are kept
/// (then one marker chunk), so memory stays bounded however much the command prints.
/// </summary>
public sealed class CommandRun(string id, string projectId, string command)
{
    public const int MaxOutputBytes = 300 * 1024;
    public const int MaxChunks = 20_000;
    public const string TruncationMarker = "\n[pocketcoder] output truncated at 300 KB: the rest of this run's output was not kept.\n";

    private readonly Lock _lock = new();
    private readonly List<CommandChunk> _chunks = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _keptBytes;

    public string Id { get; } = id;

    public string ProjectId { get; } = projectId;

    public string Command { get; } = command;

    public bool Truncated { get; private set; }

    public long DroppedBytes { get; private set; }

    public CommandExitEvent? Exit { get; private set; }

    /// <summary>Set before a stop so the finished run says why it ended.</summary>
    public volatile bool CancelRequested;

    public void Append(string stream, string text)
    {
        lock (_lock)
        {
            if (Exit is not null)
            {
                return;
            }

            var bytes = Encoding.UTF8.GetByteCount(text);
            if (Truncated)
            {
                DroppedBytes += bytes;
                return;
            }

            var room = MaxOutputBytes - _keptBytes;
            if (bytes <= room && _chunks.Count < MaxChunks - 1)
            {
                Add(stream, text, bytes);
                return;
            }

            var keep = Prefix(text, (int)Math.Max(0, room));
            if (keep.Length > 0 && _chunks.Count < MaxChunks - 1)
            {
                Add(stream, keep, Encoding.UTF8.GetByteCount(keep));
                DroppedBytes += bytes - Encoding.UTF8.GetByteCount(keep);
            }
            else
            {
                DroppedBytes += bytes;
            }

            Truncated = true;
            _chunks.Add(new CommandChunk(_chunks.Count + 1, stream, TruncationMarker));
            Signal();
        }
    }

    public void Finish(CommandExitEvent exit)
    {
        lock (_lock)
        {
            Exit = exit;
            Signal();
        }
    }

    /// <summary>The chunks after <paramref name="cursor"/>, the exit if it has come, and a task that completes on the next change.</summary>
    public (IReadOnlyList<CommandChunk> Chunks, CommandExitEvent? Exit, Task Changed) Since(long cursor)
    {
        lock (_lock)
        {
            var from = (int)Math.Clamp(cursor, 0, _chunks.Count);
            return (_chunks.GetRange(from, _chunks.Count - from), Exit, _changed.Task);
        }
    }

    public IReadOnlyList<CommandChunk> Snapshot()
    {
        lock (_lock)
        {
            return [.. _chunks];
        }
    }

    private void Add(string stream, string text, int bytes)
    {
        _keptBytes += bytes;
        _chunks.Add(new CommandChunk(_chunks.Count + 1, stream, text));
        Signal();
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    /// <summary>The longest prefix of <paramref name="text"/> that fits in <paramref name="maxBytes"/> UTF-8 bytes, never half a surrogate pair.</summary>
    private static string Prefix(string text, int maxBytes)
    {
        var length = Math.Min(text.Length, maxBytes);
        int bytes;
        while (length > 0 && (bytes = Encoding.UTF8.GetByteCount(text.AsSpan(0, length))) > maxBytes)
        {
            // A char is at most 3 bytes: dropping a third of the excess in chars never overshoots by much.
            length -= Math.Max(1, (bytes - maxBytes) / 3);
        }

        if (length > 0 && char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return text[..length];
    }
}
