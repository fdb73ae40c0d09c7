using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions;

/// <summary>
/// The history a new session's transcript starts with: a terminal conversation's, as the session carries it on
/// (<see cref="Handoff"/>), or the earlier turns of the session it was rewound or forked from (<see cref="Rewinds"/>).
/// </summary>
public sealed class SessionHistory(EventLog events)
{
    /// <summary>
    /// The transcript's events before <paramref name="turn"/>: everything up to the end of the turn before it (the turns' own
    /// <c>turn.completed</c> events, one per turn, as the reviews count them).
    /// </summary>
    public List<StoredEvent> Before(string sessionId, int turn)
    {
        var kept = new List<StoredEvent>();
        var ended = 0;
        for (long after = 0; ended < turn - 1;)
        {
            var page = events.ReadSession(sessionId, after, 500);
            if (page.Count == 0)
            {
                break;
            }

            foreach (var stored in page.TakeWhile(_ => ended < turn - 1))
            {
                kept.Add(stored);
                ended += stored.Kind == TurnCompletedEvent.Kind ? 1 : 0;
            }

            after = page[^1].Seq;
        }

        return kept;
    }

    /// <summary>
    /// The earlier turns' messages and calls, shown in the new session as its history (the agent's copy holds the same); how
    /// many. Its <c>history.imported</c> is the caller's, which knows why (a rewind, a fork, an undo).
    /// </summary>
    public int Copy(DbWrite write, string sessionId, List<StoredEvent> earlier)
    {
        var count = 0;
        foreach (var stored in earlier)
        {
            count += Copy(write, sessionId, stored.As<UserMessageEvent>())
                     + Copy(write, sessionId, stored.As<MessageEvent>())
                     + Copy(write, sessionId, stored.As<ToolCallEvent>())
                     + Copy(write, sessionId, stored.As<ToolResultEvent>());
        }

        return count;
    }

    /// <summary>Says in the new session's transcript where its history came from.</summary>
    public void Imported(DbWrite write, string sessionId, HistoryImportedEvent imported) => events.Append(write, sessionId, imported);

    /// <summary>A terminal conversation's messages and calls, shown in the session that carries it on.</summary>
    public void Import(DbWrite write, string sessionId, ConversationHistory history)
    {
        foreach (var entry in history.Entries)
        {
            Import(write, sessionId, entry);
        }

        events.Append(write, sessionId, new HistoryImportedEvent("terminal", history.Entries.Count, history.Skipped));
    }

    private int Copy<T>(DbWrite write, string sessionId, T? data) where T : class, ISessionEvent
    {
        if (data is null)
        {
            return 0;
        }

        events.Append(write, sessionId, data);
        return 1;
    }

    private void Import(DbWrite write, string sessionId, HistoryEntry entry)
    {
        switch (entry)
        {
            case HistoryUserText user:
                events.Append(write, sessionId, new UserMessageEvent(user.Text, "terminal"));
                break;
            case HistoryAssistantText assistant:
                events.Append(write, sessionId, new MessageEvent(assistant.Text));
                break;
            case HistoryToolCall call:
                events.Append(write, sessionId, new ToolCallEvent(call.ToolCallId, call.Tool, call.Kind.ToWire(), call.Title, call.Input));
                break;
            case HistoryToolResult result:
                events.Append(write, sessionId, Running.AgentEventMapper.ToolResultEventOf(result.ToolCallId, result.Content, result.IsError));
                break;
        }
    }
}
