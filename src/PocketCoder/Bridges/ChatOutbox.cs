namespace PocketCoder.Bridges;

/// <summary>
/// A message the bridge keeps up to date (a turn's progress, an approval): shown once, then edited in place whenever
/// <see cref="Render"/> would say something new. Changes made while an edit waits are folded into that one edit.
/// </summary>
public sealed class ChatPost(string chatId, Func<ChatMessage> render)
{
    public string ChatId { get; } = chatId;

    public Func<ChatMessage> Render { get; } = render;

    /// <summary>The platform's id for it, once sent.</summary>
    public string? MessageId { get; set; }

    /// <summary>Told the message id when the post is first sent (an approval's message id is recorded for its buttons).</summary>
    public Action<string>? Sent { get; init; }

    internal bool Queued;
    internal string? LastShown;
}

/// <summary>
/// Everything a bridge says, in order, within the platform's limits: one call at a time, at most one per
/// <see cref="IChatPlatform.ChatInterval"/> in each chat, edits of one message coalesced, a 429 waited out (its
/// <c>Retry-After</c>) and the call made again, a network failure retried with backoff. A platform that refuses a call
/// for good (a chat the bot left) loses only that call.
/// </summary>
public sealed class ChatOutbox(IChatPlatform platform, TimeProvider clock, ILogger logger)
{
    private const int MaxAttempts = 6;
    private const int MaxWaiting = 1000;

    private readonly Lock _lock = new();
    private readonly Queue<(ChatPost? Post, string? ChatId, Func<CancellationToken, Task>? Call)> _waiting = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Dictionary<string, DateTimeOffset> _lastCall = new(StringComparer.Ordinal);

    /// <summary>Shows the post, or brings its message up to date; at most one show per post waits at a time.</summary>
    public void Show(ChatPost post)
    {
        lock (_lock)
        {
            if (post.Queued)
            {
                return;
            }

            post.Queued = true;
            Add((post, post.ChatId, null));
        }
    }

    /// <summary>A one-off call about a chat (a reply, a file), made in its turn.</summary>
    public void Call(string chatId, Func<CancellationToken, Task> call)
    {
        lock (_lock)
        {
            Add((null, chatId, call));
        }
    }

    public void Say(string chatId, string text) => Call(chatId, token => platform.SendAsync(chatId, new ChatMessage(text), token));

    private void Add((ChatPost?, string?, Func<CancellationToken, Task>?) item)
    {
        if (_waiting.Count >= MaxWaiting)
        {
            BridgeLog.OutboxFull(logger, MaxWaiting);
            return;
        }

        _waiting.Enqueue(item);
        _signal.Release();
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            (ChatPost? Post, string? ChatId, Func<CancellationToken, Task>? Call) item;
            lock (_lock)
            {
                item = _waiting.Dequeue();
            }

            if (item.ChatId is { } chat && _lastCall.TryGetValue(chat, out var last) && last + platform.ChatInterval - clock.GetUtcNow() is { Ticks: > 0 } wait)
            {
                await Task.Delay(wait, clock, cancellationToken).ConfigureAwait(false);
            }

            await AttemptAsync(item.Post, item.Call, cancellationToken).ConfigureAwait(false);
            if (item.ChatId is { } called)
            {
                _lastCall[called] = clock.GetUtcNow();
            }
        }
    }

    private async Task AttemptAsync(ChatPost? post, Func<CancellationToken, Task>? call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (post is not null)
                {
                    await ShowNowAsync(post, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await call!(cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (ChatRateLimitedException limited)
            {
                // Not an attempt that failed: the platform said when to come back.
                BridgeLog.RateLimited(logger, limited.RetryAfter.TotalSeconds);
                attempt--;
                await Task.Delay(limited.RetryAfter, clock, cancellationToken).ConfigureAwait(false);
            }
            catch (ChatRefusedException refused)
            {
                BridgeLog.Refused(logger, refused.Message);
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= MaxAttempts)
                {
                    BridgeLog.GaveUp(logger, attempt, exception.Message);
                    return;
                }

                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 1 << attempt)), clock, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ShowNowAsync(ChatPost post, CancellationToken cancellationToken)
    {
        ChatMessage message;
        lock (_lock)
        {
            // From here on a change queues another show: this one may already have read the old state.
            post.Queued = false;
            message = post.Render();
        }

        var key = message.Text + "\u0000" + string.Join("|", message.Buttons?.SelectMany(r => r).Select(b => b.Data) ?? []);
        if (key == post.LastShown)
        {
            return;
        }

        if (post.MessageId is null)
        {
            post.MessageId = await platform.SendAsync(post.ChatId, message, cancellationToken).ConfigureAwait(false);
            post.Sent?.Invoke(post.MessageId);
        }
        else
        {
            await platform.EditAsync(post.ChatId, post.MessageId, message, cancellationToken).ConfigureAwait(false);
        }

        post.LastShown = key;
    }
}
