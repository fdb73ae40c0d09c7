using System.Text;
using System.Text.Json;
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
    private readonly List<string> _tools = [];
    private string _stretch = "";

    public string SessionId { get; } = sessionId;

    public ChatPost? Post { get; set; }

    public string? Ending { get; private set; }

    public int? FilesChanged { get; private set; }

    public decimal? Cost { get; private set; }

    public bool Finished => Ending is not null;

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

    public void Delta(string text)
    {
        lock (this)
        {
            _stretch += text;
        }
    }

    /// <summary>A finished stretch of the reply replaces what its deltas said (they may have been partial).</summary>
    public void Stretch(string text)
    {
        lock (this)
        {
            _reply.Append(text).Append("\n\n");
            _stretch = "";
        }
    }

    public void Tool(string line)
    {
        lock (this)
        {
            _tools.Add(line);
        }
    }

    public void Finish(string ending)
    {
        lock (this)
        {
            Ending = ending;
        }
    }

    public void Changes(int files)
    {
        lock (this)
        {
            FilesChanged = files;
        }
    }

    public void Costs(decimal? cost)
    {
        lock (this)
        {
            Cost = cost;
        }
    }

    public ChatMessage Render(int maxLength, string? link)
    {
        lock (this)
        {
            var tools = _tools.Count > ToolLinesShown
                ? [$"… {_tools.Count - ToolLinesShown} more", .. _tools.TakeLast(ToolLinesShown)]
                : _tools;
            var footer = new StringBuilder();
            if (tools.Count > 0)
            {
                footer.Append("\n\n").AppendJoin('\n', tools);
            }

            footer.Append("\n\n").Append(Ending ?? "… working");
            if (FilesChanged is > 0 and var files)
            {
                footer.Append($" · {files} file{(files == 1 ? "" : "s")} changed");
            }

            if (Cost is { } cost)
            {
                footer.Append($" · ${cost:0.####}");
            }

            if (link is not null && Finished)
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

            return new ChatMessage(Cli.TerminalText.Clean((reply + footer).Trim()) ?? "");
        }
    }
}

public sealed partial class ChatBridge
{
    /// <summary>
    /// Follows every session's events; acts on those of bound projects (approvals) and of chats' sessions (turns). After
    /// subscribing (and again if it ever falls behind) it looks up what waits, so no approval goes unshown.
    /// </summary>
    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var subscription = services.Hub.Subscribe(null, 8192);
                CatchUpApprovals();
                while (await subscription.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (subscription.Reader.TryRead(out var item))
                    {
                        if (item.Stored is { } stored)
                        {
                            try
                            {
                                OnEvent(stored);
                            }
                            catch (Exception exception) when (exception is not OperationCanceledException)
                            {
                                BridgeLog.HandlerFailed(logger, exception, definition.Id);
                            }
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void OnEvent(StoredEvent stored)
    {
        if (stored.Kind == ApprovalRequestedEvent.Kind)
        {
            using var data = JsonDocument.Parse(stored.Data);
            if (services.Approvals.Find(data.RootElement.GetProperty("approvalId").GetString()!) is { } approval)
            {
                ApprovalRequested(approval.Id, approval.ProjectId);
            }

            return;
        }

        if (stored.Kind == ApprovalResolvedEvent.Kind)
        {
            using var data = JsonDocument.Parse(stored.Data);
            ApprovalResolved(data.RootElement.GetProperty("approvalId").GetString()!);
            return;
        }

        foreach (var channel in _channels)
        {
            if (channel.SessionId == stored.SessionId)
            {
                OnTurnEvent(channel.ChatId, stored);
            }
        }
    }

    private void OnTurnEvent(string chatId, StoredEvent stored)
    {
        var kind = stored.Kind;
        if (kind == UserMessageEvent.Kind)
        {
            // A new turn (from this chat, the phone or the queue): a new message.
            Turn(chatId, stored.SessionId, fresh: true);
            return;
        }

        if (kind != MessageDeltaEvent.Kind && kind != MessageEvent.Kind && kind != ToolCallEvent.Kind && kind != TurnCompletedEvent.Kind
            && kind != TurnChangesEvent.Kind && kind != UsageEvent.Kind && kind != ErrorEvent.Kind)
        {
            return;
        }

        using var document = JsonDocument.Parse(stored.Data);
        var data = document.RootElement;
        var turn = Turn(chatId, stored.SessionId, fresh: false);
        if (kind == MessageDeltaEvent.Kind)
        {
            turn.Delta(data.GetProperty("text").GetString() ?? "");
        }
        else if (kind == MessageEvent.Kind)
        {
            turn.Stretch(data.GetProperty("text").GetString() ?? "");
        }
        else if (kind == ToolCallEvent.Kind)
        {
            turn.Tool($"▸ {data.GetProperty("tool").GetString()}: {Shorten(data.GetProperty("title").GetString() ?? "", 120)}");
        }
        else if (kind == UsageEvent.Kind)
        {
            turn.Costs(data.TryGetProperty("costUsd", out var cost) && cost.ValueKind == JsonValueKind.Number ? cost.GetDecimal() : null);
        }
        else if (kind == TurnChangesEvent.Kind)
        {
            turn.Changes(data.GetProperty("filesChanged").GetInt32());
        }
        else if (kind == ErrorEvent.Kind)
        {
            turn.Tool($"⚠ {Shorten(data.GetProperty("message").GetString() ?? "", 300)}");
        }
        else
        {
            var reason = data.GetProperty("stopReason").GetString();
            turn.Finish(reason == "cancelled" ? "⏹ Stopped" : data.GetProperty("isError").GetBoolean() ? "⚠ Ended with an error" : "✓ Done");
            SendWholeReplyIfCut(chatId, turn);
        }

        _outbox.Show(turn.Post!);
    }

    private TurnPost Turn(string chatId, string sessionId, bool fresh)
    {
        // One message per turn; what comes after a turn's end (its changes, its cost) still belongs to its message.
        if (!fresh && _turns.TryGetValue(chatId, out var current) && current.SessionId == sessionId)
        {
            return current;
        }

        var turn = new TurnPost(sessionId);
        var link = AppLink(sessionId);
        turn.Post = new ChatPost(chatId, () => turn.Render(platform.MaxTextLength, link));
        _turns[chatId] = turn;
        return turn;
    }

    private void SendWholeReplyIfCut(string chatId, TurnPost turn)
    {
        var reply = turn.Reply;
        if (reply.Length > platform.MaxTextLength - 400)
        {
            var clean = Cli.TerminalText.Clean(reply) ?? "";
            _outbox.Call(chatId, token => platform.SendFileAsync(chatId, "reply.txt", clean, "The whole reply.", token));
        }
    }
}
