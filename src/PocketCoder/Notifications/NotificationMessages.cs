using PocketCoder.Approvals;
using PocketCoder.Projects;
using PocketCoder.Sessions;

namespace PocketCoder.Notifications;

/// <summary>
/// What a notification says: as the device's settings want it (what happened, or for private content only that something
/// did), cut to fit one push record, with its session's tag and link, and for an approval the Allow once token of the device
/// it goes to.
/// </summary>
public sealed class NotificationMessages(NotificationActions actions, SessionStore sessions, ProjectStore projects, TimeProvider clock)
{
    private const int SummaryLength = NotificationActions.BodyLength;
    private const int TitleLength = 80;

    /// <summary>
    /// As the device's settings want it: what happened, or for private content only that something did (no actions).
    /// <paramref name="allowToken"/>: Allow once is offered (the body shows the call whole), with the token that lets it stand.
    /// Title and body are cut so that any message fits one push record (4 KB), whatever a project is called. A body that
    /// fits keeps its line breaks (an approval's command and its folder).
    /// </summary>
    public PushMessage Message(NotificationSettings settings, bool silent, string notification, string title, string body, string privateText,
        string tag, string url, string? approvalId = null, bool actions = false, string? allowToken = null) => settings.ShowsSummary
        ? new(notification, Shorten(title, TitleLength), body.Length <= SummaryLength ? body : Shorten(body), tag, url, approvalId, actions, silent,
            clock.GetUtcNow().ToString("O"), actions ? allowToken : null)
        : new(notification, "PocketCoder", privateText, tag, url, approvalId, false, silent, clock.GetUtcNow().ToString("O"), null);

    /// <summary>An approval's notification, per device: Allow once (with that device's token) only where <paramref name="whole"/>.</summary>
    public Func<string, NotificationSettings, bool, PushMessage> ForApproval(Approval approval, string notification, string title, string body,
        bool whole, bool offersActions, string privateText = "An approval is waiting.") =>
        (device, settings, silent) => Message(settings, silent, notification, title, body, privateText, SessionTag(approval.SessionId),
            SessionUrl(approval.SessionId), approval.Id, offersActions, whole ? actions.Token(approval.Id, device) : null);

    /// <summary>A session's notification, the same for every device but for its settings.</summary>
    public Func<string, NotificationSettings, bool, PushMessage> ForSession(string sessionId, string notification, string title, string body,
        string privateText) =>
        (_, settings, silent) => Message(settings, silent, notification, title, body, privateText, SessionTag(sessionId), SessionUrl(sessionId));

    /// <summary>The names a notification about the session shows: its project's, and its title.</summary>
    public (string Project, string? Session) Names(string sessionId)
    {
        var session = sessions.Find(sessionId);
        var project = session is null ? null : projects.Find(session.ProjectId);
        return (project?.Name ?? "PocketCoder", session?.Title);
    }

    public string ProjectName(string projectId) => projects.Find(projectId)?.Name ?? "PocketCoder";

    public static string Shorten(string text, int length = SummaryLength)
    {
        var oneLine = text.ReplaceLineEndings(" ").Trim();
        return oneLine.Length <= length ? oneLine : oneLine[..(length - 1)] + "…";
    }

    private static string SessionTag(string sessionId) => $"session-{sessionId}";

    private static string SessionUrl(string sessionId) => $"/s/{sessionId}";
}
