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
        var room = limit - _text.Length;
        if (chunk.Length > room)
        {
            Truncated = true;
            if (room > 0)
            {
                _text.Append(chunk.AsSpan(0, room));
            }

            return;
        }

        _text.Append(chunk);
    }

    public override string ToString() => _text.ToString();
}
