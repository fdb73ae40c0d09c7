namespace PocketCoder.Bridges;

/// <summary>Something a chat platform delivered: a message or a button press, in the platform's own ids.</summary>
/// <param name="DeliveryId">Unique per delivery on the platform; the same id twice is a retry, handled once.</param>
/// <param name="IsDirect">A one-to-one chat with the bot (where pairing codes may be sent).</param>
/// <param name="MessageId">The message sent, or for a press the message whose button was pressed.</param>
/// <param name="ButtonData">For a press: what the button carried. Null for a message.</param>
/// <param name="PressId">For a press: the id the platform wants answered (the spinner on the button).</param>
public sealed record ChatInput(
    string DeliveryId,
    string ChatId,
    string ChatTitle,
    bool IsDirect,
    string UserId,
    string UserName,
    string MessageId,
    string? Text,
    string? ButtonData = null,
    string? PressId = null);

public sealed record ChatButton(string Label, string Data);

/// <summary>A message as the bridge wants it shown: plain text (never the platform's markup) and rows of buttons.</summary>
/// <param name="AsksReply">The bridge waits for an answer to it (a reason to deny): the platform opens a reply to it where it can,
/// which also reaches a bot that otherwise sees only commands in a group (Telegram's privacy mode).</param>
public sealed record ChatMessage(string Text, IReadOnlyList<IReadOnlyList<ChatButton>>? Buttons = null, bool AsksReply = false)
{
    /// <summary>The text cut to at most <paramref name="length"/> characters, an ellipsis saying where.</summary>
    public static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}

/// <summary>The platform asked us to slow down: nothing is lost, the call is made again after <see cref="RetryAfter"/>.</summary>
public sealed class ChatRateLimitedException(TimeSpan retryAfter) : Exception($"Rate limited for {retryAfter.TotalSeconds:0.#} s.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The platform refused the call for good (a deleted chat, a bot removed from a group): retrying will not help.</summary>
public sealed class ChatRefusedException(string message) : Exception(message);

/// <summary>
/// What a bridge needs of a chat platform. Each platform (Telegram, Slack, Feishu) maps its own API onto this; the bridge
/// itself (<see cref="ChatBridge"/>) knows nothing of any one platform.
/// </summary>
public interface IChatPlatform : IAsyncDisposable
{
    /// <summary>The platform's own limit on one message's text; longer text is cut, the whole sent as a file.</summary>
    int MaxTextLength { get; }

    /// <summary>The least time between two calls about a chat that the platform tolerates (groups may need more than direct chats).</summary>
    TimeSpan IntervalIn(string chatId);

    /// <summary>Whether the bot receives every message in a group, not only commands and replies to it (known once connected).</summary>
    bool SeesEveryGroupMessage { get; }

    /// <summary>The bot's own name on the platform, checked against it (a wrong token fails here).</summary>
    Task<string> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The next deliveries after <paramref name="cursor"/> (null: from now), and the cursor to ask with next time.
    /// Waits (long polling, or a socket) until something arrives or the platform's wait ends.
    /// </summary>
    Task<(IReadOnlyList<ChatInput> Inputs, string? Cursor)> ReceiveAsync(string? cursor, CancellationToken cancellationToken);

    /// <returns>The new message's id.</returns>
    Task<string> SendAsync(string chatId, ChatMessage message, CancellationToken cancellationToken);

    Task EditAsync(string chatId, string messageId, ChatMessage message, CancellationToken cancellationToken);

    /// <summary>Sends a text file (long output) with a caption.</summary>
    Task SendFileAsync(string chatId, string fileName, string content, string caption, CancellationToken cancellationToken);

    /// <summary>Answers a button press (stops the button's spinner); <paramref name="notice"/> is shown to the presser only.</summary>
    Task AnswerPressAsync(string pressId, string notice, CancellationToken cancellationToken);
}
