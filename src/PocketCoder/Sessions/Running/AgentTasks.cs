using System.Collections.Concurrent;
using PocketCoder.Agents;

namespace PocketCoder.Sessions.Running;

/// <summary>The agent's tasks (subagents, background commands) that have started and not ended: those the owner may stop one by one.</summary>
internal sealed class AgentTasks
{
    private readonly ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);

    public void Update(AgentTaskUpdate task) =>
        _ = task.Status == AgentTaskStatuses.Running ? _running.TryAdd(task.TaskId, 0) : _running.TryRemove(task.TaskId, out _);

    public bool Runs(string taskId) => _running.ContainsKey(taskId);

    public bool Any => !_running.IsEmpty;

    /// <summary>Its tasks ended with the process (a resumed one knows none of their ids).</summary>
    public void ProcessExited() => _running.Clear();
}
