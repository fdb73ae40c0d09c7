using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Teams;

namespace PocketCoder.Bridges;

/// <summary>How a bridge is doing, for <c>GET /api/bridges</c> and <c>pocketcoder status</c>.</summary>
/// <param name="State"><c>connecting</c>, <c>connected</c>, or <c>failing</c> (<c>problem</c> says why; it keeps trying).</param>
public sealed record BridgeHealth(string State, string? BotName, string? Problem);

/// <summary>What a bridge needs of the rest of the server, in one place.</summary>
public sealed record BridgeServices(
    BridgeStore Store,
    Devices Devices,
    Authority Authority,
    PairingThrottle Throttle,
    ProjectStore Projects,
    SessionManager Manager,
    SessionQueues Queues,
    SessionStore Sessions,
    ApprovalStore Approvals,
    Gatekeeper Gatekeeper,
    AgentRegistry Agents,
    EventHub Hub,
    Server.PocketCoderOptions Options,
    TimeProvider Clock);

/// <summary>
/// One configured bridge at work: a chat platform's people as devices, its chats as projects. It connects to the platform
/// and keeps at it, hands what people send to <see cref="ChatCommands"/> (button presses to <see cref="ApprovalPosts"/>),
/// and follows every session's events for the approval and turn messages (<see cref="TurnPosts"/>). Platform specifics
/// live behind <see cref="IChatPlatform"/>.
/// </summary>
public sealed class ChatBridge
{
    private readonly BridgeContext _bridge;
    private readonly ApprovalPosts _approvals;
    private readonly ChatCommands _commands;
    private readonly TurnPosts _turns;
    private volatile BridgeHealth _health = new("connecting", null, null);

    public ChatBridge(BridgeDefinition definition, IChatPlatform platform, BridgeServices services, ILogger logger)
    {
        _bridge = new BridgeContext(definition, platform, services, logger);
        _approvals = new ApprovalPosts(_bridge);
        _commands = new ChatCommands(_bridge, _approvals);
        _turns = new TurnPosts(_bridge);
    }

    public BridgeDefinition Definition => _bridge.Definition;

    public BridgeHealth Health => _health;

    private ILogger Logger => _bridge.Logger;

    private string Id => _bridge.Definition.Id;

    /// <summary>Runs until stopped. Nothing a platform does ends it (or the server): an unexpected failure is logged and it starts over.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var outbox = Task.Run(() => _bridge.Outbox.RunAsync(cancellationToken), CancellationToken.None);
        var delay = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ConnectAndReceiveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception exception)
            {
                BridgeLog.HandlerFailed(Logger, exception, Id);
                try
                {
                    delay = await FailedAsync(exception, delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        try
        {
            await outbox.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The phone unbound a chat, a device was revoked or a project removed: forget what it knew of those chats.</summary>
    public void ChannelsChanged() => _approvals.ChannelsChanged();

    /// <inheritdoc cref="ChatCommands.Bound"/>
    public void Bound(string chatId, bool isDirect, Project project, string? boundBy) => _commands.Bound(chatId, isDirect, project, boundBy);

    private async Task ConnectAndReceiveAsync(CancellationToken cancellationToken)
    {
        _bridge.ReloadChannels();
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                var botName = await _bridge.Platform.ConnectAsync(cancellationToken).ConfigureAwait(false);
                _health = new BridgeHealth("connected", botName, null);
                BridgeLog.Connected(Logger, Id, Definition.Platform, botName);
                break;
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested && BridgeContext.IsPlatformProblem(exception))
            {
                delay = await FailedAsync(exception, delay, cancellationToken).ConfigureAwait(false);
            }
        }

        using var stopFollowing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var following = Task.Run(() => FollowAsync(stopFollowing.Token), CancellationToken.None);
        try
        {
            await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stopFollowing.CancelAsync().ConfigureAwait(false);
            await following.ConfigureAwait(false);
        }
    }

    private async Task<TimeSpan> FailedAsync(Exception exception, TimeSpan delay, CancellationToken cancellationToken)
    {
        var wait = exception is ChatRateLimitedException limited ? limited.RetryAfter : delay;
        _health = _health with { State = "failing", Problem = exception.Message };
        BridgeLog.Unreachable(Logger, Id, Definition.Platform, exception.Message, wait.TotalSeconds);
        await Task.Delay(wait, _bridge.Services.Clock, cancellationToken).ConfigureAwait(false);
        return TimeSpan.FromSeconds(Math.Min(60, delay.TotalSeconds * 2));
    }

    private async Task ReceiveAsync(CancellationToken cancellationToken)
    {
        var store = _bridge.Store;
        var cursor = store.Cursor(Id);
        var delay = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            IReadOnlyList<ChatInput> inputs;
            string? next;
            try
            {
                (inputs, next) = await _bridge.Platform.ReceiveAsync(cursor, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromSeconds(1);
                if (_health.State != "connected")
                {
                    _health = _health with { State = "connected", Problem = null };
                }
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested && BridgeContext.IsPlatformProblem(exception))
            {
                delay = await FailedAsync(exception, delay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            foreach (var input in inputs)
            {
                if (!store.Take(Id, input.DeliveryId))
                {
                    BridgeLog.Duplicate(Logger, Id, input.DeliveryId);
                    continue;
                }

                try
                {
                    await HandleAsync(input, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    BridgeLog.HandlerFailed(Logger, exception, Id);
                    _bridge.Outbox.Say(input.ChatId, "Something went wrong handling that; the server's log says what.");
                }
            }

            // Moved only once the batch is taken: a crash inside it has the platform deliver it again, and Take skips what was done.
            if (next != cursor)
            {
                store.SetCursor(Id, next);
                cursor = next;
            }
        }
    }

    private async Task HandleAsync(ChatInput input, CancellationToken cancellationToken)
    {
        var person = _bridge.Store.Person(Id, input.UserId);
        if (input.ButtonData is not null)
        {
            await _approvals.PressAsync(input, person, cancellationToken).ConfigureAwait(false);
        }
        else if (!ChatCommands.ForAnotherBot(input.Text ?? "", _health.BotName)) // "/help@SomeOtherBot" in a group with several bots.
        {
            await _commands.HandleAsync(input, person, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Follows every session's events; acts on those of bound projects (approvals) and of chats' sessions (turns). After
    /// subscribing (and again if it ever falls behind) it looks up what waits, so no approval goes unshown.
    /// </summary>
    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var subscription = _bridge.Services.Hub.Subscribe(null, 8192);
                _approvals.CatchUp();
                await foreach (var item in subscription.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    try
                    {
                        if (item.Stored is { } stored)
                        {
                            OnEvent(stored);
                        }
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException)
                    {
                        BridgeLog.HandlerFailed(Logger, exception, Id);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void OnEvent(StoredEvent stored)
    {
        if (stored.As<ApprovalRequestedEvent>() is { } requested)
        {
            if (_bridge.Services.Approvals.Find(requested.ApprovalId) is { } approval)
            {
                _approvals.Requested(approval);
            }
        }
        else if (stored.As<ApprovalResolvedEvent>() is { } resolved)
        {
            _approvals.Resolved(resolved.ApprovalId);
        }
        else
        {
            _turns.OnEvent(stored);
        }
    }
}
