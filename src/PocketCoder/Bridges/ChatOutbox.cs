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

    /// <summary>Goes before anything else waiting for its chat (an approval: an agent is blocked on it).</summary>
    public bool Urgent { get; init; }

    internal bool Queued;
    internal string? LastShown;
}

/// <summary>
/// Everything a bridge says, within the platform's limits: one call at a time, at most one per
/// <see cref="IChatPlatform.IntervalIn"/> in each chat, approvals before anything else, edits of one message coalesced.
/// Each chat waits on its own: a 429 (its <c>Retry-After</c>) or a network failure (backoff) holds back that chat's
/// calls, not the other chats'. An approval is retried until it is shown; another call is given up after six network
/// failures. A call the platform refuses for good (a chat the bot left), or one that fails in a way no retry mends, is
/// dropped and logged; nothing stops the outbox.
/// </summary>
/// <param name="interval">In place of the platform's interval when given (<see cref="Server.PocketCoderOptions.ChatInterval"/>).</param>
public sealed class ChatOutbox(IChatPlatform platform, TimeProvider clock, ILogger logger, TimeSpan? interval = null)
{
    private const int MaxAttempts = 6;

    /// <summary>How long a first send in flight may go on once the bridge stops (see <see cref="ShowNowAsync"/>).</summary>
    private static readonly TimeSpan SendGrace = TimeSpan.FromSeconds(5);

    /// <summary>One-off calls (replies, files) waiting in all chats; posts are never dropped (each waits at most once).</summary>
    private const int MaxCallsWaiting = 1000;

    private sealed record Item(ChatPost? Post, Func<CancellationToken, Task>? Call, long Order)
    {
        public int Attempts { get; set; }
    }

    /// <summary>A chat's waiting calls, urgent ones first, and when the platform lets the next one go.</summary>
    private sealed class Lane
    {
        public LinkedList<Item> Urgent { get; } = new();

        public LinkedList<Item> Normal { get; } = new();

        public DateTimeOffset NotBefore { get; set; }

        public bool IsEmpty => Urgent.Count == 0 && Normal.Count == 0;

        public LinkedList<Item> Next => Urgent.Count > 0 ? Urgent : Normal;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _order;
    private int _callsWaiting;

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
            var lane = LaneOf(post.ChatId);
            (post.Urgent ? lane.Urgent : lane.Normal).AddLast(new Item(post, null, _order++));
            _added.TrySetResult();
        }
    }

    /// <summary>A one-off call about a chat (a reply, a file), made in its turn.</summary>
    public void Call(string chatId, Func<CancellationToken, Task> call)
    {
        lock (_lock)
        {
            if (_callsWaiting >= MaxCallsWaiting)
            {
                BridgeLog.OutboxFull(logger, MaxCallsWaiting);
                return;
            }

            _callsWaiting++;
            LaneOf(chatId).Normal.AddLast(new Item(null, call, _order++));
            _added.TrySetResult();
        }
    }

    public void Say(string chatId, string text, bool asksReply = false) =>
        Call(chatId, token => platform.SendAsync(chatId, new ChatMessage(text, AsksReply: asksReply), token));

    private Lane LaneOf(string chatId) => _lanes.TryGetValue(chatId, out var lane) ? lane : _lanes[chatId] = new Lane();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? chatId;
            Item? item;
            TimeSpan? wait;
            Task added;
            lock (_lock)
            {
                (chatId, item, wait) = Next();
                if (_added.Task.IsCompleted)
                {
                    _added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                added = _added.Task;
            }

            if (item is null)
            {
                // Nothing may go yet: wait for something new, or for the first chat whose interval ends.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                await Task.WhenAny(added, Task.Delay(wait ?? Timeout.InfiniteTimeSpan, clock, stop.Token)).ConfigureAwait(false);
                await stop.CancelAsync().ConfigureAwait(false);
                continue;
            }

            var retryAt = await AttemptAsync(item, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                var lane = LaneOf(chatId!);
                if (retryAt is { } at)
                {
                    lane.NotBefore = at;
                    Requeue(lane, item);
                }
                else
                {
                    lane.NotBefore = clock.GetUtcNow() + (interval ?? platform.IntervalIn(chatId!));
                }
            }
        }
    }

    /// <summary>The call to make now (urgent ones first, then the longest waiting), or how long until one may go.</summary>
    private (string? ChatId, Item? Item, TimeSpan? Wait) Next()
    {
        var now = clock.GetUtcNow();
        (string Chat, Lane Lane)? best = null;
        DateTimeOffset? soonest = null;
        foreach (var (chat, lane) in _lanes)
        {
            if (lane.IsEmpty)
            {
                continue;
            }

            if (lane.NotBefore > now)
            {
                soonest = soonest is { } s && s < lane.NotBefore ? s : lane.NotBefore;
                continue;
            }

            if (best is not { } b || Before(lane, b.Lane))
            {
                best = (chat, lane);
            }
        }

        // Chats with nothing waiting and no interval to keep are forgotten: the lanes stay as many as the busy chats.
        foreach (var idle in _lanes.Where(l => l.Value.IsEmpty && l.Value.NotBefore <= now).Select(l => l.Key).ToList())
        {
            _lanes.Remove(idle);
        }

        if (best is not { } chosen)
        {
            return (null, null, soonest is { } at ? at - now : null);
        }

        var queue = chosen.Lane.Next;
        var item = queue.First!.Value;
        queue.RemoveFirst();
        if (item.Call is not null)
        {
            _callsWaiting--;
        }

        return (chosen.Chat, item, null);
    }

    private static bool Before(Lane lane, Lane other)
    {
        var urgent = lane.Urgent.Count > 0;
        var otherUrgent = other.Urgent.Count > 0;
        return urgent != otherUrgent ? urgent : lane.Next.First!.Value.Order < other.Next.First!.Value.Order;
    }

    /// <summary>Back at the head of its chat's queue, to be tried again when the chat's wait ends.</summary>
    private void Requeue(Lane lane, Item item)
    {
        if (item.Post is { } post)
        {
            if (post.Queued)
            {
                return; // Shown again since: that show, already waiting, renders the newest state.
            }

            post.Queued = true;
            (post.Urgent ? lane.Urgent : lane.Normal).AddFirst(item);
            return;
        }

        _callsWaiting++;
        lane.Normal.AddFirst(item);
    }

    /// <returns>When to try the item again, or null when it is done with (made, or given up).</returns>
    private async Task<DateTimeOffset?> AttemptAsync(Item item, CancellationToken cancellationToken)
    {
        try
        {
            if (item.Post is { } post)
            {
                await ShowNowAsync(post, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await item.Call!(cancellationToken).ConfigureAwait(false);
            }

            return null;
        }
        catch (ChatRateLimitedException limited)
        {
            // Not an attempt that failed: the platform said when to come back.
            BridgeLog.RateLimited(logger, limited.RetryAfter.TotalSeconds);
            return clock.GetUtcNow() + limited.RetryAfter;
        }
        catch (ChatRefusedException refused)
        {
            BridgeLog.Refused(logger, refused.Message);
            return null;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            item.Attempts++;
            // An approval is never given up on (an agent waits on it): it is tried every 30 s until the platform takes it.
            if (item.Attempts >= MaxAttempts && item.Post is not { Urgent: true })
            {
                BridgeLog.GaveUp(logger, item.Attempts, exception.Message);
                return null;
            }

            return clock.GetUtcNow() + TimeSpan.FromSeconds(Math.Min(30, 1 << item.Attempts));
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // An answer in a shape no retry mends: this call is dropped, the rest go on.
            BridgeLog.CallFailed(logger, exception);
            return null;
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
            // A stop must not cut a first send short: the platform may already show the message, and without its id recorded
            // the next start would show it again (an approval twice, the first never brought up to date). It gets a few seconds.
            using var grace = new CancellationTokenSource();
            using var stopping = cancellationToken.Register(() => grace.CancelAfter(SendGrace));
            post.MessageId = await platform.SendAsync(post.ChatId, message, grace.Token).ConfigureAwait(false);
            post.Sent?.Invoke(post.MessageId);
        }
        else
        {
            await platform.EditAsync(post.ChatId, post.MessageId, message, cancellationToken).ConfigureAwait(false);
        }

        post.LastShown = key;
    }
}
