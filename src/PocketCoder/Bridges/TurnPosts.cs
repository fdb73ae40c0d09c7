using System.Collections.Concurrent;
using PocketCoder.Display;
using PocketCoder.Realtime;

namespace PocketCoder.Bridges;

/// <summary>
/// The turns of each chat's session as messages: a new <see cref="TurnPost"/> when a turn begins (from the chat, the phone
/// or the queue), edited as its events come; a reply too long for one message follows whole as a file when the turn ends.
/// </summary>
internal sealed class TurnPosts(BridgeContext bridge)
{
    /// <summary>Each chat's newest turn.</summary>
    private readonly ConcurrentDictionary<string, TurnPost> _turns = new(StringComparer.Ordinal);

    public void OnEvent(StoredEvent stored)
    {
        foreach (var channel in bridge.Channels.Where(c => c.SessionId == stored.SessionId))
        {
            // A user message begins a turn (from this chat, the phone or the queue): a new message.
            var turn = Turn(channel.ChatId, stored.SessionId, fresh: stored.Kind == UserMessageEvent.Kind);
            if (turn.Take(stored))
            {
                if (stored.Kind == TurnCompletedEvent.Kind)
                {
                    SendWholeReplyIfCut(channel.ChatId, turn);
                }

                bridge.Outbox.Show(turn.Post!);
            }
        }
    }

    private TurnPost Turn(string chatId, string sessionId, bool fresh)
    {
        // One message per turn; what comes after a turn's end (its changes, its cost) still belongs to its message.
        if (!fresh && _turns.TryGetValue(chatId, out var current) && current.SessionId == sessionId)
        {
            return current;
        }

        var turn = new TurnPost(sessionId);
        var link = bridge.AppLink(sessionId);
        turn.Post = new ChatPost(chatId, () => turn.Render(bridge.Platform.MaxTextLength, link));
        _turns[chatId] = turn;
        return turn;
    }

    private void SendWholeReplyIfCut(string chatId, TurnPost turn)
    {
        var reply = turn.Reply;
        if (reply.Length > bridge.Platform.MaxTextLength - 400)
        {
            var clean = TerminalText.Clean(reply) ?? "";
            bridge.Outbox.Call(chatId, token => bridge.Platform.SendFileAsync(chatId, "reply.txt", clean, "The whole reply.", token));
        }
    }
}
