using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PocketCoder.Bridges.Feishu;

/// <summary>
/// Feishu (Lark) through its long connection (https://open.feishu.cn/document/server-docs/event-subscription-guide):
/// the app opens a WebSocket with its App ID and App Secret, so the machine needs no public address. Frames are
/// Feishu's small protobuf (<see cref="FeishuFrame"/>); a message event is acknowledged as soon as it is read, a card
/// button press when the bridge answers it (the answer is the toast the presser sees) or, failing that, within two
/// seconds. Messages are interactive cards (plain text, never markdown) so they can be edited in place; the Open API is
/// called with a tenant access token in the Authorization header, fetched and renewed here.
/// </summary>
public sealed partial class FeishuPlatform(BridgeDefinition bridge) : IChatPlatform
{
    /// <summary>Feishu waits about three seconds for a press's answer; unanswered by then, it is acknowledged without a toast.</summary>
    private static readonly TimeSpan PressAnswerWait = TimeSpan.FromSeconds(2);

    private readonly HttpClient _http = ChatHttp.Client(TimeSpan.FromSeconds(30));
    private readonly SemaphoreSlim _sending = new(1, 1);
    /// <summary>Presses not yet acknowledged, with the connection they came on (the answer must go back on that one).</summary>
    private readonly ConcurrentDictionary<string, (FeishuFrame Frame, ClientWebSocket Socket)> _pressesWaiting = new(StringComparer.Ordinal);
    private readonly ChatNames _names = new();
    private readonly Dictionary<string, byte[][]> _parts = new(StringComparer.Ordinal);
    private ClientWebSocket? _socket;
    private CancellationTokenSource? _pinging;
    private string? _token;
    private DateTimeOffset _tokenUntil;
    private string? _botOpenId;

    // A card holds about 30 KB; one plain-text element is kept well under that.
    public int MaxTextLength => 4000;

    // Feishu: five messages a second to one chat, shared by the bots in a group; one a second leaves room for edits.
    public TimeSpan IntervalIn(string chatId) => TimeSpan.FromSeconds(1);

    // Group messages reach the bot when it is mentioned, or always with the im:message.group_msg permission (docs/bridges.md).
    public bool SeesEveryGroupMessage => true;

    public async Task<string> ConnectAsync(CancellationToken cancellationToken)
    {
        var info = await CallAsync(HttpMethod.Get, "open-apis/bot/v3/info", null, cancellationToken).ConfigureAwait(false);
        _botOpenId = info["bot"]?["open_id"]?.GetValue<string>();
        return info["bot"]?["app_name"]?.GetValue<string>() ?? "bot";
    }

    public async Task<(IReadOnlyList<ChatInput> Inputs, string? Cursor)> ReceiveAsync(string? cursor, CancellationToken cancellationToken)
    {
        var socket = _socket;
        if (socket is not { State: WebSocketState.Open })
        {
            await CloseSocketAsync().ConfigureAwait(false);
            _socket = socket = await OpenSocketAsync(cancellationToken).ConfigureAwait(false);
        }

        FeishuFrame frame;
        try
        {
            frame = FeishuFrame.Decode(await SocketMessages.ReadAsync(socket, "Feishu", cancellationToken).ConfigureAwait(false));
        }
        catch (Exception exception) when (exception is WebSocketException or InvalidDataException)
        {
            socket.Abort();
            throw new HttpRequestException($"The Feishu connection failed: {exception.Message}");
        }

        if (frame.Method != FeishuFrame.DataMethod)
        {
            return ([], null); // A pong (and what it says of the ping interval is not needed: the SDK's two minutes are kept).
        }

        if (Combine(frame) is not { } payload)
        {
            return ([], null);
        }

        try
        {
            var input = frame.Header("type") == "event" ? Read(frame, socket, JsonNode.Parse(payload) as JsonObject) : null;
            if (input?.PressId is null)
            {
                await AcknowledgeAsync(socket, frame, null, cancellationToken).ConfigureAwait(false);
            }

            if (input is { PressId: null } && ChatCommands.Parse(input.Text ?? "").Command == "pair")
            {
                // Only pairing names the device after the person; no other message costs a contact lookup.
                input = input with { UserName = await NameAsync(input.UserId, cancellationToken).ConfigureAwait(false) };
            }

            return (input is null ? [] : [input], null);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or FormatException)
        {
            await AcknowledgeAsync(socket, frame, null, cancellationToken).ConfigureAwait(false);
            throw new ChatRefusedException($"Skipped an event Feishu sent in an unexpected shape: {exception.Message}");
        }
    }

    /// <summary>An event split over several frames (headers <c>sum</c> and <c>seq</c>) is put back together; null until it is whole.</summary>
    private byte[]? Combine(FeishuFrame frame)
    {
        var sum = int.TryParse(frame.Header("sum"), CultureInfo.InvariantCulture, out var s) ? s : 1;
        if (sum <= 1)
        {
            return frame.Payload;
        }

        var seq = int.TryParse(frame.Header("seq"), CultureInfo.InvariantCulture, out var q) ? q : 0;
        var id = frame.Header("message_id") ?? "";
        if (sum > 64 || seq < 0 || seq >= sum)
        {
            return null;
        }

        const int MaxBuffered = 8 << 20;

        lock (_parts)
        {
            if (!_parts.TryGetValue(id, out var parts) || parts.Length != sum)
            {
                if (_parts.Count > 100 || _parts.Values.Sum(p => p.Sum(part => part?.Length ?? 0)) > MaxBuffered)
                {
                    _parts.Clear(); // Parts of events that never completed: Feishu sends those again.
                }

                _parts[id] = parts = new byte[sum][];
            }

            parts[seq] = frame.Payload;
            if (parts.Any(p => p is null))
            {
                return null;
            }

            _parts.Remove(id);
            return [.. parts.SelectMany(p => p)];
        }
    }

    private ChatInput? Read(FeishuFrame frame, ClientWebSocket socket, JsonObject? payload)
    {
        var header = payload?["header"];
        var delivery = header?["event_id"]?.GetValue<string>() ?? frame.Header("message_id") ?? "";
        var body = payload?["event"];
        switch (header?["event_type"]?.GetValue<string>())
        {
            case "im.message.receive_v1":
                var message = body?["message"];
                if (body?["sender"]?["sender_type"]?.GetValue<string>() != "user" || message?["message_type"]?.GetValue<string>() != "text"
                    || body["sender"]?["sender_id"]?["open_id"]?.GetValue<string>() is not { } userId || userId == _botOpenId
                    || message["chat_id"]?.GetValue<string>() is not { } chatId
                    || (JsonNode.Parse(message["content"]?.GetValue<string>() ?? "{}") as JsonObject)?["text"]?.GetValue<string>() is not { } text)
                {
                    return null; // Images, files, the bot's own: nothing a bridge acts on.
                }

                // "@_user_1 /bind demo": each mention is a placeholder in the text. The bot's own goes; anyone else's becomes
                // their name, so "@OtherBot /stop" is not a command to this one.
                var mentions = (message["mentions"] as JsonArray ?? []).OfType<JsonObject>()
                    .ToDictionary(m => m["key"]?.GetValue<string>() ?? "", m => m, StringComparer.Ordinal);
                text = MentionPlaceholder().Replace(text, match => !mentions.TryGetValue(match.Value, out var mention) ? ""
                    : mention["id"]?["open_id"]?.GetValue<string>() == _botOpenId ? "" : "@" + (mention["name"]?.GetValue<string>() ?? "someone")).Trim();
                return new ChatInput(delivery, chatId, chatId, message["chat_type"]?.GetValue<string>() == "p2p", userId, userId,
                    message["message_id"]?.GetValue<string>() ?? "", text);
            case "card.action.trigger":
                if (body?["operator"]?["open_id"]?.GetValue<string>() is not { } presser
                    || body["context"]?["open_chat_id"]?.GetValue<string>() is not { } pressChat
                    || body["context"]?["open_message_id"]?.GetValue<string>() is not { } pressed
                    || body["action"]?["value"]?["pc"]?.GetValue<string>() is not { } data)
                {
                    return null;
                }

                var pressId = delivery + "/" + Guid.NewGuid().ToString("N");
                _pressesWaiting[pressId] = (frame, socket);
                _ = AcknowledgeLaterAsync(pressId);
                return new ChatInput(delivery, pressChat, pressChat, false, presser, presser, pressed, null, data, pressId);
            default:
                return null;
        }
    }

    [GeneratedRegex("@_user_\\d+")]
    private static partial Regex MentionPlaceholder();

    /// <summary>A person's display name (the contact API, remembered), or their open id where the app may not read contacts.</summary>
    /// <remarks>Without contact permission, or with Feishu busy, the open id names them.</remarks>
    private Task<string> NameAsync(string openId, CancellationToken cancellationToken) => _names.GetAsync(openId, async () =>
    {
        var user = await CallAsync(HttpMethod.Get, $"open-apis/contact/v3/users/{Uri.EscapeDataString(openId)}?user_id_type=open_id", null, cancellationToken)
            .ConfigureAwait(false);
        return user["data"]?["user"]?["name"]?.GetValue<string>() ?? openId;
    }, exception => exception is ChatRefusedException or ChatRateLimitedException or HttpRequestException
        or TaskCanceledException or InvalidOperationException && !cancellationToken.IsCancellationRequested, openId);

    public async Task<string> SendAsync(string chatId, ChatMessage message, CancellationToken cancellationToken)
    {
        var sent = await CallAsync(HttpMethod.Post, "open-apis/im/v1/messages?receive_id_type=chat_id", new JsonObject
        {
            ["receive_id"] = chatId,
            ["msg_type"] = "interactive",
            ["content"] = Card(message).ToJsonString(),
        }, cancellationToken).ConfigureAwait(false);
        return sent["data"]?["message_id"]?.GetValue<string>() ?? throw new ChatRefusedException("Feishu gave the message no id.");
    }

    public Task EditAsync(string chatId, string messageId, ChatMessage message, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Patch, $"open-apis/im/v1/messages/{Uri.EscapeDataString(messageId)}",
            new JsonObject { ["content"] = Card(message).ToJsonString() }, cancellationToken);

    public async Task SendFileAsync(string chatId, string fileName, string content, string caption, CancellationToken cancellationToken)
    {
        // Feishu's way: upload the file, then send a message that is that file; the caption goes just before it.
        using var form = new MultipartFormDataContent
        {
            { new StringContent("stream"), "file_type" },
            { new StringContent(fileName), "file_name" },
        };
        form.Add(ChatHttp.TextFile(content), "file", fileName);
        var uploaded = await SendAsync(HttpMethod.Post, "open-apis/im/v1/files", form, cancellationToken).ConfigureAwait(false);
        var key = uploaded["data"]?["file_key"]?.GetValue<string>() ?? throw new ChatRefusedException("Feishu gave the file no key.");
        await SendAsync(chatId, new ChatMessage(caption), cancellationToken).ConfigureAwait(false);
        await CallAsync(HttpMethod.Post, "open-apis/im/v1/messages?receive_id_type=chat_id", new JsonObject
        {
            ["receive_id"] = chatId,
            ["msg_type"] = "file",
            ["content"] = new JsonObject { ["file_key"] = key }.ToJsonString(),
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The press's acknowledgement carries the notice as a toast only the presser sees, on the connection it came on.</summary>
    public async Task AnswerPressAsync(string pressId, string notice, CancellationToken cancellationToken)
    {
        if (_pressesWaiting.TryRemove(pressId, out var waiting))
        {
            await AcknowledgeQuietlyAsync(waiting.Socket, waiting.Frame,
                new JsonObject { ["toast"] = new JsonObject { ["type"] = "info", ["content"] = notice } }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task AcknowledgeLaterAsync(string pressId)
    {
        await Task.Delay(PressAnswerWait).ConfigureAwait(false);
        if (_pressesWaiting.TryRemove(pressId, out var waiting))
        {
            await AcknowledgeQuietlyAsync(waiting.Socket, waiting.Frame, null, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task AcknowledgeQuietlyAsync(ClientWebSocket socket, FeishuFrame frame, JsonObject? answer, CancellationToken cancellationToken)
    {
        try
        {
            await AcknowledgeAsync(socket, frame, answer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection went meanwhile: Feishu tells the presser it got no answer; the press itself was acted on.
        }
    }

    /// <summary>The frame sent back with <c>{"code":200}</c> (and the answer, base64 as Feishu's SDKs send it): Feishu then does not send it again.</summary>
    private async Task AcknowledgeAsync(ClientWebSocket socket, FeishuFrame frame, JsonObject? answer, CancellationToken cancellationToken)
    {
        var response = new JsonObject { ["code"] = 200 };
        if (answer is not null)
        {
            response["data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(answer.ToJsonString()));
        }

        frame.Payload = Encoding.UTF8.GetBytes(response.ToJsonString());
        await WriteAsync(socket, frame, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One frame on the socket, one writer at a time (acknowledgements, answers and pings come from different tasks).</summary>
    private async Task WriteAsync(ClientWebSocket socket, FeishuFrame frame, CancellationToken cancellationToken)
    {
        var bytes = frame.Encode();
        await _sending.RunAsync(async () => await socket.SendAsync(bytes, WebSocketMessageType.Binary, true, cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<ClientWebSocket> OpenSocketAsync(CancellationToken cancellationToken)
    {
        var endpoint = await SendAsync(HttpMethod.Post, "callback/ws/endpoint",
            ChatHttp.Json(new JsonObject { ["AppID"] = bridge.AppId, ["AppSecret"] = bridge.Secret }), cancellationToken, authorized: false).ConfigureAwait(false);
        var url = endpoint["data"]?["URL"]?.GetValue<string>() ?? throw new ChatRefusedException("Feishu gave no connection address.");
        var socket = await SocketMessages.OpenAsync(url, "Feishu", cancellationToken).ConfigureAwait(false);
        var service = int.TryParse(System.Web.HttpUtility.ParseQueryString(new Uri(url).Query)["service_id"], CultureInfo.InvariantCulture, out var id) ? id : 0;

        // Feishu's own ping, every two minutes as its SDKs do; WebSocket keep-alive notices a dead connection sooner.
        _pinging = new CancellationTokenSource();
        _ = PingAsync(socket, service, _pinging.Token);
        return socket;
    }

    private async Task PingAsync(ClientWebSocket socket, int service, CancellationToken cancellationToken)
    {
        var ping = new FeishuFrame { Service = service, Method = FeishuFrame.ControlMethod };
        ping.Headers.Add(new("type", "ping"));
        try
        {
            while (!cancellationToken.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                await WriteAsync(socket, ping, cancellationToken).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The connection is going; the receive loop opens the next one.
        }
    }

    private async Task CloseSocketAsync()
    {
        if (_pinging is { } pinging)
        {
            await pinging.CancelAsync().ConfigureAwait(false);
            pinging.Dispose();
            _pinging = null;
        }

        _socket?.Abort();
        _socket?.Dispose();
        _socket = null;
    }

    /// <summary>A card with the text as plain text (never markdown: what agents write is shown, not interpreted) and rows of buttons.</summary>
    private JsonObject Card(ChatMessage message)
    {
        var text = ChatMessage.Shorten(message.Text, MaxTextLength);
        JsonNode div = new JsonObject
        {
            ["tag"] = "div",
            ["text"] = new JsonObject { ["tag"] = "plain_text", ["content"] = text.Length == 0 ? "…" : text },
        };
        var elements = new JsonArray([div, .. (message.Buttons ?? []).Select(row => (JsonNode)new JsonObject
        {
            ["tag"] = "action",
            ["actions"] = new JsonArray([.. row.Select(b => (JsonNode)new JsonObject
            {
                ["tag"] = "button",
                ["text"] = new JsonObject { ["tag"] = "plain_text", ["content"] = b.Label },
                ["type"] = "default",
                ["value"] = new JsonObject { ["pc"] = b.Data },
            })]),
        })]);

        // Shared: an edit shows to everyone in the chat, not only to whoever pressed.
        return new JsonObject { ["config"] = new JsonObject { ["update_multi"] = true }, ["elements"] = elements };
    }

    private Task<JsonObject> CallAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken) =>
        SendAsync(method, path, body is null ? null : ChatHttp.Json(body), cancellationToken);

    /// <summary>One Open API call: the tenant token in the header (renewed once if Feishu says it expired), Feishu's <c>code</c> checked.</summary>
    private async Task<JsonObject> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken, bool authorized = true)
    {
        var body = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, ChatHttp.Address(bridge, path));
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = content!.Headers.ContentType;
            }

            if (authorized)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(attempt > 1, cancellationToken).ConfigureAwait(false));
            }

            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var reset = response.Headers.TryGetValues("x-ogw-ratelimit-reset", out var values)
                    && int.TryParse(values.FirstOrDefault(), CultureInfo.InvariantCulture, out var seconds) ? seconds : 1;
                throw ChatHttp.RateLimited(reset);
            }

            var answer = await ChatHttp.ReadAsync(response, cancellationToken).ConfigureAwait(false) as JsonObject;
            var code = answer?["code"]?.GetValueKind() == JsonValueKind.Number ? answer["code"]!.GetValue<long>() : -1;
            if (code == 0 && response.IsSuccessStatusCode)
            {
                return answer!;
            }

            // 99991661/99991663: the tenant token is missing or expired; a fresh one is fetched once.
            if (authorized && attempt == 1 && code is 99991661 or 99991663)
            {
                continue;
            }

            var why = answer?["msg"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode}";
            if ((int)response.StatusCode >= 500 || answer is null)
            {
                throw new HttpRequestException($"Feishu answered {path.Split('?')[0]} with {why}", null, response.StatusCode);
            }

            throw new ChatRefusedException($"Feishu refused {path.Split('?')[0]}: {why} (code {code})");
        }
    }

    /// <summary>The tenant access token, fetched with the App ID and App Secret and kept until five minutes before it expires.</summary>
    private async Task<string> TokenAsync(bool renew, CancellationToken cancellationToken)
    {
        if (!renew && _token is { } token && DateTimeOffset.UtcNow < _tokenUntil)
        {
            return token;
        }

        var answer = await SendAsync(HttpMethod.Post, "open-apis/auth/v3/tenant_access_token/internal",
            ChatHttp.Json(new JsonObject { ["app_id"] = bridge.AppId, ["app_secret"] = bridge.Secret }), cancellationToken, authorized: false).ConfigureAwait(false);
        _token = answer["tenant_access_token"]?.GetValue<string>() ?? throw new ChatRefusedException("Feishu gave no tenant access token.");
        var lifetime = answer["expire"]?.GetValueKind() == JsonValueKind.Number ? answer["expire"]!.GetValue<int>() : 7200;
        _tokenUntil = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(Math.Max(60, lifetime - 300));
        return _token;
    }

    public async ValueTask DisposeAsync()
    {
        await CloseSocketAsync().ConfigureAwait(false);
        _http.Dispose();
        _sending.Dispose();
    }
}
