using System.Collections.Concurrent;
using PocketCoder.Approvals;
using PocketCoder.Errors;
using static PocketCoder.Bridges.ApprovalText;

namespace PocketCoder.Bridges;

/// <summary>
/// Approvals as messages with buttons: each pending approval of a bound project is shown in every chat bound to it, kept
/// up to date when it is decided anywhere, and decided through the <see cref="Gatekeeper"/> by a linked person's press.
/// </summary>
internal sealed class ApprovalPosts(BridgeContext bridge)
{
    private static readonly TimeSpan ReasonWait = TimeSpan.FromMinutes(10);

    /// <summary>One post per chat and approval, keyed <c>chat/approval</c>.</summary>
    private readonly ConcurrentDictionary<string, ChatPost> _posts = new(StringComparer.Ordinal);

    /// <summary>Who was asked for a reason to deny, in which chat: their next message there is it.</summary>
    private readonly ConcurrentDictionary<(string Chat, string User), (string ApprovalId, DateTimeOffset Until)> _reasons = new();

    private BridgeServices Services => bridge.Services;

    /// <summary>After a (re)start: every approval message not yet shown settled is sent or brought up to date, and
    /// every pending approval of a bound project gets its message.</summary>
    public void CatchUp()
    {
        foreach (var open in bridge.Store.OpenApprovalMessages(bridge.Definition.Id))
        {
            Show(open.ChatId, open.ApprovalId);
        }

        foreach (var approval in Services.Approvals.List(ApprovalStatus.Pending, null))
        {
            Requested(approval);
        }
    }

    /// <summary>An agent asks: the approval's message goes to every chat bound to its project.</summary>
    public void Requested(Approval approval)
    {
        foreach (var channel in bridge.Channels.Where(c => c.ProjectId == approval.ProjectId))
        {
            Show(channel.ChatId, approval.Id);
        }
    }

    /// <summary>Decided or withdrawn, from anywhere: its messages say how it ended and lose their buttons.</summary>
    public void Resolved(string approvalId)
    {
        foreach (var (key, post) in _posts)
        {
            if (key.EndsWith("/" + approvalId, StringComparison.Ordinal))
            {
                bridge.Outbox.Show(post);
            }
        }
    }

    /// <summary>The bound chats changed: read them again; the open approval messages of chats no longer bound lose their buttons and say why.</summary>
    public void ChannelsChanged()
    {
        bridge.ReloadChannels();
        foreach (var (_, post) in _posts)
        {
            if (!bridge.Channels.Any(c => c.ChatId == post.ChatId))
            {
                bridge.Outbox.Show(post);
            }
        }
    }

    /// <summary>A chat just bound: what its project's agents wait for now comes here too.</summary>
    public void ShowPending(string chatId, string projectId)
    {
        foreach (var approval in Services.Approvals.List(ApprovalStatus.Pending, null).Where(a => a.ProjectId == projectId))
        {
            Show(chatId, approval.Id);
        }
    }

    /// <summary>The approval's message in the chat: one post per chat and approval, rendered from the approval as it now stands.</summary>
    private void Show(string chatId, string approvalId)
    {
        var record = bridge.Store.ApprovalMessage(bridge.Definition.Id, chatId, approvalId);
        var post = _posts.GetOrAdd($"{chatId}/{approvalId}", _ => new ChatPost(chatId, () => Render(record))
        {
            Urgent = true,
            MessageId = record.MessageId,
            Sent = messageId => bridge.Store.ApprovalMessageSent(record, messageId),
        });
        bridge.Outbox.Show(post);
    }

    private ChatMessage Render(ApprovalMessage record)
    {
        if (Services.Approvals.Find(record.ApprovalId) is not { } approval)
        {
            return new ChatMessage("This approval is gone.");
        }

        var bound = bridge.Channels.Any(c => c.ChatId == record.ChatId && c.ProjectId == approval.ProjectId);
        if (approval.Status != ApprovalStatus.Pending || !bound)
        {
            // Settled once shown: after a restart there is nothing left to bring up to date, and nothing to keep here.
            bridge.Store.ApprovalMessageSettled(record);
            _posts.TryRemove($"{record.ChatId}/{record.ApprovalId}", out _);
        }

        return ApprovalText.Render(approval, record.Nonce, bound, ProjectName(approval), bridge.AppLink(approval.SessionId), bridge.Platform.MaxTextLength);
    }

    private bool ShownWhole(Approval approval) =>
        Describe(approval, ProjectName(approval), bridge.AppLink(approval.SessionId), bridge.Platform.MaxTextLength).Whole;

    private string ProjectName(Approval approval) => Services.Projects.Find(approval.ProjectId)?.Name ?? approval.ProjectId;

    public async Task PressAsync(ChatInput input, BridgePerson? person, CancellationToken cancellationToken)
    {
        var parts = input.ButtonData!.Split(':');
        var record = parts.Length == 2 ? bridge.Store.PressedApproval(bridge.Definition.Id, input.ChatId, input.MessageId, parts[0]) : null;
        if (person is null)
        {
            bridge.Ignore("button press", input.UserId);
            if (bridge.MayAnswerStranger(input))
            {
                await AnswerAsync(input.PressId!, "Only people linked to PocketCoder decide here (send me /pair CODE in a direct message).", cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (record is not null && Services.Approvals.Find(record.ApprovalId) is { } pressed
            && !bridge.Channels.Any(c => c.ChatId == input.ChatId && c.ProjectId == pressed.ProjectId))
        {
            // The chat was unbound (or its binder revoked) since the message was sent: its buttons decide nothing now.
            await AnswerAsync(input.PressId!, "This chat no longer steers that project: decide in the app.", cancellationToken).ConfigureAwait(false);
            Show(input.ChatId, record.ApprovalId);
            return;
        }

        if (record is null)
        {
            await AnswerAsync(input.PressId!, "This button is not one of PocketCoder's current ones.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (parts[1] is AllowOnceAction or AllowSessionAction && Services.Approvals.Find(record.ApprovalId) is { } asked && !ShownWhole(asked))
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

        var decision = parts[1] switch
        {
            AllowOnceAction => Decisions.AllowOnce,
            AllowSessionAction => Decisions.AllowSession,
            DenyAction => Decisions.Deny,
            _ => null,
        };
        if (decision is not null)
        {
            Decide(input.ChatId, record.ApprovalId, decision, null, person, input.PressId);
        }
        else if (parts[1] == DenyWithReasonAction && Services.Approvals.Find(record.ApprovalId) is { Status: ApprovalStatus.Pending })
        {
            _reasons[(input.ChatId, input.UserId)] = (record.ApprovalId, Services.Clock.GetUtcNow() + ReasonWait);
            await AnswerAsync(input.PressId!, "Send the reason as your next message.", cancellationToken).ConfigureAwait(false);
            // A reply, so that it reaches the bot even where it sees only commands and replies in a group.
            bridge.Outbox.Say(input.ChatId, $"{Clean(person.UserName)}: reply with the reason the agent is told.", asksReply: true);
        }
        else
        {
            await AnswerAsync(input.PressId!, "Already settled.", cancellationToken).ConfigureAwait(false);
            Show(input.ChatId, record.ApprovalId);
        }
    }

    /// <summary>
    /// The person's message after they pressed "Deny with a reason" in this chat is that reason, and denies (within
    /// <see cref="ReasonWait"/>). Any message asks only once: a command in between drops the question.
    /// </summary>
    public bool TookReason(ChatInput input, BridgePerson person, bool isCommand)
    {
        if (!_reasons.TryRemove((input.ChatId, input.UserId), out var asked) || asked.Until <= Services.Clock.GetUtcNow() || isCommand)
        {
            return false;
        }

        Decide(input.ChatId, asked.ApprovalId, Decisions.Deny, input.Text!.Trim(), person, pressId: null);
        return true;
    }

    /// <summary>
    /// A press of one of a question's option buttons: answered with that option, checked as any answer is (the question
    /// must still offer buttons: one question, one answer, shown whole), as the linked person's device.
    /// </summary>
    private void AnswerWithOption(ChatInput input, string approvalId, string index, BridgePerson person) => Act(input.ChatId, approvalId, input.PressId, () =>
    {
        var approval = Services.Approvals.Find(approvalId) ?? throw ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, "No such question.");
        if (approval.Status != ApprovalStatus.Pending)
        {
            throw ApiProblem.Conflict(ErrorCodes.ApprovalAlreadyDecided, Outcome(approval));
        }

        if (ChatChoices(approval) is not { } choices || !ShownWhole(approval) || !int.TryParse(index, out var chosen) || chosen < 0 || chosen >= choices.Count)
        {
            // Never offered on this message (a modified client's button data): answered in the app only.
            throw ApiProblem.Validation("Not an option here: answer it in the app.");
        }

        var request = new AnswerRequest([new QuestionAnswer([choices[chosen]], null)]);
        Services.Gatekeeper.Answer(approvalId, QuestionAnswers.Apply(approval, request), QuestionAnswers.Owner(request), person.Actor);
        return $"Answered: {ChatMessage.Shorten(Clean(choices[chosen]), 60)}.";
    });

    private void Decide(string chatId, string approvalId, string decision, string? message, BridgePerson person, string? pressId) => Act(chatId, approvalId, pressId, () =>
    {
        var decided = Services.Gatekeeper.Decide(approvalId, decision, message, null, person.Actor);
        return decision == Decisions.Deny ? "Denied."
            : decided.Status == ApprovalStatus.Pending ? $"Allowed by you: it needs {decided.Needed - 1} more person's allow." : "Allowed.";
    });

    /// <summary>
    /// Acts on the approval as the linked person's device and tells them how it went (on the button, or in the chat when
    /// they wrote). The first decision from any device wins; a later one is told who decided, and the message is brought up to date.
    /// </summary>
    private void Act(string chatId, string approvalId, string? pressId, Func<string> act)
    {
        string notice;
        try
        {
            notice = act();
        }
        catch (ApiProblem problem)
        {
            notice = Services.Approvals.Find(approvalId) is { Status: not ApprovalStatus.Pending } settled ? Outcome(settled) : problem.Message;
            Show(chatId, approvalId);
            if (pressId is null)
            {
                bridge.Outbox.Say(chatId, notice);
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
            await bridge.Platform.AnswerPressAsync(pressId, ChatMessage.Shorten(notice, 190), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (BridgeContext.IsPlatformProblem(exception))
        {
            // The press was acted on; only its spinner stays a moment longer.
            BridgeLog.Refused(bridge.Logger, exception.Message);
        }
    }
}
