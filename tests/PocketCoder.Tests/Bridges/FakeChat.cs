namespace PocketCoder.Tests.Bridges;

/// <summary>A message the bot has in a chat, as it stands now, and every text it has had.</summary>
public sealed record BotMessage(string ChatId, string MessageId, string Text, IReadOnlyList<(string Label, string Data)> Buttons, IReadOnlyList<string> History);

/// <summary>
/// What a fake chat platform records of the bot: its messages (with every edit), the answers to presses, the files,
/// every API call. Each change wakes whoever waits, so tests await what the bot does instead of sleeping.
/// </summary>
public abstract class FakeChat
{
    protected readonly Lock Sync = new();
    private readonly Dictionary<string, BotMessage> _messages = new(StringComparer.Ordinal);
    private readonly List<string> _answers = [];
    private readonly List<(string ChatId, string Name, string Content)> _files = [];
    private readonly List<(string Method, DateTimeOffset At)> _calls = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextMessage;

    public IReadOnlyList<BotMessage> Messages(string chatId)
    {
        lock (Sync)
        {
            return [.. _messages.Values.Where(m => m.ChatId == chatId).OrderBy(m => _order[m.MessageId])];
        }
    }

    private readonly Dictionary<string, long> _order = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Answers
    {
        get
        {
            lock (Sync)
            {
                return [.. _answers];
            }
        }
    }

    public IReadOnlyList<(string ChatId, string Name, string Content)> Files
    {
        get
        {
            lock (Sync)
            {
                return [.. _files];
            }
        }
    }

    public IReadOnlyList<(string Method, DateTimeOffset At)> Calls
    {
        get
        {
            lock (Sync)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Waits until the condition holds over what the bot has done; says what it saw if it never does.</summary>
    public async Task<T> WaitForAsync<T>(Func<FakeChat, T?> condition, string what, TimeSpan? timeout = null) where T : class
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            Task changed;
            lock (Sync)
            {
                changed = _changed.Task;
            }

            if (condition(this) is { } found)
            {
                return found;
            }

            try
            {
                await changed.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                lock (Sync)
                {
                    throw new TimeoutException($"Never saw {what}. The bot's messages: " +
                        string.Join(" | ", _messages.Values.OrderBy(m => _order[m.MessageId]).Select(m => $"[{m.ChatId}#{m.MessageId}] {string.Join(" ⇒ ", m.History)}")) +
                        " | answers: " + string.Join(" | ", _answers) + " | calls: " + string.Join(", ", _calls.Select(c => c.Method).Distinct()));
                }
            }
        }
    }

    /// <summary>The first message in the chat whose text contains <paramref name="text"/>, once there is one.</summary>
    public Task<BotMessage> MessageAsync(string chatId, string text) =>
        WaitForAsync(t => t.Messages(chatId).FirstOrDefault(m => m.Text.Contains(text, StringComparison.Ordinal)), $"a message with \"{text}\" in chat {chatId}");

    /// <summary>The message, once its text contains <paramref name="text"/> (it was edited so).</summary>
    public Task<BotMessage> EditedAsync(BotMessage message, string text) =>
        WaitForAsync(t => t.Messages(message.ChatId).FirstOrDefault(m => m.MessageId == message.MessageId && m.Text.Contains(text, StringComparison.Ordinal)),
            $"message {message.MessageId} edited to say \"{text}\"");

    protected long NextId() => Interlocked.Increment(ref _nextMessage);

    // ---- For the platform's handlers, under Sync ----

    /// <summary>Completes at the next change (under Sync).</summary>
    protected Task Waiting() => _changed.Task;

    protected void Changed()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    /// <summary>The chat a message of the bot's is in (under Sync).</summary>
    protected string? ChatOf(string messageId) => _messages.TryGetValue(messageId, out var message) ? message.ChatId : null;

    protected void RecordCall(string method)
    {
        _calls.Add((method, DateTimeOffset.UtcNow));
        Changed();
    }

    protected void RecordSend(string chatId, string messageId, string text, IReadOnlyList<(string, string)> buttons)
    {
        _order[messageId] = NextId();
        _messages[messageId] = new BotMessage(chatId, messageId, text, buttons, [text]);
        Changed();
    }

    /// <returns>null when done; else why not (the platform's own words).</returns>
    protected string? RecordEdit(string chatId, string messageId, string text, IReadOnlyList<(string, string)> buttons)
    {
        if (!_messages.TryGetValue(messageId, out var old) || old.ChatId != chatId)
        {
            return "message to edit not found";
        }

        if (text == old.Text && buttons.SequenceEqual(old.Buttons))
        {
            return "message is not modified";
        }

        _messages[messageId] = old with { Text = text, Buttons = buttons, History = [.. old.History, text] };
        Changed();
        return null;
    }

    protected void RecordAnswer(string text)
    {
        _answers.Add(text);
        Changed();
    }

    protected void RecordFile(string chatId, string name, string content)
    {
        _files.Add((chatId, name, content));
        Changed();
    }
}
