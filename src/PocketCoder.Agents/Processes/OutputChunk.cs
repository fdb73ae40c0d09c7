using System.Text;

namespace PocketCoder.Agents.Processes;

public enum OutputStream
{
    Stdout,
    Stderr,
}

/// <summary>Some text a child printed on one of its streams, exactly as read (not split into lines).</summary>
public sealed record OutputChunk(OutputStream Stream, string Text);

/// <summary>What a process run to completion printed, each stream capped.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, bool Truncated, bool TimedOut);

/// <summary>Keeps the first <c>limit</c> characters of a stream and counts the rest, so memory stays bounded.</summary>
internal sealed class CappedText(int limit)
{
    private readonly StringBuilder _text = new();

    public bool Truncated { get; private set; }

    public void Append(string chunk)
    {
        var room = Math.Max(limit - _text.Length, 0);
        Truncated |= chunk.Length > room;
        _text.Append(chunk.AsSpan(0, Math.Min(chunk.Length, room)));
    }

    public override string ToString() => _text.ToString();
}
