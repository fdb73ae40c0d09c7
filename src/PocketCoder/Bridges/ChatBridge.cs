using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Sessions;

namespace PocketCoder.Bridges;

/// <summary>How a bridge is doing, for <c>GET /api/bridges</c> and <c>pocketcoder status</c>.</summary>
/// <param name="State"><c>connecting</c>, <c>connected</c>, or <c>failing</c> (<c>problem</c> says why; it keeps trying).</param>
public sealed record BridgeHealth(string State, string? BotName, string? Problem);

/// <summary>What a bridge needs of the rest of the server, in one place.</summary>
public sealed record BridgeServices(
    BridgeStore Store,
    Devices Devices,
    PairingThrottle Throttle,
    ProjectStore Projects,
    SessionManager Manager,
    SessionStore Sessions,
    ApprovalStore Approvals,
    Gatekeeper Gatekeeper,
    AgentRegistry Agents,
    EventHub Hub,
    Server.PocketCoderOptions Options,
    TimeProvider Clock);

/// <summary>
/// One configured bridge at work: a chat platform's people as devices, its chats as projects. A linked person's text
/// starts or continues the chat's session, each approval of a bound project's sessions is a message with buttons
/// (updated when decided anywhere), and each turn is one message edited as it goes. Anyone not linked is ignored and
/// counted. Platform specifics live behind <see cref="IChatPlatform"/>.
/// </summary>
public sealed partial class ChatBridge(BridgeDefinition definition, IChatPlatform platform, BridgeServices services, ILogger logger)
{
    private const string AllowOnceAction = "a";
    private const string AllowSessionAction = "s";
    private const string DenyAction = "d";
    private const string DenyWithReasonAction = "r";
    /// <summary>A question's option button: followed by the option's index (o0, o1, …).</summary>
    private const string OptionAction = "o";
    private static readonly TimeSpan ReasonWait = TimeSpan.FromMinutes(10);

    private readonly ChatOutbox _outbox = new(platform, services.Clock, logger);
    private readonly ConcurrentDictionary<string, ChatPost> _approvalPosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TurnPost> _turns = new(StringComparer.Ordinal);

    private static readonly TimeSpan StrangerAnswerInterval = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _strangerAnswers = new(StringComparer.Ordinal);

    /// <summary>Who was asked for a reason to deny, in which chat: their next message there is it.</summary>
    private readonly ConcurrentDictionary<(string Chat, string User), (string ApprovalId, DateTimeOffset Until)> _reasons = new();

    private volatile IReadOnlyList<BridgeChannel> _channels = [];
    private volatile BridgeHealth _health = new("connecting", null, null);

    public BridgeDefinition Definition => definition;

    public BridgeHealth Health => _health;

    private BridgeStore Store => services.Store;

    /// <summary>Runs until stopped. Nothing a platform does ends it (or the server): an unexpected failure is logged and it starts over.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var outbox = Task.Run(() => _outbox.RunAsync(cancellationToken), CancellationToken.None);
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
                BridgeLog.HandlerFailed(logger, exception, definition.Id);
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

    private async Task ConnectAndReceiveAsync(CancellationToken cancellationToken)
    {
        ReloadChannels();
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                var botName = await platform.ConnectAsync(cancellationToken).ConfigureAwait(false);
                _health = new BridgeHealth("connected", botName, null);
                BridgeLog.Connected(logger, definition.Id, definition.Platform, botName);
                break;
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested && IsPlatformProblem(exception))
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

    private static bool IsPlatformProblem(Exception exception) =>
        exception is HttpRequestException or TaskCanceledException or ChatRefusedException or ChatRateLimitedException or JsonException;

    private async Task<TimeSpan> FailedAsync(Exception exception, TimeSpan delay, CancellationToken cancellationToken)
    {
        var wait = exception is ChatRateLimitedException limited ? limited.RetryAfter : delay;
        _health = _health with { State = "failing", Problem = exception.Message };
        BridgeLog.Unreachable(logger, definition.Id, definition.Platform, exception.Message, wait.TotalSeconds);
        await Task.Delay(wait, services.Clock, cancellationToken).ConfigureAwait(false);
        return TimeSpan.FromSeconds(Math.Min(60, delay.TotalSeconds * 2));
    }

    private async Task ReceiveAsync(CancellationToken cancellationToken)
    {
        var cursor = Store.Cursor(definition.Id);
        var delay = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            IReadOnlyList<ChatInput> inputs;
            string? next;
            try
            {
                (inputs, next) = await platform.ReceiveAsync(cursor, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromSeconds(1);
                if (_health.State != "connected")
                {
                    _health = _health with { State = "connected", Problem = null };
                }
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested && IsPlatformProblem(exception))
            {
                delay = await FailedAsync(exception, delay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            foreach (var input in inputs)
            {
                if (!Store.Take(definition.Id, input.DeliveryId))
                {
                    BridgeLog.Duplicate(logger, definition.Id, input.DeliveryId);
                    continue;
                }

                try
                {
                    await HandleAsync(input, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    BridgeLog.HandlerFailed(logger, exception, definition.Id);
                    _outbox.Say(input.ChatId, "Something went wrong handling that; the server's log says what.");
                }
            }

            // Moved only once the batch is taken: a crash inside it has the platform deliver it again, and Take skips what was done.
            if (next != cursor)
            {
                Store.SetCursor(definition.Id, next);
                cursor = next;
            }
        }
    }

    private readonly Lock _reloading = new();

    /// <summary>Under a lock: two reloads racing (a revoke and a bind) must not leave the older read in place.</summary>
    private void ReloadChannels()
    {
        lock (_reloading)
        {
            _channels = Store.Channels(definition.Id);
        }
    }

    /// <summary>The phone unbound a chat, a device was revoked or a project removed: forget what it knew of those chats.</summary>
    public void ChannelsChanged()
    {
        ReloadChannels();
        RefreshUnboundApprovals();
    }

    // ---- What people send ----

    private async Task HandleAsync(ChatInput input, CancellationToken cancellationToken)
    {
        var person = Store.Person(definition.Id, input.UserId);
        if (input.ButtonData is not null)
        {
            await PressAsync(input, person, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (ForAnotherBot(input.Text ?? "", _health.BotName))
        {
            return; // "/help@SomeOtherBot" in a group with several bots.
        }

        var (command, argument) = ParseCommand(input.Text ?? "");
        if (command == "pair")
        {
            Pair(input, argument);
            return;
        }

        if (person is null)
        {
            Ignore("message", input.UserId);
            if (input.IsDirect && command is "start" or "help" && MayAnswerStranger(input))
            {
                _outbox.Say(input.ChatId, "I work for a PocketCoder server. To link yourself, run `pocketcoder pair` on it and send me /pair CODE here.");
            }

            return;
        }

        Store.Seen(definition.Id, input.ChatId, input.ChatTitle, input.IsDirect, input.UserId, person.UserName);
        if (_reasons.TryRemove((input.ChatId, input.UserId), out var asked) && asked.Until > services.Clock.GetUtcNow() && command is null)
        {
            Decide(input.ChatId, asked.ApprovalId, Decisions.Deny, input.Text!.Trim(), person, pressId: null);
            return;
        }

        var channel = _channels.FirstOrDefault(c => c.ChatId == input.ChatId);
        switch (command)
        {
            case null:
                await MessageAsync(input, channel, person, input.Text!.Trim(), cancellationToken).ConfigureAwait(false);
                break;
            case "bind":
                Bind(input, person, argument);
                break;
            case "unbind":
                _outbox.Say(input.ChatId, Store.Unbind(definition.Id, input.ChatId, person.Actor) ? "Unbound: this chat no longer steers a project." : "This chat was not bound.");
                ChannelsChanged();
                break;
            case "help" or "start":
                _outbox.Say(input.ChatId, Help);
                break;
            case var _ when channel is null:
                _outbox.Say(input.ChatId, "This chat steers no project yet: /bind PROJECT (its name or id).");
                break;
            case "new":
                Store.SetSession(definition.Id, input.ChatId, null);
                ReloadChannels();
                if (argument.Length > 0)
                {
                    await MessageAsync(input, _channels.FirstOrDefault(c => c.ChatId == input.ChatId), person, argument, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    _outbox.Say(input.ChatId, "The next message starts a new session.");
                }

                break;
            case "stop":
                await StopAsync(input.ChatId, channel, person, cancellationToken).ConfigureAwait(false);
                break;
            case "mode":
                await ModeAsync(input.ChatId, channel, person, argument, cancellationToken).ConfigureAwait(false);
                break;
            case "agent":
                Agent(input.ChatId, channel, argument);
                break;
            case "status":
                _outbox.Say(input.ChatId, Status(channel));
                break;
            case "queue":
                _outbox.Say(input.ChatId, QueueText(channel));
                break;
            default:
                _outbox.Say(input.ChatId, $"I do not know /{command}.\n\n{Help}");
                break;
        }
    }

    private const string Help = """
        Plain text starts a session in this chat's project (or goes to its current one).
        /new [text] — start a new session
        /stop — stop the current session
        /mode ask|plan|accept_edits|trusted — the current session's mode
        /agent ID — the agent new sessions use
        /status — what the session is doing
        /queue — messages waiting for the turn to end
        /bind PROJECT, /unbind — which project this chat steers
        """;

    /// <summary>"/cmd@bot argument" → ("cmd", "argument"); plain text → (null, "").</summary>
    internal static (string? Command, string Argument) ParseCommand(string text)
    {
        text = text.Trim();
        if (!text.StartsWith('/') || text.Length < 2 || !char.IsAsciiLetter(text[1]))
        {
            return (null, "");
        }

        var space = text.IndexOfAny([' ', '\n']);
        var word = space < 0 ? text[1..] : text[1..space];
        var at = word.IndexOf('@');
        return ((at < 0 ? word : word[..at]).ToLowerInvariant(), space < 0 ? "" : text[(space + 1)..].Trim());
    }

    /// <summary>
    /// Someone not linked is answered at most once a minute in a chat: a stranger (or a script in a group) cannot make the bridge
    /// flood a chat or spend its rate limit with the platform.
    /// </summary>
    private bool MayAnswerStranger(ChatInput input)
    {
        var now = services.Clock.GetUtcNow();
        var key = $"{input.ChatId}/{input.UserId}";
        if (_strangerAnswers.TryGetValue(key, out var last) && now - last < StrangerAnswerInterval)
        {
            return false;
        }

        if (_strangerAnswers.Count > 10_000)
        {
            foreach (var (user, at) in _strangerAnswers.Where(e => now - e.Value >= StrangerAnswerInterval).ToList())
            {
                _strangerAnswers.TryRemove(user, out _);
            }
        }

        _strangerAnswers[key] = now;
        return true;
    }

    private const string PrivacyAdvice = "I see only commands and replies to me in this group. To send plain text here, turn my privacy mode off "
        + "(@BotFather → /setprivacy → Disable) and add me to the group again, or make me an admin; until then, /new TEXT starts a session.";

    /// <summary>A command addressed to another bot by name (<c>/help@OtherBot</c>).</summary>
    internal static bool ForAnotherBot(string text, string? botName)
    {
        var (command, _) = ParseCommand(text);
        if (command is null || botName is null)
        {
            return false;
        }

        var word = text.Trim().Split([' ', '\n'], 2)[0];
        var at = word.IndexOf('@');
        return at >= 0 && !string.Equals(word[(at + 1)..], botName, StringComparison.OrdinalIgnoreCase);
    }

    private void Ignore(string what, string userId)
    {
        Store.CountIgnored(definition.Id);
        BridgeLog.Ignored(logger, definition.Id, what, userId);
    }

    private void Pair(ChatInput input, string code)
    {
        var client = $"{definition.Id}:{input.UserId}";
        var deviceName = $"{PlatformTitle} {input.UserName}";
        deviceName = deviceName.Length > 100 ? deviceName[..100] : deviceName;
        if (!input.IsDirect)
        {
            // Everyone in the group has seen it: spent at once, unused (throttled or not), so no one quicker can send it
            // privately. Never repeated back.
            if (code.Length == 0 || !services.Devices.Burn(code, deviceName))
            {
                services.Throttle.RecordFailure(client);
            }

            if (MayAnswerStranger(input))
            {
                _outbox.Say(input.ChatId, "Pairing codes are secret, so a code sent here no longer works. Make a new one with `pocketcoder pair` and send /pair CODE to me in a direct message.");
            }

            return;
        }

        if (services.Throttle.RetryAfter(client) is { } wait)
        {
            if (MayAnswerStranger(input))
            {
                _outbox.Say(input.ChatId, $"Too many wrong codes. Try again in {Math.Ceiling(wait.TotalSeconds)} seconds.");
            }

            return;
        }

        if (code.Length == 0 || services.Devices.Redeem(code, deviceName) is not { } paired)
        {
            services.Throttle.RecordFailure(client);
            BridgeLog.LinkRefused(logger, definition.Id, input.UserId);
            if (MayAnswerStranger(input))
            {
                _outbox.Say(input.ChatId, "That code is wrong, used or expired. Run `pocketcoder pair` for a new one, then send /pair CODE.");
            }

            return;
        }

        Store.Link(definition.Id, definition.Platform, input.UserId, input.UserName, paired.Device);
        Store.Seen(definition.Id, input.ChatId, input.ChatTitle, input.IsDirect, input.UserId, input.UserName);
        BridgeLog.Linked(logger, definition.Id, input.UserName, input.UserId, paired.Device.Id);
        _outbox.Say(input.ChatId, $"Linked: you are the device \"{paired.Device.Name}\". In a group, /bind PROJECT makes it steer that project "
            + "(or write anything there and bind it from the app's Devices screen). /help lists the rest.");
    }

    private string PlatformTitle => definition.Platform switch
    {
        BridgesFile.TelegramPlatformName => "Telegram",
        BridgesFile.SlackPlatformName => "Slack",
        BridgesFile.FeishuPlatformName => "Feishu",
        var other => other,
    };

    private void Bind(ChatInput input, BridgePerson person, string which)
    {
        var projects = services.Projects.List();
        var matches = projects.Where(p => p.Id == which || string.Equals(p.Name, which, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches.Count != 1)
        {
            var why = which.Length == 0 ? "Which project? " : matches.Count == 0 ? $"No project is called \"{which}\". " : $"Several projects are called \"{which}\": use its id. ";
            // The list names every project on the machine (folders, clients, what is being worked on): said only to the
            // linked person alone, never to whoever else is in a group.
            _outbox.Say(input.ChatId, why + (input.IsDirect
                ? "Projects: " + string.Join(", ", projects.Select(p => $"{p.Name} ({p.Id})"))
                : "Send me /bind in a direct message to see the projects, then /bind PROJECT here."));
            return;
        }

        if (Store.Bind(definition.Id, input.ChatId, input.ChatTitle, matches[0].Id, person.Actor) is null)
        {
            return; // Revoked (or the project removed) a moment ago.
        }

        Bound(input.ChatId, input.IsDirect, matches[0], boundBy: null);
    }

    /// <summary>
    /// A chat was just bound (here, or from the phone by <paramref name="boundBy"/>): take it up, say so in the chat and
    /// show the project's pending approvals there.
    /// </summary>
    public void Bound(string chatId, bool isDirect, Projects.Project project, string? boundBy)
    {
        ChannelsChanged();
        _outbox.Say(chatId, $"This chat now steers {project.Name}{(boundBy is null ? "" : $" (bound by {boundBy})")}. "
            + "Plain text starts a session; each approval comes here with buttons."
            + (isDirect || platform.SeesEveryGroupMessage ? "" : "\n\n" + PrivacyAdvice));
        ShowPendingApprovals(chatId, project.Id);
    }

    private async Task MessageAsync(ChatInput input, BridgeChannel? channel, BridgePerson person, string text, CancellationToken cancellationToken)
    {
        if (channel is null)
        {
            _outbox.Say(input.ChatId, "This chat steers no project yet: /bind PROJECT (its name or id).");
            return;
        }

        if (text.Length > SessionsApi.MaxMessageLength)
        {
            _outbox.Say(input.ChatId, $"That is longer than a message may be ({SessionsApi.MaxMessageLength} characters).");
            return;
        }

        if (channel.SessionId is { } current && services.Sessions.Find(current) is { ArchivedAt: null, Status: not SessionStatuses.Stopped })
        {
            try
            {
                var queued = await services.Manager.SendAsync(current, OwnerMessage.FromText(text), person.Actor, cancellationToken).ConfigureAwait(false);
                if (queued is not null)
                {
                    _outbox.Say(input.ChatId, $"Queued: it starts when the running turn ends ({services.Manager.Queue(current).Messages.Count} waiting).");
                }
            }
            catch (ApiProblem problem)
            {
                _outbox.Say(input.ChatId, problem.Message);
            }

            return;
        }

        var agent = channel.Agent ?? DefaultAgent();
        try
        {
            var project = services.Projects.Get(channel.ProjectId);
            await services.Manager.CreateAsync(project.Id, agent, OwnerMessage.FromText(text), null, SessionModes.Ask, person.Actor,
                cancellationToken, project.WorktreeDefault ? new WorktreeChoice(null) : null,
                created =>
                {
                    // Before the agent starts: its first events already find the chat.
                    Store.SetSession(definition.Id, input.ChatId, created.Id);
                    ReloadChannels();
                });
        }
        catch (ApiProblem problem)
        {
            _outbox.Say(input.ChatId, $"Could not start a session: {problem.Message}");
        }
    }

    private string DefaultAgent() =>
        services.Agents.Find("claude-code")?.Id ?? services.Agents.All.Select(a => a.Id).FirstOrDefault() ?? "claude-code";

    private async Task StopAsync(string chatId, BridgeChannel channel, BridgePerson person, CancellationToken cancellationToken)
    {
        if (channel.SessionId is not { } current)
        {
            _outbox.Say(chatId, "No session is running here.");
            return;
        }

        await services.Manager.StopAsync(current, person.Actor, cancellationToken).ConfigureAwait(false);
        Store.SetSession(definition.Id, chatId, null);
        ReloadChannels();
        _outbox.Say(chatId, "Stopped. The next message starts a new session.");
    }

    private async Task ModeAsync(string chatId, BridgeChannel channel, BridgePerson person, string mode, CancellationToken cancellationToken)
    {
        if (!SessionModes.IsValid(mode))
        {
            _outbox.Say(chatId, "Modes: ask (every sensitive call asks), plan, accept_edits, trusted.");
            return;
        }

        if (channel.SessionId is not { } current)
        {
            _outbox.Say(chatId, "No session here yet: the mode is set on a running session.");
            return;
        }

        await services.Manager.SetModeAsync(current, mode, person.Actor, cancellationToken).ConfigureAwait(false);
        _outbox.Say(chatId, $"Mode: {mode}.");
    }

    private void Agent(string chatId, BridgeChannel channel, string agent)
    {
        if (services.Agents.Find(agent) is null)
        {
            _outbox.Say(chatId, $"Agents: {string.Join(", ", services.Agents.All.Select(a => a.Id))}. Now: {channel.Agent ?? DefaultAgent()}.");
            return;
        }

        Store.SetAgent(definition.Id, chatId, agent);
        ReloadChannels();
        _outbox.Say(chatId, $"New sessions here use {agent}.");
    }

    private string Status(BridgeChannel channel)
    {
        var project = services.Projects.Find(channel.ProjectId)?.Name ?? channel.ProjectId;
        if (channel.SessionId is not { } current || services.Sessions.Find(current) is not { } session)
        {
            return $"Project {project}. No session yet: plain text starts one with {channel.Agent ?? DefaultAgent()}.";
        }

        var waiting = services.Approvals.List(ApprovalStatuses.Pending, current).Count;
        var queued = services.Manager.Queue(current).Messages.Count;
        return $"Project {project} · {session.Agent} · {session.Status} · mode {session.Mode}"
            + (waiting > 0 ? $" · {waiting} approval(s) waiting" : "") + (queued > 0 ? $" · {queued} queued" : "")
            + (AppLink(current) is { } link ? $"\n{link}" : "");
    }

    private string QueueText(BridgeChannel channel)
    {
        if (channel.SessionId is not { } current)
        {
            return "Nothing is queued.";
        }

        var queue = services.Manager.Queue(current);
        return queue.Messages.Count == 0
            ? "Nothing is queued."
            : (queue.Held ? "Queued (held: /new or the phone lets them go):\n" : "Queued:\n")
              + string.Join("\n", queue.Messages.Select((m, i) => $"{i + 1}. {Shorten(m.Text, 200)}"));
    }

    private string? AppLink(string sessionId) => services.Options.PublicUrl is { } url ? $"{url.TrimEnd('/')}/s/{sessionId}" : null;

    internal static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
