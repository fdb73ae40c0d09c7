using System.Text;
using System.Text.Json;
using PocketCoder.Approvals;
using PocketCoder.Errors;

namespace PocketCoder.Bridges;

/// <summary>Approvals as messages with buttons: shown in every chat bound to the session's project, decided by a linked person's press.</summary>
public sealed partial class ChatBridge
{
    /// <summary>After a (re)start: every approval message not yet shown settled is sent or brought up to date, and
    /// every pending approval of a bound project gets its message.</summary>
    private void CatchUpApprovals()
    {
        foreach (var open in Store.OpenApprovalMessages(definition.Id))
        {
            ShowApproval(open.ChatId, open.ApprovalId);
        }

        foreach (var approval in services.Approvals.List(ApprovalStatuses.Pending, null))
        {
            ApprovalRequested(approval.Id, approval.ProjectId);
        }
    }

    private void ApprovalRequested(string approvalId, string projectId)
    {
        foreach (var channel in _channels.Where(c => c.ProjectId == projectId))
        {
            ShowApproval(channel.ChatId, approvalId);
        }
    }

    /// <summary>After chats were unbound: their open approval messages lose their buttons and say why.</summary>
    private void RefreshUnboundApprovals()
    {
        foreach (var (_, post) in _approvalPosts)
        {
            if (!_channels.Any(c => c.ChatId == post.ChatId))
            {
                _outbox.Show(post);
            }
        }
    }

    /// <summary>A chat just bound: what its project's agents wait for now comes here too.</summary>
    private void ShowPendingApprovals(string chatId, string projectId)
    {
        foreach (var approval in services.Approvals.List(ApprovalStatuses.Pending, null).Where(a => a.ProjectId == projectId))
        {
            ShowApproval(chatId, approval.Id);
        }
    }

    private void ApprovalResolved(string approvalId)
    {
        foreach (var (key, post) in _approvalPosts)
        {
            if (key.EndsWith("/" + approvalId, StringComparison.Ordinal))
            {
                _outbox.Show(post);
            }
        }
    }

    /// <summary>The approval's message in the chat: one post per chat and approval, rendered from the approval as it now stands.</summary>
    private void ShowApproval(string chatId, string approvalId)
    {
        var record = Store.ApprovalMessage(definition.Id, chatId, approvalId);
        var post = _approvalPosts.GetOrAdd($"{chatId}/{approvalId}", _ => new ChatPost(chatId, () => RenderApproval(record))
        {
            Urgent = true,
            MessageId = record.MessageId,
            Sent = messageId => Store.ApprovalMessageSent(record, messageId),
        });
        _outbox.Show(post);
    }

    private ChatMessage RenderApproval(ApprovalMessage record)
    {
        if (services.Approvals.Find(record.ApprovalId) is not { } approval)
        {
            return new ChatMessage("This approval is gone.");
        }

        var (shown, whole) = Describe(approval);
        var bound = _channels.Any(c => c.ChatId == record.ChatId && c.ProjectId == approval.ProjectId);
        if (approval.Status != ApprovalStatuses.Pending || !bound)
        {
            // Settled once shown: after a restart there is nothing left to bring up to date, and nothing to keep here.
            Store.ApprovalMessageSettled(record);
            _approvalPosts.TryRemove($"{record.ChatId}/{record.ApprovalId}", out _);
            return new ChatMessage(shown + "\n\n" + (bound ? Outcome(approval) : "This chat no longer steers the project: decide in the app."));
        }

        ChatButton Button(string label, string action) => new(label, $"{record.Nonce}:{action}");
        if (approval.Kind == Agents.ToolKinds.ToWire(Agents.ToolKind.Question))
        {
            // One question with one answer among a few options, all shown whole: a button per option. Anything more (several
            // questions, several answers, the owner's own words) is answered in the app; here it can be dismissed.
            if (whole && ChatChoices(approval) is { } choices)
            {
                return new ChatMessage(shown + "\n\n❓ Choose one, or answer in the app in your own words.",
                    [.. choices.Select((label, i) => (IReadOnlyList<ChatButton>)[Button(Shorten(Clean(label), 40), $"{OptionAction}{i}")]),
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

        // A session grant covers every later call of the tool, not only ones like this: the button says so.
        var everyCall = $"All {Shorten(Clean(approval.Tool), 24)} this session";
        return new ChatMessage(shown, [[Button("Allow once", AllowOnceAction), Button(everyCall, AllowSessionAction)], deny]);
    }

    /// <summary>Most options a chat offers as buttons for a question.</summary>
    private const int MostChatChoices = 4;

    /// <summary>
    /// The option labels of a question a chat can answer with buttons: exactly one question, one answer, 2 to
    /// <see cref="MostChatChoices"/> distinct options. Null for anything else.
    /// </summary>
    private static IReadOnlyList<string>? ChatChoices(Approval approval)
    {
        using var document = JsonDocument.Parse(approval.Input);
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("questions", out var questions)
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
    private (string Text, bool Whole) Describe(Approval approval)
    {
        var text = new StringBuilder();
        var project = services.Projects.Find(approval.ProjectId)?.Name ?? approval.ProjectId;
        text.Append(Clean(approval.Tool)).Append(" wants to: ").Append(Clean(Shorten(approval.Title, 300))).Append('\n');
        var whole = ApprovalCall.Append(text, approval);
        text.Append('\n').Append(project).Append(" · session ").Append(approval.SessionId[..Math.Min(8, approval.SessionId.Length)]);
        if (AppLink(approval.SessionId) is { } link)
        {
            text.Append('\n').Append(link);
        }

        var shown = FitText(text.ToString());
        // The title is the agent's to write, and a URL or path in it is read as much as the call below: it too must read as it is.
        return (shown, whole && shown.Length == text.Length && approval.Title.Length <= 300 && ApprovalCall.Readable(approval.Title) && ApprovalCall.Readable(shown));
    }

    private const string NotWholeNotice = "⚠ Not shown here whole, so it can only be denied here: allow it in the app, where it is.";

    /// <summary>The text cut to what the platform shows, with room kept for the notice that it is not whole.</summary>
    private string FitText(string text) => Shorten(text, platform.MaxTextLength - NotWholeNotice.Length - 4);

    /// <summary>Agent-chosen text shown to a person deciding: no control characters or bidirectional overrides that could disguise it.</summary>
    private static string Clean(string text) => Cli.TerminalText.Clean(text) ?? "";

    private static string Outcome(Approval approval) => approval.Status switch
    {
        ApprovalStatuses.Decided => (approval.Kind == Agents.ToolKinds.ToWire(Agents.ToolKind.Question)
            ? approval.Decision == Decisions.Deny ? "❌ Dismissed" : "💬 Answered"
            : approval.Decision switch
        {
            Decisions.AllowOnce => "✅ Allowed once",
            Decisions.AllowSession => "✅ Allowed for this session",
            Decisions.AllowAlways => "✅ Allowed always in this project",
            _ => "❌ Denied",
        }) + $" by {Clean(approval.DecidedBy ?? "someone")}" + (approval.Message is { Length: > 0 } message ? $": {Clean(Shorten(message, 500))}" : "."),
        ApprovalStatuses.Cancelled => "Withdrawn: the agent no longer asks (turn cancelled or session stopped).",
        ApprovalStatuses.Interrupted => "Interrupted: the server stopped while it waited. If the agent asks again, a new message comes.",
        _ => approval.Status,
    };

    private async Task PressAsync(ChatInput input, BridgePerson? person, CancellationToken cancellationToken)
    {
        var parts = input.ButtonData!.Split(':');
        var record = parts.Length == 2 ? Store.PressedApproval(definition.Id, input.ChatId, input.MessageId, parts[0]) : null;
        if (person is null)
        {
            Ignore("button press", input.UserId);
            if (MayAnswerStranger(input))
            {
                await AnswerAsync(input.PressId!, "Only people linked to PocketCoder decide here (send me /pair CODE in a direct message).", cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (record is not null && services.Approvals.Find(record.ApprovalId) is { } pressed
            && !_channels.Any(c => c.ChatId == input.ChatId && c.ProjectId == pressed.ProjectId))
        {
            // The chat was unbound (or its binder revoked) since the message was sent: its buttons decide nothing now.
            await AnswerAsync(input.PressId!, "This chat no longer steers that project: decide in the app.", cancellationToken).ConfigureAwait(false);
            ShowApproval(input.ChatId, record.ApprovalId);
            return;
        }

        if (record is null)
        {
            await AnswerAsync(input.PressId!, "This button is not one of PocketCoder's current ones.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (parts[1] is AllowOnceAction or AllowSessionAction && services.Approvals.Find(record.ApprovalId) is { } asked && !Describe(asked).Whole)
        {
            // Not offered on such a message; a client that sends it anyway (forged button data) is told the same.
            await AnswerAsync(input.PressId!, "Not shown here whole: allow it in the app.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (parts[1].StartsWith(OptionAction, StringComparison.Ordinal))
        {
            AnswerWithOption(input, record.ApprovalId, parts[1][OptionAction.Length..], person);
            return;
        }

        switch (parts[1])
        {
            case AllowOnceAction:
                Decide(input.ChatId, record.ApprovalId, Decisions.AllowOnce, null, person, input.PressId);
                break;
            case AllowSessionAction:
                Decide(input.ChatId, record.ApprovalId, Decisions.AllowSession, null, person, input.PressId);
                break;
            case DenyAction:
                Decide(input.ChatId, record.ApprovalId, Decisions.Deny, null, person, input.PressId);
                break;
            case DenyWithReasonAction when services.Approvals.Find(record.ApprovalId) is { Status: ApprovalStatuses.Pending }:
                _reasons[(input.ChatId, input.UserId)] = (record.ApprovalId, services.Clock.GetUtcNow() + ReasonWait);
                await AnswerAsync(input.PressId!, "Send the reason as your next message.", cancellationToken).ConfigureAwait(false);
                // A reply, so that it reaches the bot even where it sees only commands and replies in a group.
                _outbox.Say(input.ChatId, $"{Clean(person.UserName)}: reply with the reason the agent is told.", asksReply: true);
                break;
            default:
                await AnswerAsync(input.PressId!, "Already settled.", cancellationToken).ConfigureAwait(false);
                ShowApproval(input.ChatId, record.ApprovalId);
                break;
        }
    }

    /// <summary>
    /// A press of one of a question's option buttons: answered with that option, checked as any answer is (the question
    /// must still offer buttons: one question, one answer, shown whole), as the linked person's device.
    /// </summary>
    private void AnswerWithOption(ChatInput input, string approvalId, string index, BridgePerson person)
    {
        string notice;
        try
        {
            var approval = services.Approvals.Find(approvalId) ?? throw ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, "No such question.");
            if (approval.Status != ApprovalStatuses.Pending)
            {
                throw ApiProblem.Conflict(ErrorCodes.ApprovalAlreadyDecided, Outcome(approval));
            }

            if (ChatChoices(approval) is not { } choices || !Describe(approval).Whole || !int.TryParse(index, out var chosen) || chosen < 0 || chosen >= choices.Count)
            {
                // Never offered on this message (a modified client's button data): answered in the app only.
                throw ApiProblem.Validation("Not an option here: answer it in the app.");
            }

            var request = new AnswerRequest([new QuestionAnswer([choices[chosen]], null)]);
            services.Gatekeeper.Answer(approvalId, QuestionAnswers.Apply(approval, request), QuestionAnswers.Owner(request), person.Actor);
            notice = $"Answered: {Shorten(Clean(choices[chosen]), 60)}.";
        }
        catch (ApiProblem problem)
        {
            notice = services.Approvals.Find(approvalId) is { Status: not ApprovalStatuses.Pending } settled ? Outcome(settled) : problem.Message;
            ShowApproval(input.ChatId, approvalId);
        }

        if (input.PressId is { } pressId)
        {
            _ = AnswerAsync(pressId, notice, CancellationToken.None);
        }
    }

    /// <summary>Decides as the linked person's device; the first decision from any device wins, later ones say who decided.</summary>
    private void Decide(string chatId, string approvalId, string decision, string? message, BridgePerson person, string? pressId)
    {
        string notice;
        try
        {
            services.Gatekeeper.Decide(approvalId, decision, message, null, person.Actor);
            notice = decision == Decisions.Deny ? "Denied." : "Allowed.";
        }
        catch (ApiProblem problem)
        {
            notice = services.Approvals.Find(approvalId) is { Status: not ApprovalStatuses.Pending } settled
                ? Outcome(settled)
                : problem.Message;
            ShowApproval(chatId, approvalId);
            if (pressId is null)
            {
                _outbox.Say(chatId, notice);
            }
        }

        if (pressId is not null)
        {
            _ = AnswerAsync(pressId, notice, CancellationToken.None);
        }
    }

    private async Task AnswerAsync(string pressId, string notice, CancellationToken cancellationToken)
    {
        try
        {
            await platform.AnswerPressAsync(pressId, Shorten(notice, 190), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsPlatformProblem(exception))
        {
            // The press was acted on; only its spinner stays a moment longer.
            BridgeLog.Refused(logger, exception.Message);
        }
    }
}
