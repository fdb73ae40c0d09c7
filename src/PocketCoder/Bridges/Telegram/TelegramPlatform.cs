using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Bridges.Telegram;

/// <summary>
/// The Telegram Bot API (https://core.telegram.org/bots/api): updates by long polling (<c>getUpdates</c>), so the
/// machine needs no public address; messages with inline keyboards; presses answered with <c>answerCallbackQuery</c>.
/// The API puts the bot token in the URL path: this client is never given a logging handler, and no URL it builds is
/// ever logged or put in an exception.
/// </summary>
public sealed class TelegramPlatform(BridgeDefinition bridge, TimeSpan pollWait) : IChatPlatform
{
    private readonly HttpClient _http = ChatHttp.Client(pollWait + TimeSpan.FromSeconds(30));

    public int MaxTextLength => 4096;

    // Telegram: about one message a second in a chat, and no more than 20 a minute in a group; group ids are negative
    // (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
    public TimeSpan IntervalIn(string chatId) => TimeSpan.FromSeconds(chatId.StartsWith('-') ? 3 : 1);

    public bool SeesEveryGroupMessage { get; private set; } = true;

    public async Task<string> ConnectAsync(CancellationToken cancellationToken)
    {
        var me = await CallAsync("getMe", new JsonObject(), cancellationToken).ConfigureAwait(false);
        // Off unless privacy mode was disabled with @BotFather: the bot then sees only commands, mentions and replies in groups.
        SeesEveryGroupMessage = me?["can_read_all_group_messages"]?.GetValueKind() == JsonValueKind.True;
        return me?["username"]?.GetValue<string>() ?? "bot";
    }

    public async Task<(IReadOnlyList<ChatInput> Inputs, string? Cursor)> ReceiveAsync(string? cursor, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["timeout"] = (int)pollWait.TotalSeconds,
            ["allowed_updates"] = new JsonArray("message", "callback_query"),
        };
        if (cursor is not null)
        {
            request["offset"] = long.Parse(cursor, CultureInfo.InvariantCulture);
        }

        var updates = await CallAsync("getUpdates", request, cancellationToken).ConfigureAwait(false) as JsonArray ?? [];
        var inputs = new List<ChatInput>();
        var next = cursor;
        foreach (var update in updates)
        {
            if (update is not JsonObject || update["update_id"] is not JsonValue idValue || !idValue.TryGetValue<long>(out var updateId))
            {
                continue;
            }

            // The offset confirms everything before it: Telegram then never sends those again.
            next = (updateId + 1).ToString(CultureInfo.InvariantCulture);
            if (Parse(updateId, update) is { } input)
            {
                inputs.Add(input);
            }
        }

        return (inputs, next);
    }

    /// <summary>The update as a delivery, or null for one a bridge does not act on, or one in a shape it cannot read
    /// (skipped: the offset moves past it, so it never blocks the updates behind it).</summary>
    private static ChatInput? Parse(long updateId, JsonNode update)
    {
        try
        {
            var delivery = updateId.ToString(CultureInfo.InvariantCulture);
            if (update["callback_query"] is JsonObject press)
            {
                var (userId, userName, isBot) = Person(press["from"]);
                if (isBot || press["message"] is not JsonObject pressed || pressed["chat"] is not JsonObject chat)
                {
                    return null;
                }

                return new ChatInput(delivery, Id(chat["id"]), ChatTitle(chat), chat["type"]?.GetValue<string>() == "private", userId, userName,
                    Id(pressed["message_id"]), null, press["data"]?.GetValue<string>() ?? "", press["id"]?.GetValue<string>() ?? "");
            }

            if (update["message"] is JsonObject message && message["chat"] is JsonObject messageChat && message["text"]?.GetValue<string>() is { } text)
            {
                var (userId, userName, isBot) = Person(message["from"]);
                return isBot ? null : new ChatInput(delivery, Id(messageChat["id"]), ChatTitle(messageChat),
                    messageChat["type"]?.GetValue<string>() == "private", userId, userName, Id(message["message_id"]), text);
            }

            return null; // Photos, joins, edits: nothing a bridge acts on.
        }
        catch (Exception exception) when (exception is InvalidOperationException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static (string Id, string Name, bool IsBot) Person(JsonNode? from)
    {
        var name = from?["username"]?.GetValue<string>() is { Length: > 0 } username
            ? "@" + username
            : string.Join(' ', new[] { from?["first_name"]?.GetValue<string>(), from?["last_name"]?.GetValue<string>() }.Where(p => !string.IsNullOrEmpty(p)));
        return (Id(from?["id"]), name.Length > 0 ? name : "someone", from?["is_bot"]?.GetValue<bool>() == true);
    }

    private static string ChatTitle(JsonObject chat) =>
        chat["title"]?.GetValue<string>() ?? chat["username"]?.GetValue<string>() ?? chat["first_name"]?.GetValue<string>() ?? "chat";

    private static string Id(JsonNode? id) => id?.GetValueKind() == JsonValueKind.Number
        ? id.GetValue<long>().ToString(CultureInfo.InvariantCulture)
        : id?.GetValue<string>() ?? "";

    public async Task<string> SendAsync(string chatId, ChatMessage message, CancellationToken cancellationToken)
    {
        var request = Body(chatId, message);
        var sent = await CallAsync("sendMessage", request, cancellationToken).ConfigureAwait(false);
        var id = Id(sent?["message_id"]);
        return id.Length > 0 && long.TryParse(id, CultureInfo.InvariantCulture, out _)
            ? id
            : throw new ChatRefusedException("Telegram sent no message id for a message it took.");
    }

    public async Task EditAsync(string chatId, string messageId, ChatMessage message, CancellationToken cancellationToken)
    {
        var request = Body(chatId, message);
        request["message_id"] = long.Parse(messageId, CultureInfo.InvariantCulture);
        // A message with no buttons any more says so, or Telegram keeps the old ones.
        request["reply_markup"] ??= new JsonObject { ["inline_keyboard"] = new JsonArray() };
        try
        {
            await CallAsync("editMessageText", request, cancellationToken).ConfigureAwait(false);
        }
        catch (ChatRefusedException exception) when (exception.Message.Contains("message is not modified", StringComparison.Ordinal))
        {
            // The same text again (two coalesced edits that ended alike): nothing to do.
        }
    }

    public async Task SendFileAsync(string chatId, string fileName, string content, string caption, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(chatId), "chat_id" },
            { new StringContent(ChatMessage.Shorten(caption, 1024)), "caption" },
        };
        form.Add(ChatHttp.TextFile(content), "document", fileName);
        await SendAsync("sendDocument", form, cancellationToken).ConfigureAwait(false);
    }

    public Task AnswerPressAsync(string pressId, string notice, CancellationToken cancellationToken) =>
        CallAsync("answerCallbackQuery", new JsonObject { ["callback_query_id"] = pressId, ["text"] = notice }, cancellationToken);

    private JsonObject Body(string chatId, ChatMessage message)
    {
        var text = ChatMessage.Shorten(message.Text, MaxTextLength);
        var body = new JsonObject
        {
            ["chat_id"] = long.TryParse(chatId, CultureInfo.InvariantCulture, out var numeric) ? numeric : chatId,
            ["text"] = text.Length == 0 ? "…" : text,
            ["link_preview_options"] = new JsonObject { ["is_disabled"] = true },
        };
        if (message.AsksReply)
        {
            body["reply_markup"] = new JsonObject { ["force_reply"] = true };
        }
        else if (message.Buttons is { Count: > 0 } rows)
        {
            body["reply_markup"] = new JsonObject
            {
                ["inline_keyboard"] = new JsonArray([.. rows.Select(row =>
                    (JsonNode)new JsonArray([.. row.Select(b => (JsonNode)new JsonObject { ["text"] = b.Label, ["callback_data"] = b.Data })]))]),
            };
        }

        return body;
    }

    private Task<JsonNode?> CallAsync(string method, JsonObject request, CancellationToken cancellationToken) =>
        SendAsync(method, ChatHttp.Json(request), cancellationToken);

    private async Task<JsonNode?> SendAsync(string method, HttpContent content, CancellationToken cancellationToken)
    {
        var address = ChatHttp.Address(bridge, "bot" + bridge.Secret + "/" + method);
        // The client's own timeout fits the long poll; any other call that hangs must not hold back the chats behind it.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (method != "getUpdates")
        {
            limit.CancelAfter(TimeSpan.FromSeconds(30));
        }

        using var response = await _http.PostAsync(address, content, limit.Token).ConfigureAwait(false);
        var answer = await ChatHttp.ReadAsync(response, cancellationToken).ConfigureAwait(false);
        if (answer?["ok"]?.GetValue<bool>() == true)
        {
            return answer["result"];
        }

        var description = answer?["description"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode}";
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            throw ChatHttp.RateLimited(answer?["parameters"]?["retry_after"]?.GetValue<int>() ?? 5);
        }

        if ((int)response.StatusCode is >= 400 and < 500)
        {
            throw new ChatRefusedException($"Telegram refused {method}: {description}");
        }

        throw new HttpRequestException($"Telegram answered {method} with {description}", null, response.StatusCode);
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
