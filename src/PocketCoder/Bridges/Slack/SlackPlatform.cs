using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Bridges.Slack;

/// <summary>
/// Slack through Socket Mode (https://api.slack.com/apis/socket-mode): events and button presses arrive over a
/// WebSocket the app opens with its app-level token, so the machine needs no public address; each envelope is
/// acknowledged as soon as it is read. Messages go through the Web API with the bot token (Authorization header, never
/// the URL). Commands are plain messages (<c>/bind demo</c> typed in a thread or sent as <c>pc bind demo</c>) or a
/// registered slash command (<c>/pocketcoder bind demo</c>).
/// </summary>
public sealed class SlackPlatform(BridgeDefinition bridge) : IChatPlatform
{
    /// <summary>The words a message may start with instead of a slash (Slack's client takes a leading slash for its own commands).</summary>
    private static readonly string[] CommandPrefixes = ["pc ", "pocketcoder "];

    private readonly HttpClient _http = ChatHttp.Client(TimeSpan.FromSeconds(30));
    private readonly ChatNames _names = new();
    private ClientWebSocket? _socket;
    private string? _botUserId;

    // A section block's text is at most 3000 characters.
    public int MaxTextLength => 3000;

    // Slack: about one message a second in a channel (chat.postMessage's special limit).
    public TimeSpan IntervalIn(string chatId) => TimeSpan.FromSeconds(1);

    // The app subscribes to message.channels, message.groups and message.im (docs/bridges.md).
    public bool SeesEveryGroupMessage => true;

    public async Task<string> ConnectAsync(CancellationToken cancellationToken)
    {
        var me = await CallAsync("auth.test", new JsonObject(), bridge.Secret, cancellationToken).ConfigureAwait(false);
        _botUserId = me["user_id"]?.GetValue<string>();
        return me["user"]?.GetValue<string>() ?? "bot";
    }

    public async Task<(IReadOnlyList<ChatInput> Inputs, string? Cursor)> ReceiveAsync(string? cursor, CancellationToken cancellationToken)
    {
        var socket = _socket;
        if (socket is not { State: WebSocketState.Open })
        {
            socket?.Dispose();
            _socket = socket = await OpenSocketAsync(cancellationToken).ConfigureAwait(false);
        }

        JsonObject envelope;
        try
        {
            envelope = await ReadAsync(socket, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is WebSocketException or JsonException or InvalidDataException)
        {
            socket.Abort();
            throw new HttpRequestException($"The Slack socket failed: {exception.Message}");
        }

        if (envelope["envelope_id"]?.GetValue<string>() is { } envelopeId)
        {
            // Acknowledged before it is acted on: Slack otherwise sends it again (the bridge takes each delivery once anyway).
            var ack = Encoding.UTF8.GetBytes(new JsonObject { ["envelope_id"] = envelopeId }.ToJsonString());
            await socket.SendAsync(ack, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await TakeAsync(socket, envelope, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InvalidOperationException or FormatException)
        {
            // A field of an unexpected type: this envelope is skipped (it was acknowledged), the next one is read.
            throw new ChatRefusedException($"Skipped an envelope Slack sent in an unexpected shape: {exception.Message}");
        }
    }

    private async Task<(IReadOnlyList<ChatInput> Inputs, string? Cursor)> TakeAsync(ClientWebSocket socket, JsonObject envelope, CancellationToken cancellationToken)
    {
        switch (envelope["type"]?.GetValue<string>())
        {
            case "disconnect":
                // Slack asks for a fresh connection now and then: the next call opens one.
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cancellationToken).ConfigureAwait(false);
                socket.Dispose();
                _socket = null;
                return ([], null);
            case "events_api" when envelope["payload"] is JsonObject payload:
                return (await MessageAsync(payload, cancellationToken).ConfigureAwait(false) is { } message ? [message] : [], null);
            case "interactive" when envelope["payload"] is JsonObject payload:
                return (Press(payload) is { } press ? [press] : [], null);
            case "slash_commands" when envelope["payload"] is JsonObject payload:
                return ([SlashCommand(payload)], null);
            default:
                return ([], null); // hello, and kinds a bridge does not act on.
        }
    }

    private async Task<ClientWebSocket> OpenSocketAsync(CancellationToken cancellationToken)
    {
        var opened = await CallAsync("apps.connections.open", new JsonObject(), bridge.AppSecret!, cancellationToken).ConfigureAwait(false);
        var url = opened["url"]?.GetValue<string>() ?? throw new ChatRefusedException("Slack gave no socket address.");
        return await SocketMessages.OpenAsync(url, "Slack", cancellationToken).ConfigureAwait(false);
    }

    private static async Task<JsonObject> ReadAsync(ClientWebSocket socket, CancellationToken cancellationToken) =>
        JsonNode.Parse(await SocketMessages.ReadAsync(socket, "Slack", cancellationToken).ConfigureAwait(false)) as JsonObject
        ?? throw new InvalidDataException("An envelope that is not an object.");

    private async Task<ChatInput?> MessageAsync(JsonObject payload, CancellationToken cancellationToken)
    {
        if (payload["event"] is not JsonObject message || message["type"]?.GetValue<string>() != "message"
            || message["bot_id"] is not null || message["subtype"] is not null
            || message["user"]?.GetValue<string>() is not { } userId || userId == _botUserId
            || message["text"]?.GetValue<string>() is not { } text || message["channel"]?.GetValue<string>() is not { } channel)
        {
            return null; // The bot's own messages, edits, joins: nothing a bridge acts on.
        }

        foreach (var prefix in CommandPrefixes)
        {
            if (text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                text = "/" + text[prefix.Length..].TrimStart();
            }
        }

        var delivery = payload["event_id"]?.GetValue<string>() ?? $"{channel}/{message["ts"]?.GetValue<string>()}";
        return new ChatInput(delivery, channel, channel, message["channel_type"]?.GetValue<string>() == "im", userId,
            await NameAsync(userId, cancellationToken).ConfigureAwait(false), message["ts"]?.GetValue<string>() ?? "", text);
    }

    private static ChatInput? Press(JsonObject payload)
    {
        if (payload["type"]?.GetValue<string>() != "block_actions" || payload["actions"] is not JsonArray { Count: > 0 } actions
            || payload["user"]?["id"]?.GetValue<string>() is not { } userId || payload["channel"]?["id"]?.GetValue<string>() is not { } channel
            || payload["container"]?["message_ts"]?.GetValue<string>() is not { } messageTs)
        {
            return null;
        }

        var action = actions[0]!;
        var name = payload["user"]?["username"]?.GetValue<string>() ?? payload["user"]?["name"]?.GetValue<string>() ?? userId;
        return new ChatInput($"press/{channel}/{messageTs}/{userId}/{action["action_ts"]?.GetValue<string>()}", channel, channel,
            channel.StartsWith('D'), userId, "@" + name, messageTs, null, action["value"]?.GetValue<string>() ?? "", $"{channel}|{userId}");
    }

    private static ChatInput SlashCommand(JsonObject payload)
    {
        // "/pocketcoder bind demo" is "/bind demo"; any other registered command is itself ("/pair CODE").
        var command = payload["command"]?.GetValue<string>() ?? "";
        var text = payload["text"]?.GetValue<string>()?.Trim() ?? "";
        var line = command is "/pocketcoder" or "/pc" ? "/" + text : $"{command} {text}".Trim();
        var channel = payload["channel_id"]?.GetValue<string>() ?? "";
        var userId = payload["user_id"]?.GetValue<string>() ?? "";
        return new ChatInput("slash/" + (payload["trigger_id"]?.GetValue<string>() ?? Guid.NewGuid().ToString("N")), channel,
            payload["channel_name"]?.GetValue<string>() ?? channel, payload["channel_name"]?.GetValue<string>() == "directmessage" || channel.StartsWith('D'),
            userId, "@" + (payload["user_name"]?.GetValue<string>() ?? userId), "", line);
    }

    private Task<string> NameAsync(string userId, CancellationToken cancellationToken) => _names.GetAsync(userId, async () =>
    {
        var info = await CallAsync("users.info", new JsonObject { ["user"] = userId }, bridge.Secret, cancellationToken).ConfigureAwait(false);
        return "@" + (info["user"]?["name"]?.GetValue<string>() ?? userId);
    }, exception => exception is ChatRefusedException or HttpRequestException, "@" + userId);

    public async Task<string> SendAsync(string chatId, ChatMessage message, CancellationToken cancellationToken)
    {
        var sent = await CallAsync("chat.postMessage", Body(chatId, message), bridge.Secret, cancellationToken).ConfigureAwait(false);
        return sent["ts"]?.GetValue<string>() ?? throw new ChatRefusedException("Slack gave the message no ts.");
    }

    public async Task EditAsync(string chatId, string messageId, ChatMessage message, CancellationToken cancellationToken)
    {
        var body = Body(chatId, message);
        body["ts"] = messageId;
        await CallAsync("chat.update", body, bridge.Secret, cancellationToken).ConfigureAwait(false);
    }

    public async Task SendFileAsync(string chatId, string fileName, string content, string caption, CancellationToken cancellationToken)
    {
        // Slack's upload: ask for an address, send the bytes there, then share the file in the channel.
        var bytes = Encoding.UTF8.GetBytes(content);
        var upload = await CallAsync("files.getUploadURLExternal", new JsonObject { ["filename"] = fileName, ["length"] = bytes.Length },
            bridge.Secret, cancellationToken, form: true).ConfigureAwait(false);
        var address = upload["upload_url"]?.GetValue<string>() ?? throw new ChatRefusedException("Slack gave no upload address.");
        using (var response = await _http.PostAsync(new Uri(address), new ByteArrayContent(bytes), cancellationToken).ConfigureAwait(false))
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"Slack's upload answered {(int)response.StatusCode}", null, response.StatusCode);
            }
        }

        await CallAsync("files.completeUploadExternal", new JsonObject
        {
            ["files"] = new JsonArray(new JsonObject { ["id"] = upload["file_id"]?.GetValue<string>(), ["title"] = fileName }),
            ["channel_id"] = chatId,
            ["initial_comment"] = caption,
        }, bridge.Secret, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Slack has no answer to a press: the notice is a message only the presser sees.</summary>
    public async Task AnswerPressAsync(string pressId, string notice, CancellationToken cancellationToken)
    {
        var parts = pressId.Split('|');
        await CallAsync("chat.postEphemeral", new JsonObject { ["channel"] = parts[0], ["user"] = parts[1], ["text"] = notice },
            bridge.Secret, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Plain text in a section block (never mrkdwn: what agents write is shown, not interpreted), and a row of buttons.</summary>
    private JsonObject Body(string chatId, ChatMessage message)
    {
        var text = ChatMessage.Shorten(message.Text, MaxTextLength);
        JsonNode section = new JsonObject
        {
            ["type"] = "section",
            ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = text.Length == 0 ? "…" : text, ["emoji"] = false },
        };
        var blocks = new JsonArray([section, .. (message.Buttons ?? []).Select(row => (JsonNode)new JsonObject
        {
            ["type"] = "actions",
            ["elements"] = new JsonArray([.. row.Select(b => (JsonNode)new JsonObject
            {
                ["type"] = "button",
                ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = b.Label },
                ["action_id"] = b.Data,
                ["value"] = b.Data,
            })]),
        })]);

        return new JsonObject { ["channel"] = chatId, ["text"] = text, ["blocks"] = blocks, ["unfurl_links"] = false, ["unfurl_media"] = false };
    }

    private async Task<JsonObject> CallAsync(string method, JsonObject request, string token, CancellationToken cancellationToken, bool form = false)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, ChatHttp.Address(bridge, method))
        {
            Content = form ? new FormUrlEncodedContent(request.Select(p => KeyValuePair.Create(p.Key, p.Value?.ToString() ?? ""))) : ChatHttp.Json(request),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            throw ChatHttp.RateLimited(response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 5);
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Slack answered {method} with HTTP {(int)response.StatusCode}", null, response.StatusCode);
        }

        var answer = await ChatHttp.ReadAsync(response, cancellationToken).ConfigureAwait(false) as JsonObject;
        if (answer?["ok"]?.GetValue<bool>() == true)
        {
            return answer;
        }

        throw new ChatRefusedException($"Slack refused {method}: {answer?["error"]?.GetValue<string>() ?? "no answer"}");
    }

    public ValueTask DisposeAsync()
    {
        _socket?.Abort();
        _socket?.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
