using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// The Telegram Bot API as a bridge sees it, on 127.0.0.1: getMe, getUpdates (long polling), sendMessage,
/// editMessageText, answerCallbackQuery and sendDocument, with people who write and press buttons, a 429 on demand, and
/// an outage on demand. Everything the bot does is recorded and can be awaited.
/// </summary>
public sealed class FakeTelegram : FakeChat, IAsyncDisposable
{
    public const string Token = "4242:test-token_Abc";

    private readonly WebApplication _app;
    private readonly List<JsonObject> _updates = [];
    private readonly Dictionary<string, int> _rateLimits = new(StringComparer.Ordinal);
    private readonly HashSet<string> _asksReply = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private long _nextUpdate = 1000;
    private bool _down;

    /// <summary>Privacy mode (Telegram's default for a new bot): getMe says the bot cannot read every group message.</summary>
    public bool PrivacyMode { get; set; }

    /// <summary>Whether the bot sent the message with force_reply (it waits for a reply to it).</summary>
    public bool AsksReply(BotMessage message)
    {
        lock (Sync)
        {
            return _asksReply.Contains(message.MessageId);
        }
    }

    private FakeTelegram(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public static async Task<FakeTelegram> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // Quiet: a request log would print the bot token in every URL (and drown the test output).
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var fake = new FakeTelegram(app);
        app.MapPost("/bot{token}/{method}", fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = new Uri(app.Urls.First() + "/");
        return fake;
    }

    /// <summary>The bridges.json entry for this fake.</summary>
    public void Configure(string dataDirectory, string id = "telegram") =>
        File.WriteAllText(Path.Combine(dataDirectory, "bridges.json"),
            new JsonObject { ["bridges"] = new JsonArray(new JsonObject { ["id"] = id, ["platform"] = "telegram", ["secret"] = Token, ["apiBase"] = BaseUrl.ToString() }) }.ToJsonString());

    // ---- People ----

    /// <summary>A person writes in a chat (a direct chat when <paramref name="chatId"/> is their user id); returns the update.</summary>
    public JsonObject Write(long chatId, long userId, string userName, string text)
    {
        var update = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["message_id"] = NextId(),
                ["from"] = Person(userId, userName),
                ["chat"] = Chat(chatId, userId),
                ["text"] = text,
                ["date"] = 0,
            },
        };
        return Deliver(update);
    }

    /// <summary>A person presses a button of one of the bot's messages.</summary>
    public JsonObject Press(BotMessage message, string label, long userId, string userName) =>
        PressData(message, message.Buttons.Single(b => b.Label == label).Data, userId, userName);

    /// <summary>A press carrying whatever data a modified client sends, offered by the message or not.</summary>
    public JsonObject PressData(BotMessage message, string data, long userId, string userName)
    {
        return Deliver(new JsonObject
        {
            ["callback_query"] = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString("N"),
                ["from"] = Person(userId, userName),
                ["message"] = new JsonObject { ["message_id"] = long.Parse(message.MessageId), ["chat"] = Chat(long.Parse(message.ChatId), userId) },
                ["data"] = data,
            },
        });
    }

    /// <summary>Delivers an update (again, when given one already delivered: a platform's retry keeps its update_id).</summary>
    public JsonObject Deliver(JsonObject update)
    {
        lock (Sync)
        {
            var copy = update.DeepClone().AsObject();
            copy["update_id"] ??= _nextUpdate++;
            update["update_id"] = copy["update_id"]!.GetValue<long>();
            _updates.Add(copy);
            Changed();
        }

        return update;
    }

    private static JsonObject Person(long id, string userName) => new() { ["id"] = id, ["is_bot"] = false, ["first_name"] = userName, ["username"] = userName };

    private static JsonObject Chat(long chatId, long userId) => chatId == userId
        ? new JsonObject { ["id"] = chatId, ["type"] = "private", ["username"] = "u" + userId }
        : new JsonObject { ["id"] = chatId, ["type"] = "group", ["title"] = "Team chat" };

    // ---- Faults ----

    /// <summary>The next <paramref name="method"/> call is answered 429 with this retry_after.</summary>
    public void RateLimitNext(string method, int retryAfterSeconds)
    {
        lock (Sync)
        {
            _rateLimits[method] = retryAfterSeconds;
        }
    }

    /// <summary>Every call fails with 502 until <see cref="Recover"/>.</summary>
    public void GoDown()
    {
        lock (Sync)
        {
            _down = true;
        }
    }

    public void Recover()
    {
        lock (Sync)
        {
            _down = false;
            Changed();
        }
    }

    public IReadOnlyList<BotMessage> Messages(long chatId) => Messages(chatId.ToString());

    public Task<BotMessage> MessageAsync(long chatId, string text) => MessageAsync(chatId.ToString(), text);

    // ---- The API ----

    private async Task<IResult> HandleAsync(string token, string method, HttpContext context)
    {
        JsonObject request;
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync();
            request = new JsonObject { ["chat_id"] = form["chat_id"].ToString(), ["caption"] = form["caption"].ToString() };
            if (form.Files["document"] is { } file)
            {
                using var reader = new StreamReader(file.OpenReadStream());
                request["document"] = await reader.ReadToEndAsync();
                request["file_name"] = file.FileName;
            }
        }
        else
        {
            request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        }

        lock (Sync)
        {
            RecordCall(method);
            if (token != Token)
            {
                return Error(401, "Unauthorized");
            }

            if (_down)
            {
                return Results.StatusCode(502);
            }

            if (_rateLimits.Remove(method, out var retryAfter))
            {
                return Results.Json(new JsonObject
                {
                    ["ok"] = false, ["error_code"] = 429, ["description"] = $"Too Many Requests: retry after {retryAfter}",
                    ["parameters"] = new JsonObject { ["retry_after"] = retryAfter },
                }, statusCode: 429);
            }
        }

        switch (method)
        {
            case "getMe":
                return Ok(new JsonObject { ["id"] = 4242, ["is_bot"] = true, ["username"] = "pocket_test_bot", ["can_read_all_group_messages"] = !PrivacyMode });
            case "getUpdates":
                return Ok(await UpdatesAsync(request, context.RequestAborted));
            case "answerCallbackQuery":
                lock (Sync)
                {
                    RecordAnswer(request["text"]?.GetValue<string>() ?? "");
                }

                return Ok(true);
        }

        lock (Sync)
        {
            var chatId = long.Parse(request["chat_id"]!.ToString());
            switch (method)
            {
                case "sendMessage":
                {
                    var id = NextId();
                    if (request["reply_markup"]?["force_reply"]?.GetValue<bool>() == true)
                    {
                        _asksReply.Add(id.ToString());
                    }

                    RecordSend(chatId.ToString(), id.ToString(), request["text"]!.GetValue<string>(), Buttons(request));
                    return Ok(new JsonObject { ["message_id"] = id, ["chat"] = new JsonObject { ["id"] = chatId } });
                }

                case "editMessageText":
                {
                    var id = request["message_id"]!.GetValue<long>();
                    return RecordEdit(chatId.ToString(), id.ToString(), request["text"]!.GetValue<string>(), Buttons(request)) is { } refused
                        ? Error(400, "Bad Request: " + refused)
                        : Ok(new JsonObject { ["message_id"] = id });
                }

                case "sendDocument":
                    RecordFile(chatId.ToString(), request["file_name"]!.GetValue<string>(), request["document"]!.GetValue<string>());
                    return Ok(new JsonObject { ["message_id"] = NextId() });
                default:
                    return Error(404, "Not Found");
            }
        }
    }

    private async Task<JsonArray> UpdatesAsync(JsonObject request, CancellationToken aborted)
    {
        var offset = request["offset"]?.GetValue<long>() ?? 0;
        var wait = TimeSpan.FromSeconds(request["timeout"]?.GetValue<int>() ?? 0);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(aborted, _stopping.Token);
        cancel.CancelAfter(wait);
        while (true)
        {
            Task changed;
            lock (Sync)
            {
                // Confirmed by the offset: gone for good, as on Telegram.
                _updates.RemoveAll(u => u["update_id"]!.GetValue<long>() < offset);
                if (_updates.Count > 0)
                {
                    return [.. _updates.Select(u => (JsonNode)u.DeepClone())];
                }

                changed = Waiting();
            }

            try
            {
                await changed.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                return [];
            }
        }
    }

    private static List<(string, string)> Buttons(JsonObject request) =>
        request["reply_markup"]?["inline_keyboard"] is JsonArray rows
            ? [.. rows.SelectMany(r => r!.AsArray()).Select(b => (b!["text"]!.GetValue<string>(), b["callback_data"]!.GetValue<string>()))]
            : [];

    private static IResult Ok(JsonNode result) => Results.Json(new JsonObject { ["ok"] = true, ["result"] = result });

    private static IResult Error(int code, string description) =>
        Results.Json(new JsonObject { ["ok"] = false, ["error_code"] = code, ["description"] = description }, statusCode: code);

    public async ValueTask DisposeAsync()
    {
        // A long poll in flight ends now, empty, as Telegram's would at its timeout: the host's stop waits for every
        // request it is answering, and would sit out the bridge's 25 s poll.
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
