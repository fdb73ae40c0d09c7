using System.Text.Json;
using static PocketCoder.Agents.Codex.CodexUpdates;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Codex's requests of the client as the questions the gatekeeper and the owner answer, and the owner's answers back in
/// Codex's shape: pure functions of what Codex asked.
/// </summary>
internal static class CodexRequests
{
    /// <summary>Codex's tool for asking the owner questions; its requests come as item/tool/requestUserInput.</summary>
    internal const string UserInputTool = "request_user_input";

    public static PermissionRequest Command(CommandExecutionRequestApprovalParams asked)
    {
        var command = CodexCommand.Script(asked.Command ?? "");
        // A network prompt comes as a command approval with no command: the host it asks for is the question, shown
        // and remembered as such (never as an empty command, which "always allow" would turn into every command).
        var network = asked.NetworkApprovalContext;
        var subject = command.Length > 0 ? command : network?.Host is { } host ? $"network {network.Protocol} {host}" : null;
        var input = new CommandApprovalInput(command, asked.Cwd, asked.Reason, asked.Kind is "command" ? null : asked.Kind, network);
        return new PermissionRequest(asked.ItemId ?? "", ExecTool, ToolKind.Execute, subject ?? "a command Codex did not name", CodexWire.Input(input),
            subject, null, null);
    }

    /// <param name="started">The file change's item/started: the approval itself does not say what changes.</param>
    public static PermissionRequest FileChange(FileChangeRequestApprovalParams asked, FileChangeItem? started)
    {
        var changes = Changes(started?.Changes ?? default);
        var paths = Paths(changes);
        var title = paths.Count switch
        {
            0 => asked.GrantRoot is { } root ? $"Write under {root}" : "Change files",
            1 => $"Edit {paths[0]}",
            _ => $"Edit {paths[0]} and {paths.Count - 1} more",
        };
        return new PermissionRequest(asked.ItemId ?? "", PatchTool, ToolKind.Edit, title,
            CodexWire.Input(new FileChangeApprovalInput(changes, asked.Reason, asked.GrantRoot)), null, paths.FirstOrDefault() ?? asked.GrantRoot, null);
    }

    /// <summary>
    /// Codex's request_user_input (its questions, each with an id, a header and optional options; one answer each) in the
    /// shape the gate and the phone know. Null when it holds no question.
    /// </summary>
    public static PermissionRequest? Questions(ToolRequestUserInputParams asked)
    {
        var questions = Asked(asked).Select(q => new QuestionCard(q.Question, q.Header, [.. (q.Options ?? []).Where(o => o.Label is not null)],
            false, q.Id, q.IsSecret)).ToList();

        // Answers go back keyed by id: a question without one, or two sharing one, would have its answer lost or given to
        // the other. Such a form is refused (answered as not handled), never shown.
        if (questions.Count == 0 || questions.Any(q => string.IsNullOrEmpty(q.Id))
            || questions.DistinctBy(q => q.Id, StringComparer.Ordinal).Count() != questions.Count)
        {
            return null;
        }

        return AgentQuestions.Request(asked.ItemId ?? "", UserInputTool, new QuestionCards(questions));
    }

    /// <summary>The owner's answers, one per question id: each chosen label, then the owner's own words, as Codex's own prompt gives them.</summary>
    public static ToolRequestUserInputResponse Answers(ToolRequestUserInputParams asked, PermissionDecision decision)
    {
        var answers = new Dictionary<string, ToolRequestUserInputAnswer>(StringComparer.Ordinal);
        foreach (var (question, index) in Asked(asked).Select((q, i) => (q, i)))
        {
            List<string> given = decision.Answers is { } owner && index < owner.Count
                ? [.. owner[index].Selected, .. owner[index].Other is { } own ? [own] : Array.Empty<string>()]
                : AgentQuestions.Answer(decision.UpdatedInput, question.Question!) is { } joined ? [joined] : [];
            if (question.Id is { } id && given.Count > 0)
            {
                answers[id] = new ToolRequestUserInputAnswer(given);
            }
        }

        return new ToolRequestUserInputResponse(answers);
    }

    /// <summary>
    /// The owner's answers to an MCP form as the content it asked for. A dismissal declines it, and so does an answer that
    /// does not fit the form (a word where a number was asked).
    /// </summary>
    public static McpServerElicitationRequestResponse FormAnswer(JsonElement form, PermissionDecision decision) =>
        (decision.Allow ? McpForm.Content(form, decision.Answers) : null) is { } content ? new("accept", content) : new("decline");

    /// <summary>
    /// An MCP tool call Codex asks about: the tool as <c>mcp__SERVER__TOOL</c> (as Claude names them), its arguments as
    /// input. Codex forwards a server's own elicitation with its <c>_meta</c> untouched, so a hostile server could dress a
    /// form up as Codex's approval of a tool call (which a rule or a trusted mode would then accept, unseen): it counts as
    /// one only when it matches a call Codex has started (<c>item/started</c> mcpToolCall: same server, tool and arguments)
    /// and not yet asked about (arguments compared value by value, whatever their keys' order). Anything else is the
    /// server's form, shown to the owner with its message.
    /// </summary>
    /// <param name="unasked">The MCP tool calls started and not yet asked about.</param>
    public static PermissionRequest? McpToolCall(McpServerElicitationRequestParams asked, IEnumerable<McpToolCallItem> unasked)
    {
        if (asked.Meta is not { ApprovalKind: "mcp_tool_call", ToolName: { Length: > 0 } tool } meta || asked.ServerName is not { Length: > 0 } server
            || server.Contains("__", StringComparison.Ordinal) || server.EndsWith('_'))
        {
            // A server name that would not split back out of mcp__SERVER__TOOL (and so could borrow another server's
            // rules) is never a tool call here: the owner sees the request as the server's form.
            return null;
        }

        var arguments = meta.ToolParams.ValueKind == JsonValueKind.Object ? meta.ToolParams : Arguments(default);
        return unasked.FirstOrDefault(call => call.Server == server && call.Tool == tool && JsonElement.DeepEquals(Arguments(call.Arguments), arguments)) is { Id: { } id }
            ? new PermissionRequest(id, McpTool(server, tool), ToolKind.Mcp, $"{server}/{tool}", arguments, null, null, null)
            : null;
    }

    private static IEnumerable<ToolRequestUserInputQuestion> Asked(ToolRequestUserInputParams asked) =>
        (asked.Questions ?? []).Where(q => q.Question is not null);
}
