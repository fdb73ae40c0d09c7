using PocketCoder.Agents;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions.Running;

/// <summary>Where mapped session events go: the session's event log, or a test's list.</summary>
public interface ISessionEventTarget
{
    void Append<T>(T data) where T : ISessionEvent;
}

/// <summary>
/// What the transcript shows of an agent's event: the pure part of a session's sink. Events that change the session's own
/// state (a turn's end, usage with its cost, the agent's exit, its conversation id) are the runner's, and map to nothing here.
/// </summary>
public static class AgentEventMapper
{
    /// <summary>Tool output beyond this is cut in the event (the agent itself saw all of it).</summary>
    public const int ToolResultLimit = 64 * 1024;

    /// <summary>Appends the session event an agent event shows as; false for events this does not map.</summary>
    public static bool Map(AgentEvent agentEvent, ISessionEventTarget target)
    {
        switch (agentEvent)
        {
            case MessageDelta delta:
                target.Append(new MessageDeltaEvent(delta.Text));
                return true;
            case AssistantMessage message:
                target.Append(new MessageEvent(message.Text, message.ParentToolCallId));
                return true;
            case Thinking thinking:
                target.Append(new ThinkingEvent(thinking.Text, thinking.ParentToolCallId));
                return true;
            case ToolCall call:
                target.Append(new ToolCallEvent(call.ToolCallId, call.Tool, call.Kind.ToWire(), call.Title, call.Input.Clone(), call.ParentToolCallId));
                return true;
            case ToolCallUpdated updated:
                target.Append(new ToolCallUpdatedEvent(updated.ToolCallId, updated.Title, updated.Input.Clone(), updated.InputMissing));
                return true;
            case ToolResult result:
                target.Append(ToolResultEventOf(result.ToolCallId, result.Content, result.IsError));
                return true;
            case AgentTaskUpdate task:
                target.Append(new TaskStatusEvent(task.ToolCallId, task.TaskId, task.TaskType, task.Status, task.Description, task.Summary));
                return true;
            case PlanUpdate plan:
                target.Append(new PlanEvent(plan.Entries));
                return true;
            case AgentError error:
                target.Append(new ErrorEvent(error.Message));
                return true;
            default:
                return false;
        }
    }

    /// <summary>Output the owner sees: an agent that sends it after its turn ended has carried on by itself.</summary>
    public static bool IsOutput(AgentEvent agentEvent) => agentEvent is MessageDelta or AssistantMessage or ToolCall or ToolCallUpdated;

    /// <summary>A tool's result as the transcript keeps it: cut at <see cref="ToolResultLimit"/>, and saying so.</summary>
    public static ToolResultEvent ToolResultEventOf(string toolCallId, string content, bool isError)
    {
        var truncated = content.Length > ToolResultLimit;
        return new ToolResultEvent(toolCallId, truncated ? content[..ToolResultLimit] : content, isError, truncated);
    }
}
