using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using PocketCoder.Approvals;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Server;
using PocketCoder.Sessions;
using PocketCoder.Workspace.Commands;
using PocketCoder.Teams;

namespace PocketCoder.Notifications;

/// <summary>
/// Turns what happens into notifications. It follows the event log like any dashboard; for each event that matters it
/// asks, per device, whether the device wants it and whether the owner is already looking at it there (then nothing is
/// pushed, and for a question the device is checked again after <see cref="PocketCoderOptions.NotifyEscalateAfter"/>: if
/// it still has not been shown the question, it gets the push after all). Sends go through a bounded queue so a slow
/// push service never holds up the log, and every outcome is recorded where the owner can see it.
/// </summary>
public sealed class Notifier(
    EventHub hub,
    NotificationStore store,
    PushSender sender,
    DevicePresence presence,
    ApprovalStore approvals,
    SessionStore sessions,
    ProjectStore projects,
    CommandRunner commands,
    NotificationActions actions,
    Teams.People people,
    TeamPolicies policies,
    Budgets budgets,
    PocketCoderOptions options,
    IServer server,
    TimeProvider clock,
    ILogger<Notifier> logger) : BackgroundService
{
    private const int SendWorkers = 4;
    private const int SummaryLength = NotificationActions.BodyLength;
    private const int TitleLength = 80;

    private readonly Channel<Outgoing> _outbox = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Per open question: cancels its escalation and expiry warning once it is answered.</summary>
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _open = new(StringComparer.Ordinal);

    private CancellationToken _stopping;

    private sealed record Outgoing(NotificationChannel Channel, PushMessage Message, string? Subject);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        var workers = Enumerable.Range(0, SendWorkers).Select(_ => Task.Run(() => SendLoopAsync(stoppingToken), CancellationToken.None)).ToArray();
        commands.Finished += OnCommandFinished;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var subscription = hub.Subscribe(null, 4096);
                while (await subscription.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
                {
                    while (subscription.Reader.TryRead(out var item))
                    {
                        if (item.Stored is { } stored)
                        {
                            Handle(stored);
                        }
                    }
                }

                // Overflowed: turns may have gone by unannounced, but no question may. Look them up again.
                NotificationLog.CaughtUp(logger);
                try
                {
                    foreach (var approval in approvals.List(ApprovalStatuses.Pending, null).Where(a => !_open.ContainsKey(a.Id)))
                    {
                        OnApprovalRequested(approval);
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // As in Handle: the notifier goes on (its failure would stop the server).
                    NotificationLog.HandlerFailed(logger, exception, ApprovalRequestedEvent.Kind);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            commands.Finished -= OnCommandFinished;
            _outbox.Writer.TryComplete();
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a test notification to every channel of the device now, and returns how each went.</summary>
    public async Task<IReadOnlyList<NotificationDelivery>> SendTestAsync(string deviceId, CancellationToken cancellationToken)
    {
        var message = Message(NotificationSettings.Default, false, NotificationKinds.Test, "PocketCoder test", "Notifications from PocketCoder reach this device.",
            "", "test", "/devices");
        var results = new List<NotificationDelivery>();
        foreach (var channel in store.Channels(deviceId))
        {
            results.Add(await SendOneAsync(new Outgoing(channel, message, null), cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    private void Handle(StoredEvent stored)
    {
        try
        {
            // Each branch reads one kind of event: one that does not go on matches none of the others.
            if (stored.As<ApprovalRequestedEvent>() is { } requested && approvals.Find(requested.ApprovalId) is { Status: ApprovalStatuses.Pending } asked)
            {
                OnApprovalRequested(asked);
            }
            else if (stored.As<ApprovalEscalatedEvent>() is { } escalated
                     && approvals.Find(escalated.ApprovalId) is { Status: ApprovalStatuses.Pending } unanswered)
            {
                OnApprovalEscalated(unanswered);
            }
            else if (stored.As<ApprovalResolvedEvent>() is { } resolved && _open.TryRemove(resolved.ApprovalId, out var answered))
            {
                answered.Cancel();
                answered.Dispose();
            }
            else if (stored.Kind == UsageEvent.Kind)
            {
                OnUsage(stored.SessionId);
            }
            else if (stored.As<TurnCompletedEvent>() is { StopReason: not "cancelled" } turn)
            {
                OnSessionEvent(stored.SessionId, NotificationKinds.TurnFinished, "Turn finished", turn.IsError
                    ? "The turn ended with an error." : string.IsNullOrWhiteSpace(turn.Result) ? "The agent is waiting for you." : turn.Result, "A turn finished.");
            }
            else if (stored.As<SessionStatusEvent>() is { Status: SessionStatuses.Failed } status)
            {
                OnSessionEvent(stored.SessionId, NotificationKinds.SessionFailed, "Session failed", status.Reason ?? "The agent stopped unexpectedly.", "A session needs attention.");
            }
            else if (stored.As<ErrorEvent>() is { Code: Sessions.Running.StallWatch.StalledCode } error)
            {
                OnSessionEvent(stored.SessionId, NotificationKinds.SessionFailed, "Agent stalled", error.Message, "A session needs attention.");
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // A notification that cannot be made (a busy database, a malformed event) must not stop the notifier, whose
            // failure would stop the server.
            NotificationLog.HandlerFailed(logger, exception, stored.Kind);
        }
    }

    private void OnApprovalRequested(Approval approval)
    {
        var answered = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        if (!_open.TryAdd(approval.Id, answered))
        {
            answered.Dispose();
            return;
        }

        var (projectName, _) = Names(approval.SessionId);
        // A question is answered in the app: no Allow/Deny actions on its notification.
        var question = approval.Kind == Agents.ToolKinds.ToWire(Agents.ToolKind.Question);
        var (body, whole) = question ? (Shorten(approval.Title) + (approval.Title.EndsWith('?') ? "" : "?"), false) : NotificationActions.Body(approval);
        var message = ApprovalMessage(approval, NotificationKinds.ApprovalRequested,
            question ? $"The agent asks · {projectName}" : $"Approval needed · {projectName}", body, whole, offersActions: !question);

        // Timers are armed before anything is sent or recorded, so whoever sees a push or a record can move the clock.
        var token = answered.Token;
        if (projects.Find(approval.ProjectId)?.ApprovalTimeoutSeconds is > 0 and var seconds)
        {
            // With a project timeout, a last call before the question is denied: a quarter of the time, at most a minute, before.
            var warnBefore = Math.Min(60, seconds / 4.0);
            _ = LaterAsync(TimeSpan.FromSeconds(seconds - warnBefore), NotificationKinds.ApprovalExpiring,
                () => WarnNow(approval, warnBefore, projectName), token);
        }

        var looking = Dispatch(NotificationKinds.ApprovalRequested, approval.Id, message, escalate: true, among: Deciders(approval, escalated: false));
        if (looking.Count > 0)
        {
            _ = LaterAsync(options.NotifyEscalateAfter, NotificationKinds.ApprovalRequested, () => EscalateNow(approval, looking, message), token);
        }

        foreach (var device in looking)
        {
            Record(new NotificationDelivery(0, device, "app", NotificationKinds.ApprovalRequested, approval.Id, clock.GetUtcNow(), DeliveryOutcomes.Suppressed, null,
                "The app was open on this device."));
        }
    }

    /// <summary>
    /// The devices a question goes to: those of the people who may decide it in its project (never a viewer's). Where the
    /// project escalates, owners are asked only once it has been escalated, unless no one else could decide it.
    /// </summary>
    private HashSet<string> Deciders(Approval approval, bool escalated)
    {
        // Whoever the one table lets allow (or answer) it: a notification offers Allow, so it goes to no one else.
        var eligible = people.DeviceRoles(approval.ProjectId)
            .Where(d => Teams.Offers.For(new Teams.Decider(null, d.DeviceId, d.Role, Active: true), approval, allowedAlready: false) is { AllowOnce: true } or { Answer: true })
            .ToList();
        if (!escalated && approval.DeciderRole != Teams.Roles.Owner && policies.For(approval.ProjectId).EscalateAfterSeconds is not null
            && eligible.Any(d => d.Role != Teams.Role.Owner))
        {
            eligible.RemoveAll(d => d.Role == Teams.Role.Owner);
        }

        return [.. eligible.Select(d => d.DeviceId)];
    }

    /// <summary>No one who first could decide answered in time: the owners are pushed it now, marked as escalated.</summary>
    private void OnApprovalEscalated(Approval approval)
    {
        var (projectName, _) = Names(approval.SessionId);
        var (body, whole) = NotificationActions.Body(approval, "Unanswered: ");
        var owners = Deciders(approval, escalated: true);
        owners.ExceptWith(Deciders(approval, escalated: false));
        Dispatch(NotificationKinds.ApprovalRequested, approval.Id,
            ApprovalMessage(approval, NotificationKinds.ApprovalRequested, $"Escalated to you · {projectName}", body, whole, offersActions: true),
            escalate: false, among: owners);
    }

    /// <summary>Does <paramref name="act"/> after <paramref name="delay"/> unless the question is answered first; a failure is logged.</summary>
    private async Task LaterAsync(TimeSpan delay, string kind, Action act, CancellationToken answered)
    {
        await Task.Delay(delay, clock, answered).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (answered.IsCancellationRequested)
        {
            return; // Answered in time.
        }

        try
        {
            act();
        }
        catch (Exception exception)
        {
            NotificationLog.HandlerFailed(logger, exception, kind);
        }
    }

    private void EscalateNow(Approval approval, IReadOnlyList<string> looking, Func<string, NotificationSettings, bool, PushMessage> message)
    {
        if (approvals.Find(approval.Id) is not { Status: ApprovalStatuses.Pending })
        {
            return;
        }

        // The delivery receipts the gate records: a device whose stream carried the question, or that listed it, has seen it.
        var seen = approvals.DeliveredTo([approval.Id])[approval.Id].ToHashSet(StringComparer.Ordinal);
        var unseen = looking.Where(device => !seen.Contains(device)).ToHashSet(StringComparer.Ordinal);
        if (unseen.Count > 0)
        {
            Dispatch(NotificationKinds.ApprovalRequested, approval.Id, message, escalate: false, only: unseen);
        }
    }

    private void WarnNow(Approval approval, double warnBefore, string projectName)
    {
        if (approvals.Find(approval.Id) is not { Status: ApprovalStatuses.Pending })
        {
            return;
        }

        var question = approval.Kind == Agents.ToolKinds.ToWire(Agents.ToolKind.Question);
        var prefix = $"Denied in {warnBefore:0} s unless you decide: ";
        var (body, whole) = question ? (prefix + Shorten(approval.Title), false) : NotificationActions.Body(approval, prefix);
        Dispatch(NotificationKinds.ApprovalExpiring, approval.Id, ApprovalMessage(approval, NotificationKinds.ApprovalExpiring,
            $"Approval expires soon · {projectName}", body, whole, offersActions: !question, "An approval expires soon."),
            escalate: false, among: Deciders(approval, escalated: true));
    }

    /// <summary>A cap just passed 80 %: the people who may raise it hear it now, before the agent stops at the whole.</summary>
    private void OnUsage(string sessionId)
    {
        if (sessions.Find(sessionId) is not { } session)
        {
            return;
        }

        foreach (var use in budgets.NewWarnings(session.ProjectId, sessionId))
        {
            var (projectName, title) = Names(sessionId);
            var body = $"{(use.Scope == "session" ? $"The session {title ?? ""}".TrimEnd() : "The project")} has spent {Percent(use)} of its budget: "
                + $"{Budgets.Describe(use.UsedTokens, use.UsedCostUsd)} of {Budgets.Describe(use.CapTokens, use.CapCostUsd)}.";
            var raisers = people.DeviceRoles(session.ProjectId).Where(d => d.Role >= Teams.Role.Approver).Select(d => d.DeviceId).ToHashSet(StringComparer.Ordinal);
            Dispatch(NotificationKinds.BudgetWarning, sessionId, (_, settings, silent) => Message(settings, silent, NotificationKinds.BudgetWarning,
                $"Budget at {Percent(use)} · {projectName}", body, "A budget is nearly spent.", SessionTag(sessionId), SessionUrl(sessionId)),
                escalate: false, among: raisers);
        }
    }

    private static string Percent(BudgetUse use) => $"{Math.Round(use.Spent * 100):0}%";

    private void OnSessionEvent(string sessionId, string notification, string what, string summary, string privateText)
    {
        var (projectName, sessionTitle) = Names(sessionId);
        var body = sessionTitle is null ? summary : $"{sessionTitle}: {summary}";
        Dispatch(notification, sessionId, (_, settings, silent) => Message(settings, silent, notification, $"{what} · {projectName}", body, privateText,
            SessionTag(sessionId), SessionUrl(sessionId)), escalate: false);
    }

    private void OnCommandFinished(CommandRun run, CommandExitEvent exit)
    {
        try
        {
            var projectName = projects.Find(run.ProjectId)?.Name ?? "PocketCoder";
            var outcome = exit.Status switch
            {
                "timed_out" => "timed out",
                "cancelled" => "was cancelled",
                _ => $"exited {exit.ExitCode}",
            };
            Dispatch(NotificationKinds.CommandFinished, run.Id, (_, settings, silent) => Message(settings, silent, NotificationKinds.CommandFinished,
                $"Command finished · {projectName}", $"`{run.Command}` {outcome} after {exit.DurationMs / 1000.0:0.#} s", "A command finished.",
                $"command-{run.ProjectId}", $"/p/{run.ProjectId}/run"), escalate: false);
        }
        catch (Exception exception)
        {
            // Called from the command runner as the command ends: nothing here may break that.
            NotificationLog.HandlerFailed(logger, exception, NotificationKinds.CommandFinished);
        }
    }

    /// <summary>
    /// Queues the notification for every device that wants it, except those looking at the app (returned, not notified)
    /// when <paramref name="escalate"/> says a question is being asked; other events simply skip a looking device.
    /// </summary>
    /// <param name="among">The only devices it may go to (a question's deciders); null: any.</param>
    private List<string> Dispatch(string notification, string subject, Func<string, NotificationSettings, bool, PushMessage> message, bool escalate,
        IReadOnlySet<string>? only = null, IReadOnlySet<string>? among = null)
    {
        var looking = new List<string>();
        var now = clock.GetUtcNow();
        foreach (var device in store.Channels().GroupBy(c => c.DeviceId))
        {
            if ((only is not null && !only.Contains(device.Key)) || (among is not null && !among.Contains(device.Key)))
            {
                continue;
            }

            var settings = store.Settings(device.Key);
            if (!settings.Wants(notification))
            {
                continue;
            }

            if (only is null && presence.IsLooking(device.Key))
            {
                if (escalate)
                {
                    looking.Add(device.Key);
                }

                continue;
            }

            var push = message(device.Key, settings, settings.QuietHours?.Contains(now) == true);
            foreach (var channel in device)
            {
                if (!_outbox.Writer.TryWrite(new Outgoing(channel, push, subject)))
                {
                    NotificationLog.Dropped(logger, notification, device.Key);
                }
            }
        }

        return looking;
    }

    private async Task SendLoopAsync(CancellationToken stoppingToken)
    {
        await foreach (var outgoing in _outbox.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                await SendOneAsync(outgoing, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // One bad send (a database error while recording it, say) must not end this sender.
                NotificationLog.HandlerFailed(logger, exception, outgoing.Message.Event);
            }
        }
    }

    private async Task<NotificationDelivery> SendOneAsync(Outgoing outgoing, CancellationToken cancellationToken)
    {
        var delivery = await sender.SendAsync(outgoing.Channel, outgoing.Message, outgoing.Subject, AppUrl(), cancellationToken).ConfigureAwait(false);
        Record(delivery);
        return delivery;
    }

    /// <summary>Stored, and told to open dashboards so the Devices screen shows it as it happens.</summary>
    private void Record(NotificationDelivery delivery)
    {
        store.Record(delivery);
        hub.PublishEphemeral(new EphemeralEvent("notification.delivery", new JsonObject
        {
            ["deviceId"] = delivery.DeviceId,
            ["channel"] = delivery.Channel,
            ["event"] = delivery.Event,
            ["subject"] = delivery.Subject,
            ["outcome"] = delivery.Outcome,
            ["status"] = delivery.Status,
            ["at"] = delivery.At.ToString("O"),
        }.ToJsonString()));
    }

    /// <summary>
    /// As the device's settings want it: what happened, or for private content only that something did (no actions).
    /// <paramref name="allowToken"/>: Allow once is offered (the body shows the call whole), with the token that lets it stand.
    /// Title and body are cut so that any message fits one push record (4 KB), whatever a project is called. A body that
    /// fits keeps its line breaks (an approval's command and its folder).
    /// </summary>
    private PushMessage Message(NotificationSettings settings, bool silent, string notification, string title, string body, string privateText,
        string tag, string url, string? approvalId = null, bool actions = false, string? allowToken = null) => settings.ShowsSummary
        ? new(notification, Shorten(title, TitleLength), body.Length <= SummaryLength ? body : Shorten(body), tag, url, approvalId, actions, silent,
            clock.GetUtcNow().ToString("O"), actions ? allowToken : null)
        : new(notification, "PocketCoder", privateText, tag, url, approvalId, false, silent, clock.GetUtcNow().ToString("O"), null);

    /// <summary>An approval's notification, per device: Allow once (with that device's token) only where <paramref name="whole"/>.</summary>
    private Func<string, NotificationSettings, bool, PushMessage> ApprovalMessage(Approval approval, string notification, string title, string body,
        bool whole, bool offersActions, string privateText = "An approval is waiting.") =>
        (device, settings, silent) => Message(settings, silent, notification, title, body, privateText, SessionTag(approval.SessionId),
            SessionUrl(approval.SessionId), approval.Id, offersActions, whole ? actions.Token(approval.Id, device) : null);

    private (string Project, string? Session) Names(string sessionId)
    {
        var session = sessions.Find(sessionId);
        var project = session is null ? null : projects.Find(session.ProjectId);
        return (project?.Name ?? "PocketCoder", session?.Title);
    }

    /// <summary>Where links in ntfy messages point: the public address phones use, else where this server listens.</summary>
    private string AppUrl() =>
        options.PublicUrl ?? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Listen;

    private static string SessionTag(string sessionId) => $"session-{sessionId}";

    private static string SessionUrl(string sessionId) => $"/s/{sessionId}";

    private static string Shorten(string text, int length = SummaryLength)
    {
        var oneLine = text.ReplaceLineEndings(" ").Trim();
        return oneLine.Length <= length ? oneLine : oneLine[..(length - 1)] + "…";
    }
}
