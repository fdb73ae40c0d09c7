using System.Text;
using System.Text.Json;
using PocketCoder.Approvals;
using PocketCoder.Display;

namespace PocketCoder.Bridges;

/// <summary>
/// An approval as a chat message: what the agent wants to do (cut to what the platform shows), and buttons only for what
/// may be decided there; once decided, withdrawn or no longer this chat's, how it ended and no buttons. A button's data is
/// the message's nonce and one of the actions below.
/// </summary>
internal static class ApprovalText
{
    /// <summary>
    /// What a button does, after the message's nonce in its data: allow once, allow for the session, deny, deny with a
    /// reason, or choose one of a question's options (followed by its index: o0, o1, …).
    /// </summary>
    public const string AllowOnceAction = "a", AllowSessionAction = "s", DenyAction = "d", DenyWithReasonAction = "r", OptionAction = "o";

    /// <summary>Most options a chat offers as buttons for a question.</summary>
    private const int MostChatChoices = 4;

    private const string NotWholeNotice = "⚠ Not shown here whole, so it can only be denied here: allow it in the app, where it is.";

    /// <param name="bound">Whether the chat still steers the approval's project (else it is decided in the app only).</param>
    /// <param name="project">The project's name as the chat shows it.</param>
    /// <param name="link">The session in the app, when the server has a public address.</param>
    public static ChatMessage Render(Approval approval, string nonce, bool bound, string project, string? link, int maxTextLength)
    {
        var (shown, whole) = Describe(approval, project, link, maxTextLength);
        if (approval.Status != ApprovalStatus.Pending || !bound)
        {
            return new ChatMessage(shown + "\n\n" + (bound ? Outcome(approval) : "This chat no longer steers the project: decide in the app."));
        }

        ChatButton Button(string label, string action) => new(label, $"{nonce}:{action}");
        if (IsQuestion(approval))
        {
            // One question with one answer among a few options, all shown whole: a button per option. Anything more (several
            // questions, several answers, the owner's own words) is answered in the app; here it can be dismissed.
            if (whole && ChatChoices(approval) is { } choices)
            {
                return new ChatMessage(shown + "\n\n❓ Choose one, or answer in the app in your own words.",
                    [.. choices.Select((label, i) => (IReadOnlyList<ChatButton>)[Button(ChatMessage.Shorten(Clean(label), 40), $"{OptionAction}{i}")]),
                        [Button("Dismiss", DenyAction)]]);
            }

            return new ChatMessage(shown + "\n\n❓ Answer it in the app; here it can only be dismissed.", [[Button("Dismiss", DenyAction)]]);
        }

        IReadOnlyList<ChatButton> deny = [Button("Deny", DenyAction), Button("Deny with a reason", DenyWithReasonAction)];
        if (!whole)
        {
            // Allowing what no one here could read whole (cut, or with characters that hide what it says) is not offered.
            return new ChatMessage(shown + "\n\n" + NotWholeNotice, [deny]);
        }

        // Only what someone linked could do with it (the one table's answer for the highest role): no grant of a two-person or
        // budget call, which every press would be refused. A session grant covers every later call of the tool, not only ones
        // like this: the button says so.
        var offers = Teams.Offers.ForAnyone(approval);
        var allow = Button(approval.Kind is ApprovalKind.Budget ? "Raise it" : "Allow once", AllowOnceAction);
        IReadOnlyList<ChatButton> allows = offers.AllowSession
            ? [allow, Button($"All {ChatMessage.Shorten(Clean(approval.Tool), 24)} this session", AllowSessionAction)]
            : [allow];
        return new ChatMessage(shown, [allows, deny]);
    }

    /// <summary>
    /// The option labels of a question a chat can answer with buttons: exactly one question, one answer, 2 to
    /// <see cref="MostChatChoices"/> distinct options. Null for anything else.
    /// </summary>
    public static IReadOnlyList<string>? ChatChoices(Approval approval)
    {
        var input = approval.InputJson;
        if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("questions", out var questions)
            || questions.ValueKind != JsonValueKind.Array || questions.GetArrayLength() != 1)
        {
            return null;
        }

        var question = questions[0];
        if (question.ValueKind != JsonValueKind.Object || (question.TryGetProperty("multiSelect", out var many) && many.ValueKind == JsonValueKind.True)
            || !question.TryGetProperty("options", out var options) || options.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var labels = options.EnumerateArray().Select(o => o.ValueKind == JsonValueKind.Object ? ApprovalCall.Field(o, "label") : null).ToList();
        return labels.Count is >= 2 and <= MostChatChoices && labels.All(l => l is { Length: > 0 }) && labels.Distinct(StringComparer.Ordinal).Count() == labels.Count
            ? [.. labels.OfType<string>()]
            : null;
    }

    /// <summary>The approval as a chat shows it (cut to fit, with room for one more paragraph), and whether that shows the call whole.</summary>
    public static (string Text, bool Whole) Describe(Approval approval, string project, string? link, int maxTextLength)
    {
        var text = new StringBuilder();
        if (approval.Kind is ApprovalKind.Budget)
        {
            text.Append(Clean(ChatMessage.Shorten(approval.Title, 300))).Append('\n');
        }
        else
        {
            text.Append(Clean(approval.Tool)).Append(" wants to: ").Append(Clean(ChatMessage.Shorten(approval.Title, 300))).Append('\n');
        }

        var whole = ApprovalCall.Append(text, approval);
        text.Append('\n').Append(project).Append(" · session ").Append(approval.SessionId[..Math.Min(8, approval.SessionId.Length)]);
        if (link is not null)
        {
            text.Append('\n').Append(link);
        }

        // Room is kept for the notice that it is not whole.
        var shown = ChatMessage.Shorten(text.ToString(), maxTextLength - NotWholeNotice.Length - 4);
        // The title is the agent's to write, and a URL or path in it is read as much as the call below: it too must read as it is.
        return (shown, whole && shown.Length == text.Length && approval.Title.Length <= 300 && ApprovalCall.Readable(approval.Title) && ApprovalCall.Readable(shown));
    }

    public static string Outcome(Approval approval) => approval.Status switch
    {
        ApprovalStatus.Decided => (IsQuestion(approval)
            ? approval.Decision == Decisions.Deny ? "❌ Dismissed" : "💬 Answered"
            : approval.Decision switch
        {
            Decisions.AllowOnce => "✅ Allowed once",
            Decisions.AllowSession => "✅ Allowed for this session",
            Decisions.AllowAlways => "✅ Allowed always in this project",
            _ => "❌ Denied",
        }) + $" by {Clean(approval.DecidedBy ?? "someone")}" + (approval.Message is { Length: > 0 } message ? $": {Clean(ChatMessage.Shorten(message, 500))}" : "."),
        ApprovalStatus.Cancelled => "Withdrawn: the agent no longer asks (turn cancelled or session stopped).",
        ApprovalStatus.Interrupted => "Interrupted: the server stopped while it waited. If the agent asks again, a new message comes.",
        _ => approval.Status.ToWire(),
    };

    /// <summary>Agent-chosen text shown to a person deciding: no control characters or bidirectional overrides that could disguise it.</summary>
    public static string Clean(string text) => TerminalText.Clean(text) ?? "";

    private static bool IsQuestion(Approval approval) => approval.Kind is ApprovalKind.Question;
}
