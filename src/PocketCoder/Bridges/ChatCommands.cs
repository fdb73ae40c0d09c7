using PocketCoder.Agents;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Sessions;

using PocketCoder.Teams;

namespace PocketCoder.Bridges;

/// <summary>
/// What people write in a chat: <c>/pair</c> links a person, a linked person's plain text starts or continues the chat's
/// session, and the other /commands steer it (<see cref="Help"/>). Anyone not linked is ignored and counted.
/// </summary>
internal sealed class ChatCommands(BridgeContext bridge, ApprovalPosts approvals)
{
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

    private const string Unbound = "This chat steers no project yet: /bind PROJECT (its name or id).";

    private const string PrivacyAdvice = "I see only commands and replies to me in this group. To send plain text here, turn my privacy mode off "
        + "(@BotFather → /setprivacy → Disable) and add me to the group again, or make me an admin; until then, /new TEXT starts a session.";

    private BridgeServices Services => bridge.Services;

    private ChatOutbox Outbox => bridge.Outbox;

    /// <summary>"/cmd@bot argument" → ("cmd", "argument", "bot"); plain text → (null, "", null).</summary>
    internal static (string? Command, string Argument, string? Bot) Parse(string text)
    {
        text = text.Trim();
        if (!text.StartsWith('/') || text.Length < 2 || !char.IsAsciiLetter(text[1]))
        {
            return (null, "", null);
        }

        var space = text.IndexOfAny([' ', '\n']);
        var word = space < 0 ? text[1..] : text[1..space];
        var at = word.IndexOf('@');
        return ((at < 0 ? word : word[..at]).ToLowerInvariant(), space < 0 ? "" : text[(space + 1)..].Trim(), at < 0 ? null : word[(at + 1)..]);
    }

    /// <summary>A command addressed to another bot by name (<c>/help@OtherBot</c>).</summary>
    internal static bool ForAnotherBot(string text, string? botName) =>
        botName is not null && Parse(text).Bot is { } bot && !string.Equals(bot, botName, StringComparison.OrdinalIgnoreCase);

    public async Task HandleAsync(ChatInput input, BridgePerson? person, CancellationToken cancellationToken)
    {
        var (command, argument, _) = Parse(input.Text ?? "");
        if (command == "pair")
        {
            Pair(input, argument);
            return;
        }

        if (person is null)
        {
            bridge.Ignore("message", input.UserId);
            if (input.IsDirect && command is "start" or "help" && bridge.MayAnswerStranger(input))
            {
                Outbox.Say(input.ChatId, "I work for a PocketCoder server. " + StrangerPairingHelp("send me /pair CODE here."));
            }

            return;
        }

        bridge.Store.Seen(bridge.Definition.Id, input.ChatId, input.ChatTitle, input.IsDirect, input.UserId, person.UserName);
        if (approvals.TookReason(input, person, command is not null))
        {
            return;
        }

        var channel = bridge.Channel(input.ChatId);
        if (Refusal(command, channel, person) is { } refused)
        {
            Outbox.Say(input.ChatId, refused);
            return;
        }

        var reply = command switch
        {
            null => await MessageAsync(channel, person, input.Text!.Trim(), cancellationToken).ConfigureAwait(false),
            "bind" => Bind(input, person, argument),
            "unbind" => Unbind(input.ChatId, person),
            "help" or "start" => Help,
            _ when channel is null => Unbound,
            "new" => await NewAsync(input.ChatId, person, argument, cancellationToken).ConfigureAwait(false),
            "stop" => await StopAsync(input.ChatId, channel, person, cancellationToken).ConfigureAwait(false),
            "mode" => await ModeAsync(channel, person, argument, cancellationToken).ConfigureAwait(false),
            "agent" => Agent(input.ChatId, channel, argument),
            "status" => Status(channel),
            "queue" => QueueText(channel),
            _ => $"I do not know /{command}.\n\n{Help}",
        };
        if (reply is not null)
        {
            Outbox.Say(input.ChatId, reply);
        }
    }

    /// <summary>
    /// Roles hold in chat as in the app, asked of the one table (<see cref="DecisionRights"/>): binding a chat is an owner's,
    /// starting and steering sessions an operator's at least (in the chat's project; the session manager then asks whether
    /// they may start that mode or steer that session), and reading is everyone's. Presses are held to the gatekeeper's check.
    /// </summary>
    private string? Refusal(string? command, BridgeChannel? channel, BridgePerson person)
    {
        Act act = command switch
        {
            "bind" or "unbind" => new Manage("bind chats to projects"),
            null or "new" or "stop" or "mode" or "agent" => new UseRoute(Auth.Access.Steer),
            _ => new UseRoute(Auth.Access.Read),
        };
        return Services.Authority.Check(person.Actor, channel?.ProjectId, act).Reason;
    }

    private void Pair(ChatInput input, string code)
    {
        var client = $"{bridge.Definition.Id}:{input.UserId}";
        var deviceName = $"{PlatformTitle} {input.UserName}";
        deviceName = deviceName.Length > 100 ? deviceName[..100] : deviceName;
        if (!input.IsDirect)
        {
            // Everyone in the group has seen it: spent at once, unused (throttled or not), so no one quicker can send it
            // privately. Never repeated back.
            if (code.Length == 0 || !Services.Devices.Burn(code, deviceName))
            {
                Services.Throttle.RecordFailure(client);
            }

            SayToStranger(input, "Pairing codes are secret, so a code sent here no longer works. " + StrangerPairingHelp("send /pair CODE to me in a direct message."));
            return;
        }

        if (Services.Throttle.RetryAfter(client) is { } wait)
        {
            SayToStranger(input, $"Too many wrong codes. Try again in {Math.Ceiling(wait.TotalSeconds)} seconds.");
            return;
        }

        (Auth.Device Device, string Token)? redeemed;
        try
        {
            redeemed = code.Length == 0 ? null : Services.Devices.Redeem(code, deviceName);
        }
        catch (ApiProblem locked) when (locked.Code == ErrorCodes.LockedDown)
        {
            SayToStranger(input, "This machine is locked down: nobody links or pairs until its owner lifts that on the machine itself.");
            return;
        }

        if (redeemed is not { } paired)
        {
            Services.Throttle.RecordFailure(client);
            BridgeLog.LinkRefused(bridge.Logger, bridge.Definition.Id, input.UserId);
            SayToStranger(input, "That code is wrong, used or expired. " + StrangerPairingHelp("send /pair CODE."));
            return;
        }

        bridge.Store.Link(bridge.Definition.Id, bridge.Definition.Platform, input.UserId, input.UserName, paired.Device);
        bridge.Store.Seen(bridge.Definition.Id, input.ChatId, input.ChatTitle, input.IsDirect, input.UserId, input.UserName);
        BridgeLog.Linked(bridge.Logger, bridge.Definition.Id, input.UserName, input.UserId, paired.Device.Id);
        Outbox.Say(input.ChatId, $"Linked: you are the device \"{paired.Device.Name}\". In a group, /bind PROJECT makes it steer that project "
            + "(or write anything there and bind it from the app's Devices screen). /help lists the rest.");
    }

    /// <summary>
    /// How a stranger gets linked. Not the pairing command itself: it names this machine's paths, which health tells only a
    /// paired device, and a stranger cannot run it anyway: the owner makes the code (People, or the command on the machine).
    /// </summary>
    private static string StrangerPairingHelp(string then) =>
        "To link yourself, ask this server's owner for a pairing code (they make one in the app under People, or with the pairing "
        + $"command on the machine), then {then}";

    private void SayToStranger(ChatInput input, string text)
    {
        if (bridge.MayAnswerStranger(input))
        {
            Outbox.Say(input.ChatId, text);
        }
    }

    private string PlatformTitle => bridge.Definition.Platform switch
    {
        BridgesFile.TelegramPlatformName => "Telegram",
        BridgesFile.SlackPlatformName => "Slack",
        BridgesFile.FeishuPlatformName => "Feishu",
        var other => other,
    };

    private string? Bind(ChatInput input, BridgePerson person, string which)
    {
        var projects = Services.Projects.List();
        var matches = projects.Where(p => p.Id == which || string.Equals(p.Name, which, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches.Count != 1)
        {
            var why = which.Length == 0 ? "Which project? " : matches.Count == 0 ? $"No project is called \"{which}\". " : $"Several projects are called \"{which}\": use its id. ";
            // The list names every project on the machine (folders, clients, what is being worked on): said only to the
            // linked person alone, never to whoever else is in a group.
            return why + (input.IsDirect
                ? "Projects: " + string.Join(", ", projects.Select(p => $"{p.Name} ({p.Id})"))
                : "Send me /bind in a direct message to see the projects, then /bind PROJECT here.");
        }

        // Null: revoked (or the project removed) a moment ago.
        if (bridge.Store.Bind(bridge.Definition.Id, input.ChatId, input.ChatTitle, matches[0].Id, person.Actor) is not null)
        {
            Bound(input.ChatId, input.IsDirect, matches[0], boundBy: null);
        }

        return null;
    }

    private string? Unbind(string chatId, BridgePerson person)
    {
        Outbox.Say(chatId, bridge.Store.Unbind(bridge.Definition.Id, chatId, person.Actor) ? "Unbound: this chat no longer steers a project." : "This chat was not bound.");
        approvals.ChannelsChanged();
        return null;
    }

    /// <summary>
    /// A chat was just bound (here, or from the phone by <paramref name="boundBy"/>): take it up, say so in the chat and
    /// show the project's pending approvals there.
    /// </summary>
    public void Bound(string chatId, bool isDirect, Project project, string? boundBy)
    {
        approvals.ChannelsChanged();
        Outbox.Say(chatId, $"This chat now steers {project.Name}{(boundBy is null ? "" : $" (bound by {boundBy})")}. "
            + "Plain text starts a session; each approval comes here with buttons."
            + (isDirect || bridge.Platform.SeesEveryGroupMessage ? "" : "\n\n" + PrivacyAdvice));
        approvals.ShowPending(chatId, project.Id);
    }

    private async Task<string?> MessageAsync(BridgeChannel? channel, BridgePerson person, string text, CancellationToken cancellationToken)
    {
        if (channel is null)
        {
            return Unbound;
        }

        if (text.Length > SessionsApi.MaxMessageLength)
        {
            return $"That is longer than a message may be ({SessionsApi.MaxMessageLength} characters).";
        }

        if (channel.SessionId is { } current && Services.Sessions.Find(current) is { ArchivedAt: null, Status: not SessionStatuses.Stopped })
        {
            try
            {
                var queued = await Services.Manager.SendAsync(current, OwnerMessage.FromText(text), person.Actor, cancellationToken).ConfigureAwait(false);
                return queued is null ? null : $"Queued: it starts when the running turn ends ({Services.Queues.Queue(current).Messages.Count} waiting).";
            }
            catch (ApiProblem problem)
            {
                return problem.Message;
            }
        }

        try
        {
            var project = Services.Projects.Get(channel.ProjectId);
            await Services.Manager.CreateAsync(project.Id, channel.Agent ?? DefaultAgent(), OwnerMessage.FromText(text), null, SessionModes.Ask, person.Actor,
                cancellationToken, project.WorktreeDefault ? new WorktreeChoice(null) : null,
                created =>
                {
                    // Before the agent starts: its first events already find the chat.
                    bridge.Store.SetSession(bridge.Definition.Id, channel.ChatId, created.Id);
                    bridge.ReloadChannels();
                });
            return null;
        }
        catch (ApiProblem problem)
        {
            return $"Could not start a session: {problem.Message}";
        }
    }

    private string DefaultAgent() =>
        Services.Agents.Find("claude-code")?.Id ?? Services.Agents.All.Select(a => a.Id).FirstOrDefault() ?? "claude-code";

    private async Task<string?> NewAsync(string chatId, BridgePerson person, string text, CancellationToken cancellationToken)
    {
        bridge.Store.SetSession(bridge.Definition.Id, chatId, null);
        bridge.ReloadChannels();
        return text.Length > 0
            ? await MessageAsync(bridge.Channel(chatId), person, text, cancellationToken).ConfigureAwait(false)
            : "The next message starts a new session.";
    }

    private async Task<string> StopAsync(string chatId, BridgeChannel channel, BridgePerson person, CancellationToken cancellationToken)
    {
        if (channel.SessionId is not { } current)
        {
            return "No session is running here.";
        }

        await Services.Manager.StopAsync(current, person.Actor, cancellationToken).ConfigureAwait(false);
        bridge.Store.SetSession(bridge.Definition.Id, chatId, null);
        bridge.ReloadChannels();
        return "Stopped. The next message starts a new session.";
    }

    private async Task<string> ModeAsync(BridgeChannel channel, BridgePerson person, string mode, CancellationToken cancellationToken)
    {
        if (!SessionModes.IsValid(mode))
        {
            return "Modes: ask (every sensitive call asks), plan, accept_edits, trusted.";
        }

        if (channel.SessionId is not { } current)
        {
            return "No session here yet: the mode is set on a running session.";
        }

        try
        {
            await Services.Manager.SetModeAsync(current, mode, person.Actor, cancellationToken).ConfigureAwait(false);
            return $"Mode: {mode}.";
        }
        catch (ApiProblem problem)
        {
            // A mode this person may not choose (MODE_NOT_ALLOWED), a session gone: said in the chat, as the app says it.
            return problem.Message;
        }
    }

    private string Agent(string chatId, BridgeChannel channel, string agent)
    {
        if (Services.Agents.Find(agent) is null)
        {
            return $"Agents: {string.Join(", ", Services.Agents.All.Select(a => a.Id))}. Now: {channel.Agent ?? DefaultAgent()}.";
        }

        bridge.Store.SetAgent(bridge.Definition.Id, chatId, agent);
        bridge.ReloadChannels();
        return $"New sessions here use {agent}.";
    }

    private string Status(BridgeChannel channel)
    {
        var project = Services.Projects.Find(channel.ProjectId)?.Name ?? channel.ProjectId;
        if (channel.SessionId is not { } current || Services.Sessions.Find(current) is not { } session)
        {
            return $"Project {project}. No session yet: plain text starts one with {channel.Agent ?? DefaultAgent()}.";
        }

        var waiting = Services.Approvals.List(Approvals.ApprovalStatus.Pending, current).Count;
        var queued = Services.Queues.Queue(current).Messages.Count;
        return $"Project {project} · {session.Agent} · {session.Status} · mode {session.Mode}"
            + (waiting > 0 ? $" · {waiting} approval(s) waiting" : "") + (queued > 0 ? $" · {queued} queued" : "")
            + (bridge.AppLink(current) is { } link ? $"\n{link}" : "");
    }

    private string QueueText(BridgeChannel channel)
    {
        if (channel.SessionId is not { } current)
        {
            return "Nothing is queued.";
        }

        var queue = Services.Queues.Queue(current);
        return queue.Messages.Count == 0
            ? "Nothing is queued."
            : (queue.Held ? "Queued (held: /new or the phone lets them go):\n" : "Queued:\n")
              + string.Join("\n", queue.Messages.Select((m, i) => $"{i + 1}. {ChatMessage.Shorten(m.Text, 200)}"));
    }
}
