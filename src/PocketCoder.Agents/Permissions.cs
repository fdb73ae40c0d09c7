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

/// <summary>What the gatekeeper answers. <see cref="UpdatedInput"/> replaces the agent's input when set.</summary>
public sealed record PermissionDecision(bool Allow, string? Message = null, JsonElement? UpdatedInput = null, bool Remember = false)
{
    public static PermissionDecision Deny(string message) => new(false, message);
}
