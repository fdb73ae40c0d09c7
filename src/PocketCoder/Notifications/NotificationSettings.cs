using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PocketCoder.Notifications;

/// <summary>
/// What one device is told and how much a notification says. Approvals always notify (an unseen question is a stalled
/// agent); the rest is the owner's choice. Quiet hours do not drop anything: notifications then arrive without sound.
/// </summary>
/// <param name="Content">
/// <c>summary</c>: the notification says what will run ("Run `npm test`?") and offers Allow / Deny. <c>private</c>: only
/// that something is waiting, for a lock screen others can see; the app fetches the details when opened.
/// </param>
public sealed record NotificationSettings(
    [property: Required(ErrorMessage = NotificationSettings.ContentMessage)]
    [property: AllowedValues(NotificationSettings.Summary, NotificationSettings.Private, ErrorMessage = NotificationSettings.ContentMessage)]
    string Content,
    bool TurnFinished,
    bool SessionFailed,
    bool CommandFinished,
    bool TimeoutApproaching,
    QuietHours? QuietHours)
{
    public const string Summary = "summary";
    public const string Private = "private";
    internal const string ContentMessage = "'content' must be 'summary' or 'private'.";

    public static readonly NotificationSettings Default = new(Summary, TurnFinished: true, SessionFailed: true, CommandFinished: false, TimeoutApproaching: true, null);

    public bool Wants(string notification) => notification switch
    {
        NotificationKinds.ApprovalRequested or NotificationKinds.BudgetWarning or NotificationKinds.GoalEnded or NotificationKinds.GoalWaiting
            or NotificationKinds.Test => true,
        NotificationKinds.TurnFinished => TurnFinished,
        NotificationKinds.SessionFailed => SessionFailed,
        NotificationKinds.CommandFinished => CommandFinished,
        NotificationKinds.ApprovalExpiring => TimeoutApproaching,
        _ => false,
    };

    [JsonIgnore]
    public bool ShowsSummary => Content != Private;
}

/// <summary>From <paramref name="Start"/> to <paramref name="End"/> (<c>HH:mm</c>, may wrap midnight) in the device's own time zone.</summary>
public sealed record QuietHours(
    [property: Required(ErrorMessage = QuietHours.TimeMessage)]
    [property: RegularExpression("^([01][0-9]|2[0-3]):[0-5][0-9]$", ErrorMessage = QuietHours.TimeMessage)]
    string Start,
    [property: Required(ErrorMessage = QuietHours.TimeMessage)]
    [property: RegularExpression("^([01][0-9]|2[0-3]):[0-5][0-9]$", ErrorMessage = QuietHours.TimeMessage)]
    string End,
    [property: Required(ErrorMessage = "'quietHours.timeZone' is required: an IANA name such as \"Europe/Berlin\" (the browser's own).")]
    [property: StringLength(64, ErrorMessage = QuietHours.ZoneMessage)]
    [property: RegularExpression("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", ErrorMessage = QuietHours.ZoneMessage)]
    string TimeZone)
{
    internal const string ZoneMessage = "'quietHours.timeZone' must be an IANA time zone name such as \"Europe/Berlin\".";
    internal const string TimeMessage = "'quietHours.start' and 'quietHours.end' are times of day, HH:mm (24-hour).";

    public static TimeZoneInfo? FindZone(string name)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception exception) when (exception is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            return null;
        }
    }

    public bool Contains(DateTimeOffset instant)
    {
        if (FindZone(TimeZone) is not { } zone)
        {
            return false;
        }

        var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime);
        var start = TimeOnly.Parse(Start, CultureInfo.InvariantCulture);
        var end = TimeOnly.Parse(End, CultureInfo.InvariantCulture);
        return start <= end ? local >= start && local < end : local >= start || local < end;
    }
}

/// <summary>The kinds of notification, as a push message's <c>event</c> and the delivery record name them.</summary>
public static class NotificationKinds
{
    public const string ApprovalRequested = "approval.requested";
    public const string ApprovalExpiring = "approval.expiring";
    public const string TurnFinished = "turn.finished";
    public const string SessionFailed = "session.failed";
    public const string CommandFinished = "command.finished";

    /// <summary>A budget is 80 % spent: to the people who may raise it (approvers and owners).</summary>
    public const string BudgetWarning = "budget.warning";

    /// <summary>A session's goal ended (met, at its cap, stalled or stopped), with its spend: to every device, whatever its settings.</summary>
    public const string GoalEnded = "goal.ended";

    /// <summary>A session's goal made no progress in its last turns (or its session failed) and asks whether to go on.</summary>
    public const string GoalWaiting = "goal.waiting";
    public const string Test = "test";
}

/// <summary>
/// What the service worker receives, decrypted, and shows. <see cref="Url"/> is where tapping leads, relative to the app.
/// <see cref="Actions"/>: offer Deny on an approval; <see cref="AllowToken"/>, set only when the body shows the call whole,
/// offers Allow once too and goes back with it (<see cref="NotificationActions"/>).
/// </summary>
public sealed record PushMessage(
    string Event,
    string Title,
    string Body,
    string Tag,
    string Url,
    string? ApprovalId,
    bool Actions,
    bool Silent,
    string At,
    string? AllowToken,
    string? Machine = null);

/// <summary>Source-generated JSON for what notifications store and send.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NotificationSettings))]
[JsonSerializable(typeof(PushMessage))]
[JsonSerializable(typeof(VapidClaims))]
[JsonSerializable(typeof(NtfyMessage))]
public sealed partial class NotificationJson : JsonSerializerContext;
