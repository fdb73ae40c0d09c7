using System.Text.Json;

namespace PocketCoder.Agents;

/// <summary>
/// An agent asks to run a tool. Adapters fill <see cref="Command"/> (execute-type tools) and
/// <see cref="Path"/> (read/edit tools) so the gatekeeper can match rules without knowing each agent's tool names.
/// </summary>
public sealed record PermissionRequest(
    string ToolCallId,
    string Tool,
    ToolKind Kind,
    string Title,
    JsonElement Input,
    string? Command,
    string? Path,
    string? PlanText);

/// <summary>The owner's answer to one of an agent's questions: the options chosen (their labels) and their own words.</summary>
public sealed record OwnerAnswer(IReadOnlyList<string> Selected, string? Other);

/// <summary>What the gatekeeper answers. <see cref="UpdatedInput"/> replaces the agent's input when set.</summary>
/// <param name="Answers">For a question: the owner's answers, one per question in order (the updated input carries them
/// too, in Claude's form); agents whose protocol takes the answers apart read them here.</param>
public sealed record PermissionDecision(bool Allow, string? Message = null, JsonElement? UpdatedInput = null, bool Remember = false,
    IReadOnlyList<OwnerAnswer>? Answers = null)
{
    public static PermissionDecision Deny(string message) => new(false, message);
}
