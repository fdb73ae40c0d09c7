using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace PocketCoder.Tests.Bridges;

/// <summary>A message the bot has in a chat, as it stands now, and every text it has had.</summary>
public sealed record BotMessage(long ChatId, long MessageId, string Text, IReadOnlyList<(string Label, string Data)> Buttons, IReadOnlyList<string> History);

/// <summary>
/// The Telegram Bot API as a bridge sees it, on 127.0.0.1: getMe, getUpdates (long polling), sendMessage,
/// editMessageText, answerCallbackQuery and sendDocument, with people who write and press buttons, a 429 on demand, and
/// an outage on demand. Everything the bot does is recorded and can be awaited.
/// </summary>
public sealed class FakeTelegram : IAsyncDisposable
{
    public const string Token = "4242:test-token_Abc";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<JsonObject> _updates = [];
    private readonly Dictionary<long, BotMessage> _messages = [];
    private readonly List<(string Id, string Text)> _answers = [];
    private readonly List<(long ChatId, string Name, string Content)> _files = [];
    private readonly List<(string Method, DateTimeOffset At)> _calls = [];
    private readonly Dictionary<string, int> _rateLimits = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextUpdate = 1000;
    private long _nextMessage = 1;
    private bool _down;

    private FakeTelegram(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public static async Task<FakeTelegram> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
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
                ["message_id"] = NextMessageId(),
                ["from"] = Person(userId, userName),
                ["chat"] = Chat(chatId, userId),
                ["text"] = text,
                ["date"] = 0,
            },
        };
        return Deliver(update);
    }

    /// <summary>A person presses a button of one of the bot's messages.</summary>
    public JsonObject Press(BotMessage message, string label, long userId, string userName)
    {
        var data = message.Buttons.Single(b => b.Label == label).Data;
        return Deliver(new JsonObject
        {
            ["callback_query"] = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString("N"),
                ["from"] = Person(userId, userName),
                ["message"] = new JsonObject { ["message_id"] = message.MessageId, ["chat"] = Chat(message.ChatId, userId) },
                ["data"] = data,
            },
        });
    }

    /// <summary>Delivers an update (again, when given one already delivered: a platform's retry keeps its update_id).</summary>
    public JsonObject Deliver(JsonObject update)
    {
        lock (_lock)
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

    private long NextMessageId() => Interlocked.Increment(ref _nextMessage);

    // ---- Faults ----

    /// <summary>The next <paramref name="method"/> call is answered 429 with this retry_after.</summary>
    public void RateLimitNext(string method, int retryAfterSeconds)
    {
        lock (_lock)
        {
            _rateLimits[method] = retryAfterSeconds;
        }
    }

    /// <summary>Every call fails with 502 until <see cref="Recover"/>.</summary>
    public void GoDown()
    {
        lock (_lock)
        {
            _down = true;
        }
    }

    public void Recover()
    {
        lock (_lock)
        {
            _down = false;
            Changed();
        }
    }

    // ---- What the bot did ----

    public IReadOnlyList<BotMessage> Messages(long chatId)
    {
        lock (_lock)
        {
            return [.. _messages.Values.Where(m => m.ChatId == chatId).OrderBy(m => m.MessageId)];
        }
    }

    public IReadOnlyList<string> Answers
    {
        get
        {
            lock (_lock)
            {
                return [.. _answers.Select(a => a.Text)];
            }
        }
    }

    public IReadOnlyList<(long ChatId, string Name, string Content)> Files
    {
        get
        {
            lock (_lock)
            {
                return [.. _files];
            }
        }
    }

    public IReadOnlyList<(string Method, DateTimeOffset At)> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Waits until the condition holds over what the bot has done; says what it saw if it never does.</summary>
    public async Task<T> WaitForAsync<T>(Func<FakeTelegram, T?> condition, string what, TimeSpan? timeout = null) where T : class
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            Task changed;
            lock (_lock)
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
                throw new TimeoutException($"Never saw {what}. The bot's messages: " +
                    string.Join(" | ", _messages.Values.OrderBy(m => m.MessageId).Select(m => $"[{m.ChatId}#{m.MessageId}] {string.Join(" ⇒ ", m.History)}")) +
                    " | answers: " + string.Join(" | ", Answers) + " | calls: " + string.Join(", ", Calls.Select(c => c.Method).Distinct()));
            }
        }
    }

    /// <summary>The first message in the chat whose text contains <paramref name="text"/>, once there is one.</summary>
    public Task<BotMessage> MessageAsync(long chatId, string text) =>
        WaitForAsync(t => t.Messages(chatId).FirstOrDefault(m => m.Text.Contains(text, StringComparison.Ordinal)), $"a message with \"{text}\" in chat {chatId}");

    private void Changed()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

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

        lock (_lock)
        {
            _calls.Add((method, DateTimeOffset.UtcNow));
            Changed();
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
                return Ok(new JsonObject { ["id"] = 4242, ["is_bot"] = true, ["username"] = "pocket_test_bot" });
            case "getUpdates":
                return Ok(await UpdatesAsync(request, context.RequestAborted));
            case "answerCallbackQuery":
                lock (_lock)
                {
                    _answers.Add((request["callback_query_id"]!.GetValue<string>(), request["text"]?.GetValue<string>() ?? ""));
                    Changed();
                }

                return Ok(true);
        }

        lock (_lock)
        {
            var chatId = long.Parse(request["chat_id"]!.ToString());
            switch (method)
            {
                case "sendMessage":
                {
                    var message = new BotMessage(chatId, NextMessageId(), request["text"]!.GetValue<string>(), Buttons(request), []);
                    message = message with { History = [message.Text] };
                    _messages[message.MessageId] = message;
                    Changed();
                    return Ok(new JsonObject { ["message_id"] = message.MessageId, ["chat"] = new JsonObject { ["id"] = chatId } });
                }

                case "editMessageText":
                {
                    var id = request["message_id"]!.GetValue<long>();
                    if (!_messages.TryGetValue(id, out var old) || old.ChatId != chatId)
                    {
                        return Error(400, "Bad Request: message to edit not found");
                    }

                    var text = request["text"]!.GetValue<string>();
                    var buttons = Buttons(request);
                    if (text == old.Text && buttons.SequenceEqual(old.Buttons))
                    {
                        return Error(400, "Bad Request: message is not modified");
                    }

                    _messages[id] = old with { Text = text, Buttons = buttons, History = [.. old.History, text] };
                    Changed();
                    return Ok(new JsonObject { ["message_id"] = id });
                }

                case "sendDocument":
                    _files.Add((chatId, request["file_name"]!.GetValue<string>(), request["document"]!.GetValue<string>()));
                    Changed();
                    return Ok(new JsonObject { ["message_id"] = NextMessageId() });
                default:
                    return Error(404, "Not Found");
            }
        }
    }

    private async Task<JsonArray> UpdatesAsync(JsonObject request, CancellationToken aborted)
    {
        var offset = request["offset"]?.GetValue<long>() ?? 0;
        var wait = TimeSpan.FromSeconds(request["timeout"]?.GetValue<int>() ?? 0);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        cancel.CancelAfter(wait);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                // Confirmed by the offset: gone for good, as on Telegram.
                _updates.RemoveAll(u => u["update_id"]!.GetValue<long>() < offset);
                if (_updates.Count > 0)
                {
                    return [.. _updates.Select(u => (JsonNode)u.DeepClone())];
                }

                changed = _changed.Task;
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
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
