using System.Text;
using PocketCoder.Display;
using PocketCoder.Realtime;

namespace PocketCoder.Bridges;

/// <summary>
/// A turn as one chat message, edited as the reply streams: the reply so far, the tools it used, and at the end a
/// summary (how it ended, files changed, cost). A reply longer than a message is sent whole as a file when the turn ends.
/// </summary>
internal sealed class TurnPost(string sessionId)
{
    private const int ToolLinesShown = 8;

    private readonly StringBuilder _reply = new();
    private readonly List<ToolLine> _tools = [];
    private string _stretch = "";

    private string? _ending;
    private int? _filesChanged;
    private decimal? _cost;

    public string SessionId { get; } = sessionId;

    public ChatPost? Post { get; set; }

    public string Reply
    {
        get
        {
            lock (this)
            {
                return (_reply + _stretch).Trim();
            }
        }
    }

    /// <summary>Takes in one of the session's events, read as its record; false for an event the message does not show.</summary>
    public bool Take(StoredEvent stored)
    {
        lock (this)
        {
            if (stored.As<MessageDeltaEvent>() is { } delta)
            {
                _stretch += delta.Text;
            }
            else if (stored.As<MessageEvent>() is { ParentToolCallId: null } message)
            {
                // A subagent's words are its report to the agent, not the reply to the owner.
                // A finished stretch of the reply replaces what its deltas said (they may have been partial).
                _reply.Append(message.Text).Append("\n\n");
                _stretch = "";
            }
            else if (stored.As<ToolCallEvent>() is { } call)
            {
                _tools.Add(new ToolLine(call.ToolCallId, call.Tool, $"▸ {call.Tool}: {ChatMessage.Shorten(call.Title, 120)}"));
            }
            else if (stored.As<ToolCallUpdatedEvent>() is { } updated)
            {
                // The call's line names what it turned out to be (an ACP agent announces a call before its input).
                var index = _tools.FindLastIndex(line => line.ToolCallId == updated.ToolCallId);
                if (index < 0)
                {
                    return false;
                }

                _tools[index] = _tools[index] with { Text = $"▸ {_tools[index].Tool}: {ChatMessage.Shorten(updated.Title, 120)}" };
            }
            else if (stored.As<ErrorEvent>() is { } error)
            {
                _tools.Add(new ToolLine(null, null, $"⚠ {ChatMessage.Shorten(error.Message, 300)}"));
            }
            else if (stored.As<UsageEvent>() is { } usage)
            {
                _cost = usage.CostUsd;
            }
            else if (stored.As<TurnChangesEvent>() is { } changes)
            {
                _filesChanged = changes.FilesChanged;
            }
            else if (stored.As<TurnCompletedEvent>() is { } completed)
            {
                _ending = completed.StopReason == "cancelled" ? "⏹ Stopped" : completed.IsError ? "⚠ Ended with an error" : "✓ Done";
            }
            else
            {
                return false;
            }

            return true;
        }
    }

    public ChatMessage Render(int maxLength, string? link)
    {
        lock (this)
        {
            List<string> tools = _tools.Count > ToolLinesShown
                ? [$"… {_tools.Count - ToolLinesShown} more", .. _tools.TakeLast(ToolLinesShown).Select(line => line.Text)]
                : [.. _tools.Select(line => line.Text)];
            var footer = new StringBuilder();
            if (tools.Count > 0)
            {
                footer.Append("\n\n").AppendJoin('\n', tools);
            }

            footer.Append("\n\n").Append(_ending ?? "… working");
            if (_filesChanged is > 0 and var files)
            {
                footer.Append($" · {files} file{(files == 1 ? "" : "s")} changed");
            }

            if (_cost is { } cost)
            {
                footer.Append($" · ${cost:0.####}");
            }

            if (link is not null && _ending is not null)
            {
                footer.Append('\n').Append(link);
            }

            var reply = (_reply + _stretch).Trim();
            var room = maxLength - footer.Length - 2;
            if (reply.Length > room)
            {
                // The newest part matters while it streams; the whole comes as a file at the end.
                reply = "…" + reply[^Math.Max(0, room - 1)..];
            }

            return new ChatMessage(TerminalText.Clean((reply + footer).Trim()) ?? "");
        }
    }
}

/// <summary>A line of the post's tool list: a call (by its id, so that its update can rewrite it) or an error.</summary>
internal sealed record ToolLine(string? ToolCallId, string? Tool, string Text);
