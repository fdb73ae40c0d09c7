using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PocketCoder.Bridges.Feishu;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// Feishu as a self-built app with a long connection sees it, on 127.0.0.1: the tenant token, bot info, the contact
/// API, sending cards and files and patching cards, and the WebSocket that carries events as protobuf frames the app must
/// acknowledge (a press's acknowledgement carries its toast). The tenant token is checked on every call and can be
/// expired on demand; an event can be split over two frames; a 429 on demand.
/// </summary>
public sealed class FakeFeishu : FakeChat, IAsyncDisposable
{
    public const string AppId = "cli_test0001";
    public const string AppSecret = "s3cretAppSecret";
    public const string BotOpenId = "ou_bot";

    private readonly WebApplication _app;
    private readonly FakeSocket _link = new(WebSocketMessageType.Binary);
    private readonly HashSet<string> _acked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _uploads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _rateLimits = new(StringComparer.Ordinal);
    private string _token = "t-first";
    private int _tokensIssued;
    private int _pings;

    private FakeFeishu(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    public int Pings
    {
        get
        {
            lock (Sync)
            {
                return _pings;
            }
        }
    }

    public static async Task<FakeFeishu> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var fake = new FakeFeishu(app);
        app.UseWebSockets();
        app.Map("/ws", fake.SocketAsync);
        app.Map("/{**path}", fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = new Uri(app.Urls.First() + "/");
        return fake;
    }

    public void Configure(string dataDirectory, string id = "feishu") =>
        File.WriteAllText(Path.Combine(dataDirectory, "bridges.json"), new JsonObject
        {
            ["bridges"] = new JsonArray(new JsonObject
            {
                ["id"] = id, ["platform"] = "feishu", ["appId"] = AppId, ["secret"] = AppSecret, ["apiBase"] = BaseUrl.ToString(),
            }),
        }.ToJsonString());

    // ---- People ----

    /// <summary>A person's display name, as the contact API gives it.</summary>
    public void Name(string openId, string name)
    {
        lock (Sync)
        {
            _names[openId] = name;
        }
    }

    /// <summary>A person writes in a chat (<paramref name="direct"/>: a p2p chat with the bot); returns the event to deliver again.</summary>
    public JsonObject Write(string chatId, string openId, string text, bool direct = false) => Deliver(MessageEvent(chatId, openId, text, direct));

    /// <summary>The event of a person writing, not yet delivered.</summary>
    public JsonObject MessageEvent(string chatId, string openId, string text, bool direct = false) => Event("im.message.receive_v1", new JsonObject
    {
        ["sender"] = new JsonObject { ["sender_id"] = new JsonObject { ["open_id"] = openId }, ["sender_type"] = "user" },
        ["message"] = new JsonObject
        {
            ["message_id"] = "om_in" + NextId(), ["chat_id"] = chatId, ["chat_type"] = direct ? "p2p" : "group", ["message_type"] = "text",
            ["content"] = new JsonObject { ["text"] = text }.ToJsonString(),
        },
    });

    public JsonObject Press(BotMessage message, string label, string openId) => Deliver(Event("card.action.trigger", new JsonObject
    {
        ["operator"] = new JsonObject { ["open_id"] = openId },
        ["action"] = new JsonObject { ["tag"] = "button", ["value"] = new JsonObject { ["pc"] = message.Buttons.Single(b => b.Label == label).Data } },
        ["context"] = new JsonObject { ["open_message_id"] = message.MessageId, ["open_chat_id"] = message.ChatId },
    }));

    private JsonObject Event(string type, JsonObject body) => new()
    {
        ["schema"] = "2.0",
        ["header"] = new JsonObject { ["event_id"] = "ev" + NextId(), ["event_type"] = type, ["app_id"] = AppId },
        ["event"] = body,
    };

    /// <summary>Sends an event as one data frame, or split over <paramref name="parts"/> frames as Feishu does with large ones.</summary>
    public JsonObject Deliver(JsonObject payload, int parts = 1)
    {
        var bytes = Encoding.UTF8.GetBytes(payload.ToJsonString());
        var messageId = "msg" + NextId();
        LastDelivered = messageId;
        var size = (bytes.Length + parts - 1) / parts;
        lock (Sync)
        {
            for (var part = 0; part < parts; part++)
            {
                var frame = new FeishuFrame { SeqId = (ulong)NextId(), Service = 7, Method = FeishuFrame.DataMethod };
                frame.Headers.Add(new("type", "event"));
                frame.Headers.Add(new("message_id", messageId));
                frame.Headers.Add(new("sum", parts.ToString()));
                frame.Headers.Add(new("seq", part.ToString()));
                frame.Payload = bytes[(part * size)..Math.Min(bytes.Length, (part + 1) * size)];
                _link.Send(frame.Encode());
            }
        }

        return payload;
    }

    /// <summary>The message_id header of the frames last delivered.</summary>
    public string LastDelivered { get; private set; } = "";

    /// <summary>Whether the app acknowledged the event (its frames carry the event's message_id header; any of them counts).</summary>
    public bool Acked(string messageIdHeader)
    {
        lock (Sync)
        {
            return _acked.Contains(messageIdHeader);
        }
    }

    /// <summary>The tenant token in use stops working: the next call is told so (code 99991663) and must fetch a new one.</summary>
    public void ExpireToken()
    {
        lock (Sync)
        {
            _token = "t-expired-" + NextId();
        }
    }

    public void RateLimitNext(string path, int resetSeconds)
    {
        lock (Sync)
        {
            _rateLimits[path] = resetSeconds;
        }
    }

    // ---- The long connection ----

    private Task SocketAsync(HttpContext context)
    {
        if (context.Request.Query["device_id"] != "dev1")
        {
            context.Response.StatusCode = 400;
            return Task.CompletedTask;
        }

        return _link.RunAsync(context, async message =>
        {
            var frame = FeishuFrame.Decode(message);
            if (frame.Method == FeishuFrame.ControlMethod)
            {
                lock (Sync)
                {
                    _pings++;
                    Changed();
                }

                var pong = new FeishuFrame { Service = frame.Service, Method = FeishuFrame.ControlMethod };
                pong.Headers.Add(new("type", "pong"));
                await _link.ReplyAsync(pong.Encode());
                return;
            }

            var response = JsonNode.Parse(frame.Payload)!;
            lock (Sync)
            {
                _acked.Add(frame.Header("message_id") ?? "");
                if (response["data"]?.GetValue<string>() is { } data
                    && JsonNode.Parse(Convert.FromBase64String(data))?["toast"]?["content"]?.GetValue<string>() is { } toast)
                {
                    RecordAnswer(toast);
                }

                Changed();
            }
        });
    }

    // ---- The Open API ----

    private async Task<IResult> HandleAsync(string path, HttpContext context)
    {
        JsonObject request = [];
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync();
            foreach (var field in form)
            {
                request[field.Key] = field.Value.ToString();
            }

            if (form.Files["file"] is { } file)
            {
                using var reader = new StreamReader(file.OpenReadStream());
                request["file"] = await reader.ReadToEndAsync();
            }
        }
        else if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        }

        var method = context.Request.Method;
        var token = context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        lock (Sync)
        {
            RecordCall($"{method} {path}");
            if (_rateLimits.Remove(path, out var reset))
            {
                context.Response.Headers["x-ogw-ratelimit-reset"] = reset.ToString();
                return Results.Json(new JsonObject { ["code"] = 99991400, ["msg"] = "request trigger frequency limit" }, statusCode: 429);
            }

            switch (path)
            {
                case "open-apis/auth/v3/tenant_access_token/internal":
                    if (request["app_id"]?.GetValue<string>() != AppId || request["app_secret"]?.GetValue<string>() != AppSecret)
                    {
                        return Reply(10014, "app secret invalid");
                    }

                    if (_token.StartsWith("t-expired", StringComparison.Ordinal))
                    {
                        _token = "t-renewed-" + NextId();
                    }

                    Interlocked.Increment(ref _tokensIssued);
                    return Results.Json(new JsonObject { ["code"] = 0, ["msg"] = "ok", ["tenant_access_token"] = _token, ["expire"] = 7200 });
                case "callback/ws/endpoint":
                    return request["AppID"]?.GetValue<string>() == AppId && request["AppSecret"]?.GetValue<string>() == AppSecret
                        ? Reply(0, "ok", new JsonObject { ["URL"] = $"ws://{BaseUrl.Authority}/ws?device_id=dev1&service_id=7", ["ClientConfig"] = new JsonObject { ["PingInterval"] = 120 } })
                        : Reply(1000040343, "auth failed");
            }

            if (token != _token)
            {
                return Results.Json(new JsonObject { ["code"] = 99991663, ["msg"] = "Invalid access token for authorization" }, statusCode: 400);
            }

            if (path == "open-apis/bot/v3/info")
            {
                return Results.Json(new JsonObject { ["code"] = 0, ["msg"] = "ok", ["bot"] = new JsonObject { ["app_name"] = "PocketCoder Test", ["open_id"] = BotOpenId } });
            }

            if (path.StartsWith("open-apis/contact/v3/users/", StringComparison.Ordinal))
            {
                var openId = path["open-apis/contact/v3/users/".Length..];
                return _names.TryGetValue(openId, out var name)
                    ? Reply(0, "ok", new JsonObject { ["user"] = new JsonObject { ["open_id"] = openId, ["name"] = name } })
                    : Reply(41050, "no user authority error");
            }

            if (path == "open-apis/im/v1/files" && method == "POST")
            {
                var key = "file_" + NextId();
                _uploads[key] = request["file"]!.GetValue<string>();
                _uploads[key + ":name"] = request["file_name"]!.GetValue<string>();
                return Reply(0, "ok", new JsonObject { ["file_key"] = key });
            }

            if (path == "open-apis/im/v1/messages" && method == "POST")
            {
                var chatId = request["receive_id"]!.GetValue<string>();
                var content = JsonNode.Parse(request["content"]!.GetValue<string>())!;
                var id = "om_" + NextId();
                if (request["msg_type"]!.GetValue<string>() == "file")
                {
                    var key = content["file_key"]!.GetValue<string>();
                    RecordFile(chatId, _uploads[key + ":name"], _uploads[key]);
                }
                else
                {
                    var (text, buttons) = ReadCard(content);
                    RecordSend(chatId, id, text, buttons);
                }

                return Reply(0, "ok", new JsonObject { ["message_id"] = id, ["chat_id"] = chatId });
            }

            if (path.StartsWith("open-apis/im/v1/messages/", StringComparison.Ordinal) && method == "PATCH")
            {
                var id = path["open-apis/im/v1/messages/".Length..];
                var chatId = ChatOf(id) ?? "";
                var (text, buttons) = ReadCard(JsonNode.Parse(request["content"]!.GetValue<string>())!);
                return RecordEdit(chatId, id, text, buttons) is { } refused && refused != "message is not modified"
                    ? Reply(230001, refused)
                    : Reply(0, "ok", new JsonObject());
            }

            return Results.Json(new JsonObject { ["code"] = 404, ["msg"] = "not found" }, statusCode: 404);
        }
    }

    /// <summary>A card's text (its first element, which must be plain text: never markdown) and its buttons.</summary>
    private static (string Text, List<(string, string)> Buttons) ReadCard(JsonNode card)
    {
        var elements = card["elements"]!.AsArray();
        if (elements[0]!["text"]!["tag"]!.GetValue<string>() != "plain_text" || card["config"]?["update_multi"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException("Cards must be shared (update_multi) and plain text.");
        }

        var buttons = elements.Skip(1).SelectMany(e => e!["actions"]!.AsArray())
            .Select(b => (b!["text"]!["content"]!.GetValue<string>(), b["value"]!["pc"]!.GetValue<string>())).ToList();
        return (elements[0]!["text"]!["content"]!.GetValue<string>(), buttons);
    }

    private static IResult Reply(long code, string message, JsonObject? data = null) =>
        Results.Json(new JsonObject { ["code"] = code, ["msg"] = message, ["data"] = data ?? new JsonObject() }, statusCode: code == 0 ? 200 : 400);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
