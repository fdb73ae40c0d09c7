using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// Slack as a Socket Mode app sees it, on 127.0.0.1: the Web API (auth.test, apps.connections.open, users.info,
/// chat.postMessage, chat.update, chat.postEphemeral, the external file upload) and the WebSocket that carries events,
/// presses and slash commands as envelopes the app must acknowledge. Tokens are checked as Slack does (Authorization
/// header); a 429 with Retry-After on demand; "disconnect" on demand.
/// </summary>
public sealed class FakeSlack : FakeChat, IAsyncDisposable
{
    public const string BotToken = "xoxb-1-test-bot";
    public const string AppToken = "xapp-1-test-app";
    public const string BotUserId = "UBOT";

    private readonly WebApplication _app;
    private readonly FakeSocket _link = new(WebSocketMessageType.Text);
    private readonly HashSet<string> _acked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _rateLimits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Name, byte[]? Bytes)> _uploads = new(StringComparer.Ordinal);
    private long _ts = 1_700_000_000_000;

    private FakeSlack(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>How many sockets the app has opened so far.</summary>
    public int Connections => _link.Connections;

    public static async Task<FakeSlack> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // Quiet: a request log would print the bot token in every URL (and drown the test output).
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var fake = new FakeSlack(app);
        app.UseWebSockets();
        app.Map("/link", fake.SocketAsync);
        app.MapPost("/upload/{id}", fake.UploadAsync);
        app.MapPost("/api/{method}", fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = new Uri(app.Urls.First() + "/");
        return fake;
    }

    public void Configure(string dataDirectory, string id = "slack") =>
        File.WriteAllText(Path.Combine(dataDirectory, "bridges.json"), new JsonObject
        {
            ["bridges"] = new JsonArray(new JsonObject
            {
                ["id"] = id, ["platform"] = "slack", ["secret"] = BotToken, ["appSecret"] = AppToken, ["apiBase"] = new Uri(BaseUrl, "api/").ToString(),
            }),
        }.ToJsonString());

    // ---- People ----

    /// <summary>A person writes in a channel (<c>D…</c> channels are direct messages); returns the envelope.</summary>
    public JsonObject Write(string channel, string userId, string text) => Deliver(new JsonObject
    {
        ["type"] = "events_api",
        ["payload"] = new JsonObject
        {
            ["type"] = "event_callback",
            ["event_id"] = "Ev" + NextId(),
            ["event"] = new JsonObject
            {
                ["type"] = "message", ["user"] = userId, ["text"] = text, ["channel"] = channel, ["ts"] = NextTs(),
                ["channel_type"] = channel.StartsWith('D') ? "im" : "channel",
            },
        },
    });

    public JsonObject Press(BotMessage message, string label, string userId, string userName)
    {
        var data = message.Buttons.Single(b => b.Label == label).Data;
        return Deliver(new JsonObject
        {
            ["type"] = "interactive",
            ["payload"] = new JsonObject
            {
                ["type"] = "block_actions",
                ["user"] = new JsonObject { ["id"] = userId, ["username"] = userName, ["name"] = userName },
                ["channel"] = new JsonObject { ["id"] = message.ChatId },
                ["container"] = new JsonObject { ["type"] = "message", ["message_ts"] = message.MessageId, ["channel_id"] = message.ChatId },
                ["actions"] = new JsonArray(new JsonObject { ["action_id"] = data, ["value"] = data, ["type"] = "button", ["action_ts"] = NextTs() }),
            },
        });
    }

    public JsonObject Slash(string channel, string userId, string userName, string command, string text) => Deliver(new JsonObject
    {
        ["type"] = "slash_commands",
        ["payload"] = new JsonObject
        {
            ["command"] = command, ["text"] = text, ["channel_id"] = channel, ["channel_name"] = channel.StartsWith('D') ? "directmessage" : "team",
            ["user_id"] = userId, ["user_name"] = userName, ["trigger_id"] = "T" + NextId(),
        },
    });

    /// <summary>Sends an envelope (again, when given one already sent: Slack's retry keeps the event_id, not the envelope_id).</summary>
    public JsonObject Deliver(JsonObject envelope)
    {
        var copy = envelope.DeepClone().AsObject();
        copy["envelope_id"] = "env-" + NextId();
        envelope["envelope_id"] = copy["envelope_id"]!.GetValue<string>();
        _link.Send(Encoding.UTF8.GetBytes(copy.ToJsonString()));
        return envelope;
    }

    /// <summary>Slack asks the app to reconnect (it does so every few hours).</summary>
    public void AskToReconnect() => Deliver(new JsonObject { ["type"] = "disconnect", ["reason"] = "refresh_requested" });

    /// <summary>Whether the app acknowledged the envelope last sent as <paramref name="envelope"/>.</summary>
    public bool Acked(JsonObject envelope)
    {
        lock (Sync)
        {
            return _acked.Contains(envelope["envelope_id"]!.GetValue<string>());
        }
    }

    public void RateLimitNext(string method, int retryAfterSeconds)
    {
        lock (Sync)
        {
            _rateLimits[method] = retryAfterSeconds;
        }
    }

    private string NextTs()
    {
        var ts = Interlocked.Increment(ref _ts);
        return $"{ts / 1000}.{ts % 1000:000000}";
    }

    // ---- The socket ----

    private Task SocketAsync(HttpContext context) => _link.RunAsync(context,
        received: message =>
        {
            var ack = JsonNode.Parse(message);
            lock (Sync)
            {
                _acked.Add(ack?["envelope_id"]?.GetValue<string>() ?? "");
                Changed();
            }

            return Task.CompletedTask;
        },
        opened: async socket =>
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes("""{"type":"hello","num_connections":1}"""), WebSocketMessageType.Text, true, CancellationToken.None);
            lock (Sync)
            {
                Changed();
            }
        });

    // ---- The Web API ----

    private async Task<IResult> UploadAsync(string id, HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        lock (Sync)
        {
            _uploads[id] = (_uploads[id].Name, body.ToArray());
        }

        return Results.Ok();
    }

    private async Task<IResult> HandleAsync(string method, HttpContext context)
    {
        JsonObject request;
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync();
            request = new JsonObject();
            foreach (var field in form)
            {
                request[field.Key] = field.Value.ToString();
            }
        }
        else
        {
            request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        }

        var token = context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        lock (Sync)
        {
            RecordCall(method);
            if (token != (method == "apps.connections.open" ? AppToken : BotToken))
            {
                return Ok(new JsonObject { ["ok"] = false, ["error"] = "invalid_auth" });
            }

            if (_rateLimits.Remove(method, out var retryAfter))
            {
                context.Response.Headers.RetryAfter = retryAfter.ToString();
                return Results.Json(new JsonObject { ["ok"] = false, ["error"] = "ratelimited" }, statusCode: 429);
            }

            switch (method)
            {
                case "auth.test":
                    return Ok(new JsonObject { ["ok"] = true, ["user"] = "pocket", ["user_id"] = BotUserId, ["bot_id"] = "BBOT" });
                case "apps.connections.open":
                    return Ok(new JsonObject { ["ok"] = true, ["url"] = $"ws://{BaseUrl.Authority}/link" });
                case "users.info":
                    var user = request["user"]!.GetValue<string>();
                    return Ok(new JsonObject { ["ok"] = true, ["user"] = new JsonObject { ["id"] = user, ["name"] = user.ToLowerInvariant() } });
                case "chat.postMessage":
                {
                    var channel = request["channel"]!.GetValue<string>();
                    var ts = NextTs();
                    RecordSend(channel, ts, Text(request), Buttons(request));
                    return Ok(new JsonObject { ["ok"] = true, ["channel"] = channel, ["ts"] = ts });
                }

                case "chat.update":
                {
                    var channel = request["channel"]!.GetValue<string>();
                    var ts = request["ts"]!.GetValue<string>();
                    // Slack updates a message whose text is unchanged without complaint.
                    var refused = RecordEdit(channel, ts, Text(request), Buttons(request));
                    return Ok(refused is null or "message is not modified"
                        ? new JsonObject { ["ok"] = true, ["channel"] = channel, ["ts"] = ts }
                        : new JsonObject { ["ok"] = false, ["error"] = "message_not_found" });
                }

                case "chat.postEphemeral":
                    RecordAnswer(request["text"]!.GetValue<string>());
                    return Ok(new JsonObject { ["ok"] = true });
                case "files.getUploadURLExternal":
                {
                    var id = "F" + NextId();
                    _uploads[id] = (request["filename"]!.GetValue<string>(), null);
                    return Ok(new JsonObject { ["ok"] = true, ["upload_url"] = new Uri(BaseUrl, "upload/" + id).ToString(), ["file_id"] = id });
                }

                case "files.completeUploadExternal":
                {
                    var id = request["files"]![0]!["id"]!.GetValue<string>();
                    var (name, bytes) = _uploads[id];
                    RecordFile(request["channel_id"]!.GetValue<string>(), name, Encoding.UTF8.GetString(bytes ?? []));
                    return Ok(new JsonObject { ["ok"] = true });
                }

                default:
                    return Ok(new JsonObject { ["ok"] = false, ["error"] = "unknown_method" });
            }
        }
    }

    /// <summary>What a person sees: the section block's plain text (the top-level text is the notification fallback).</summary>
    private static string Text(JsonObject request) =>
        request["blocks"]?[0]?["text"]?["text"]?.GetValue<string>() ?? request["text"]?.GetValue<string>() ?? "";

    private static List<(string, string)> Buttons(JsonObject request) =>
        request["blocks"] is JsonArray blocks
            ? [.. blocks.Where(b => b?["type"]?.GetValue<string>() == "actions").SelectMany(b => b!["elements"]!.AsArray())
                .Select(e => (e!["text"]!["text"]!.GetValue<string>(), e["value"]!.GetValue<string>()))]
            : [];

    private static IResult Ok(JsonObject body) => Results.Json(body);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
