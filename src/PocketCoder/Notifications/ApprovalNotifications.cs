using System.Collections.Concurrent;
using PocketCoder.Approvals;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Notifications;

/// <summary>
/// Notifications about questions: each goes to the devices of those who may decide it, unless the app is open there (then it
/// is checked again after <see cref="PocketCoderOptions.NotifyEscalateAfter"/>: a device still not shown the question gets
/// the push after all); an escalated one goes to the owners; one that times out is announced before it is denied.
/// </summary>
public sealed class ApprovalNotifications(
    ApprovalStore approvals,
    ProjectStore projects,
    NotificationRecipients recipients,
    NotificationOutbox outbox,
    NotificationMessages messages,
    PocketCoderOptions options,
    TimeProvider clock,
    ILogger<ApprovalNotifications> logger)
{
    /// <summary>Per open question: cancels its escalation and expiry warning once it is answered.</summary>
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _open = new(StringComparer.Ordinal);

    /// <summary>Notifies about <paramref name="stored"/> when it is about a question; false when it is not.</summary>
    /// <param name="stopping">Ends the question's timers with the server.</param>
    public bool Handle(StoredEvent stored, CancellationToken stopping)
    {
        if (stored.As<ApprovalRequestedEvent>() is { } requested && approvals.Find(requested.ApprovalId) is { Status: ApprovalStatus.Pending } asked)
        {
            Requested(asked, stopping);
        }
        else if (stored.As<ApprovalEscalatedEvent>() is { } escalated
                 && approvals.Find(escalated.ApprovalId) is { Status: ApprovalStatus.Pending } unanswered)
        {
            Escalated(unanswered);
        }
        else if (stored.As<ApprovalResolvedEvent>() is { } resolved && _open.TryRemove(resolved.ApprovalId, out var answered))
        {
            answered.Cancel();
            answered.Dispose();
        }
        else
        {
            return false;
        }

        return true;
    }

    /// <summary>Events went by unread (the log overflowed): questions still open that nobody was told of are notified now.</summary>
    public void CatchUp(CancellationToken stopping)
    {
        foreach (var approval in approvals.List(ApprovalStatus.Pending, null).Where(a => !_open.ContainsKey(a.Id)))
        {
            Requested(approval, stopping);
        }
    }

    private void Requested(Approval approval, CancellationToken stopping)
    {
        var answered = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (!_open.TryAdd(approval.Id, answered))
        {
            answered.Dispose();
            return;
        }

        var (projectName, _) = messages.Names(approval.SessionId);
        // A question is answered in the app: no Allow/Deny actions on its notification.
        var question = approval.Kind is ApprovalKind.Question;
        var (body, whole) = question
            ? (NotificationMessages.Shorten(approval.Title) + (approval.Title.EndsWith('?') ? "" : "?"), false)
            : NotificationActions.Body(approval);
        var message = messages.ForApproval(approval, NotificationKinds.ApprovalRequested,
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

        var looking = outbox.Dispatch(NotificationKinds.ApprovalRequested, approval.Id, message, escalate: true,
            among: recipients.Deciders(approval, escalated: false));
        if (looking.Count > 0)
        {
            _ = LaterAsync(options.NotifyEscalateAfter, NotificationKinds.ApprovalRequested, () => EscalateNow(approval, looking, message), token);
        }

        foreach (var device in looking)
        {
            outbox.Suppressed(device, NotificationKinds.ApprovalRequested, approval.Id, "The app was open on this device.");
        }
    }

    /// <summary>No one who first could decide answered in time: the owners are pushed it now, marked as escalated.</summary>
    private void Escalated(Approval approval)
    {
        var (projectName, _) = messages.Names(approval.SessionId);
        var (body, whole) = NotificationActions.Body(approval, "Unanswered: ");
        var owners = recipients.Deciders(approval, escalated: true);
        owners.ExceptWith(recipients.Deciders(approval, escalated: false));
        outbox.Dispatch(NotificationKinds.ApprovalRequested, approval.Id,
            messages.ForApproval(approval, NotificationKinds.ApprovalRequested, $"Escalated to you · {projectName}", body, whole, offersActions: true),
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
        if (approvals.Find(approval.Id) is not { Status: ApprovalStatus.Pending })
        {
            return;
        }

        // The delivery receipts the gate records: a device whose stream carried the question, or that listed it, has seen it.
        var seen = approvals.DeliveredTo([approval.Id])[approval.Id].ToHashSet(StringComparer.Ordinal);
        var unseen = looking.Where(device => !seen.Contains(device)).ToHashSet(StringComparer.Ordinal);
        if (unseen.Count > 0)
        {
            outbox.Dispatch(NotificationKinds.ApprovalRequested, approval.Id, message, escalate: false, only: unseen);
        }
    }

    private void WarnNow(Approval approval, double warnBefore, string projectName)
    {
        if (approvals.Find(approval.Id) is not { Status: ApprovalStatus.Pending })
        {
            return;
        }

        var question = approval.Kind is ApprovalKind.Question;
        var prefix = $"Denied in {warnBefore:0} s unless you decide: ";
        var (body, whole) = question ? (prefix + NotificationMessages.Shorten(approval.Title), false) : NotificationActions.Body(approval, prefix);
        outbox.Dispatch(NotificationKinds.ApprovalExpiring, approval.Id, messages.ForApproval(approval, NotificationKinds.ApprovalExpiring,
            $"Approval expires soon · {projectName}", body, whole, offersActions: !question, "An approval expires soon."),
            escalate: false, among: recipients.Deciders(approval, escalated: true));
    }
}
