using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Teams;

namespace PocketCoder.Notifications;

/// <summary>Notifications about a session's work: a turn finished, the session failed or its agent stalled, a budget nearly spent.</summary>
public sealed class SessionNotifications(SessionStore sessions, Budgets budgets, NotificationRecipients recipients, NotificationOutbox outbox,
    NotificationMessages messages)
{
    /// <summary>Notifies about <paramref name="stored"/> when it is about a session's work; false when it is not.</summary>
    public bool Handle(StoredEvent stored)
    {
        if (stored.Kind == UsageEvent.Kind)
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
        else
        {
            return false;
        }

        return true;
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
            var (projectName, title) = messages.Names(sessionId);
            var body = $"{(use.Scope == "session" ? $"The session {title ?? ""}".TrimEnd() : "The project")} has spent {Percent(use)} of its budget: "
                + $"{Budgets.Describe(use.UsedTokens, use.UsedCostUsd)} of {Budgets.Describe(use.CapTokens, use.CapCostUsd)}.";
            outbox.Dispatch(NotificationKinds.BudgetWarning, sessionId, messages.ForSession(sessionId, NotificationKinds.BudgetWarning,
                $"Budget at {Percent(use)} · {projectName}", body, "A budget is nearly spent."),
                escalate: false, among: recipients.Raisers(session.ProjectId));
        }
    }

    private static string Percent(BudgetUse use) => $"{Math.Round(use.Spent * 100):0}%";

    private void OnSessionEvent(string sessionId, string notification, string what, string summary, string privateText)
    {
        var (projectName, sessionTitle) = messages.Names(sessionId);
        var body = sessionTitle is null ? summary : $"{sessionTitle}: {summary}";
        outbox.Dispatch(notification, sessionId, messages.ForSession(sessionId, notification, $"{what} · {projectName}", body, privateText), escalate: false);
    }
}
