namespace PocketCoder.Agents;

/// <summary>The agent cannot be started: not installed, or its executable failed to launch.</summary>
public sealed class AgentUnavailableException(string agentId, string message, Exception? inner = null)
    : Exception(message, inner)
{
    private const int TailLimit = 2000;

    public string AgentId { get; } = agentId;

    /// <summary>" Its last output: …" with the end of what an agent that did not start said on stderr; empty when it said nothing.</summary>
    internal static string LastOutput(string stderrTail) => stderrTail.Trim() is { Length: > 0 } tail
        ? $" Its last output: {(tail.Length > TailLimit ? tail[^TailLimit..] : tail)}"
        : "";
}
