namespace PocketCoder.Agents;

/// <summary>The agent cannot be started: not installed, or its executable failed to launch.</summary>
public sealed class AgentUnavailableException(string agentId, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string AgentId { get; } = agentId;
}
