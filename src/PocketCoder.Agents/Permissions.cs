using System.Text.Json;

namespace PocketCoder.Agents;

/// <summary>
/// An agent asks to run a tool. Adapters fill <see cref="Command"/> (execute-type tools) and
/// <see cref="Path"/> (read/edit tools) so the gatekeeper can match rules without knowing each agent's tool names.
/// </summary>
/// <param name="CanPause">The agent can be stopped while this waits and resumed on the decision, the decision then
/// applied to this very call (<see cref="PermissionDecision.PauseAgent"/>); only Claude Code's held gate hook can.</param>
/// <param name="CanEditInput">The agent runs the input an allow sends back in place of this one ("edit, then allow"). Where
/// it cannot, the gatekeeper refuses an edited allow and the phone offers none: the owner must never approve an edit
/// while the original runs. Claude Code and pi can.</param>
/// <param name="ParentToolCallId">Asked by a subagent: the main thread's call that started it (the card says which subagent asks).</param>
public sealed record PermissionRequest(
    string ToolCallId,
    string Tool,
    ToolKind Kind,
    string Title,
    JsonElement Input,
    string? Command,
    string? Path,
    string? PlanText,
    bool CanPause = false,
    bool CanEditInput = false,
    string? ParentToolCallId = null)
{
    /// <summary>
    /// Whether <paramref name="again"/> asks for the very call this one did: the same tool, kind, command and path, with the same
    /// input compared as JSON values (the order of an object's properties does not count, anything else does; the command and
    /// path too, because an ACP agent may carry its command in the call's title and send an empty input). Its id and title do
    /// not count: a resumed agent asks the call again under an id of its own.
    /// </summary>
    public bool AsksTheSameAs(PermissionRequest again) =>
        string.Equals(again.Tool, Tool, StringComparison.Ordinal) && again.Kind == Kind
        && string.Equals(again.Command, Command, StringComparison.Ordinal) && string.Equals(again.Path, Path, StringComparison.Ordinal)
        && JsonElement.DeepEquals(again.Input, Input);
}

/// <summary>The owner's answer to one of an agent's questions: the options chosen (their labels) and their own words.</summary>
public sealed record OwnerAnswer(IReadOnlyList<string> Selected, string? Other);

/// <summary>What the gatekeeper answers. <see cref="UpdatedInput"/> replaces the agent's input when set.</summary>
/// <param name="Answers">For a question: the owner's answers, one per question in order (the updated input carries them
/// too, in Claude's form); agents whose protocol takes the answers apart read them here.</param>
public sealed record PermissionDecision(bool Allow, string? Message = null, JsonElement? UpdatedInput = null, bool Remember = false,
    IReadOnlyList<OwnerAnswer>? Answers = null)
{
    public static PermissionDecision Deny(string message) => new(false, message);

    /// <summary>
    /// Not a decision: the owner has not decided yet and the agent is to stop until they do (it costs its whole memory
    /// meanwhile). Only ever given for a request that <see cref="PermissionRequest.CanPause"/>; it denies where misread.
    /// </summary>
    public static PermissionDecision PauseAgent { get; } = new(false, "The owner has not decided yet; the agent pauses until they do.") { PausesAgent = true };

    public bool PausesAgent { get; init; }

    /// <summary>The approval whose decision this is (null: decided without asking anyone).</summary>
    public string? ApprovalId { get; init; }

    /// <summary>The device whose decision settled the approval, and its name: a grant resting on it is asked of the authority again when used.</summary>
    public string? DeciderId { get; init; }

    public string? DeciderName { get; init; }

    /// <summary>What a call gets whose tool changed between the owner's decision and its run: they decided another call.</summary>
    public static PermissionDecision NotTheCallDecided { get; } = Deny("This is not the call the owner decided; nothing ran. Ask again.");
}

/// <summary>
/// The call a paused agent stopped on, as the owner saw it (<paramref name="Tool"/>, <paramref name="Input"/>), and their
/// decision on it, applied when the agent resumes: an allow runs that input (or the owner's edit), whatever the agent's
/// transcript says by then. Without the call as seen (it was never decided: a restart), only a deny is given.
/// </summary>
public sealed record PausedCall(string ToolCallId, string? Tool, JsonElement? Input, PermissionDecision Decision);
