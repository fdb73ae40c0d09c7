using System.Security.Cryptography;
using System.Text;
using PocketCoder.Approvals;
using PocketCoder.Display;

namespace PocketCoder.Notifications;

/// <summary>
/// Allow once from a notification, offered only where the notification shows the call whole (the rule the chat bridges
/// follow: <see cref="ApprovalCall"/>). A notification that can offer it carries an allow token: a keyed hash of the
/// approval and the device it was sent to. The service worker posts its action with <c>via: "notification"</c> and that
/// token, and the server takes an allow from a notification only with the token and only when the call still reads whole
/// in a notification, so a payload made to offer Allow where it was not offered allows nothing.
/// </summary>
public sealed class NotificationActions
{
    /// <summary>How much of a notification's body is ours to fill: past it, a body is cut (docs/notifications.md).</summary>
    public const int BodyLength = 180;

    /// <summary>Lines a notification body may hold and still count as shown whole (a command and its folder, say).</summary>
    private const int MostLines = 3;

    public const string NotWholeNotice = "(Not shown whole: allow it in the app.)";

    /// <summary>
    /// Per process: a pending approval does not outlive the server (a restart settles it as interrupted), so neither
    /// need its tokens.
    /// </summary>
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// The body of a notification about the approval's call, after <paramref name="prefix"/>: the tool and the call as
    /// it will run, and whether that is all of it. A call that does not fit whole (too long, more than a few lines, or
    /// holding characters that could make it read as something else) is cut, flattened and says so.
    /// </summary>
    public static (string Body, bool Whole) Body(Approval approval, string prefix = "")
    {
        var call = new StringBuilder();
        var whole = ApprovalCall.Append(call, approval);
        var text = $"{approval.Tool}: {call.ToString().Trim()}";
        if (whole && prefix.Length + text.Length <= BodyLength && text.Count(c => c == '\n') < MostLines && ApprovalCall.Readable(prefix + text))
        {
            return (prefix + text, true);
        }

        var room = BodyLength - prefix.Length - NotWholeNotice.Length - 1;
        var flat = (TerminalText.Clean(text) ?? "").ReplaceLineEndings(" ");
        return (prefix + (flat.Length <= room ? flat : flat[..(room - 1)] + "…") + " " + NotWholeNotice, false);
    }

    /// <summary>The allow token for a notification about <paramref name="approvalId"/> sent to <paramref name="deviceId"/>.</summary>
    public string Token(string approvalId, string deviceId) =>
        System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{approvalId}\n{deviceId}")));

    /// <summary>
    /// Whether an allow that came from a notification may stand: allow once (the only allow a notification offers), as
    /// asked, with the token made for this approval and device, for a call a notification shows whole.
    /// </summary>
    public bool MayAllow(Approval approval, string deviceId, string decision, bool edited, string? token) =>
        decision == Decisions.AllowOnce && !edited && token is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(Token(approval.Id, deviceId)))
        && Body(approval).Whole;
}
