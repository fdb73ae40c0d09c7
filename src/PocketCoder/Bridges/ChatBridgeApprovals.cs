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

        var text = new StringBuilder();
        var project = services.Projects.Find(approval.ProjectId)?.Name ?? approval.ProjectId;
        text.Append(Clean(approval.Tool)).Append(" wants to: ").Append(Clean(approval.Title)).Append('\n');
        AppendDetails(text, approval);
        text.Append("\n").Append(project).Append(" · session ").Append(approval.SessionId[..Math.Min(8, approval.SessionId.Length)]);
        if (AppLink(approval.SessionId) is { } link)
        {
            text.Append('\n').Append(link);
        }

        if (approval.Status != ApprovalStatuses.Pending)
        {
            text.Append("\n\n").Append(Outcome(approval));
            // Settled once shown: after a restart there is nothing left to bring up to date, and nothing to keep here.
            Store.ApprovalMessageSettled(record);
            _approvalPosts.TryRemove($"{record.ChatId}/{record.ApprovalId}", out _);
            return new ChatMessage(text.ToString());
        }

        ChatButton Button(string label, string action) => new(label, $"{record.Nonce}:{action}");
        return new ChatMessage(text.ToString(),
        [
            [Button("Allow once", AllowOnceAction), Button("For this session", AllowSessionAction)],
            [Button("Deny", DenyAction), Button("Deny with a reason", DenyWithReasonAction)],
        ]);
    }

    /// <summary>The exact call: the command as it will run, the path, the size of an edit; not only the agent's description.</summary>
    private static void AppendDetails(StringBuilder text, Approval approval)
    {
        using var document = JsonDocument.Parse(approval.Input);
        var input = document.RootElement;
        if (input.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (Field(input, "command") is { Length: > 0 } command)
        {
            text.Append("$ ").Append(Clean(Shorten(command, 2000))).Append('\n');
        }

        if ((Field(input, "file_path") ?? Field(input, "path") ?? Field(input, "filePath")) is { Length: > 0 } path && !approval.Title.Contains(path, StringComparison.Ordinal))
        {
            text.Append(Clean(path)).Append('\n');
        }

        var removed = Lines(Field(input, "old_string") ?? Field(input, "oldString"));
        var added = Lines(Field(input, "new_string") ?? Field(input, "newString") ?? Field(input, "content"));
        if (removed + added > 0)
        {
            text.Append($"+{added} −{removed} lines\n");
        }

        if (approval.Plan is { Length: > 0 } plan)
        {
            text.Append('\n').Append(Clean(Shorten(plan, 1500))).Append('\n');
        }
    }

    private static string? Field(JsonElement input, string name) =>
        input.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int Lines(string? text) => string.IsNullOrEmpty(text) ? 0 : text.Count(c => c == '\n') + (text.EndsWith('\n') ? 0 : 1);

    /// <summary>Agent-chosen text shown to a person deciding: no control characters or bidirectional overrides that could disguise it.</summary>
    private static string Clean(string text) => Cli.TerminalText.Clean(text) ?? "";

    private static string Outcome(Approval approval) => approval.Status switch
    {
        ApprovalStatuses.Decided => (approval.Decision switch
        {
            Decisions.AllowOnce => "✅ Allowed once",
            Decisions.AllowSession => "✅ Allowed for this session",
            Decisions.AllowAlways => "✅ Allowed always in this project",
            _ => "❌ Denied",
        }) + $" by {approval.DecidedBy}" + (approval.Message is { Length: > 0 } message ? $": {Clean(Shorten(message, 500))}" : "."),
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
            await AnswerAsync(input.PressId!, "Only people linked to PocketCoder decide here (send me /pair CODE in a direct message).", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (record is null)
        {
            await AnswerAsync(input.PressId!, "This button is not one of PocketCoder's current ones.", cancellationToken).ConfigureAwait(false);
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
                _outbox.Say(input.ChatId, $"{person.UserName}: your next message here is the reason the agent is told.");
                break;
            default:
                await AnswerAsync(input.PressId!, "Already settled.", cancellationToken).ConfigureAwait(false);
                ShowApproval(input.ChatId, record.ApprovalId);
                break;
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
