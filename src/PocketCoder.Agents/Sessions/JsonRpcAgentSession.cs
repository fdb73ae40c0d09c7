using System.Text.Json;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Sessions;

/// <summary>
/// A session with an agent that speaks JSON-RPC on its stdin/stdout (Codex's app-server, ACP agents): the connection, which
/// fails what waits on it when the process exits, and the start with the agent's handshake.
/// </summary>
internal abstract class JsonRpcAgentSession : ProcessAgentSession
{
    /// <param name="stampVersion">Adds <c>"jsonrpc":"2.0"</c> to every message (ACP requires it; Codex omits it).</param>
    protected JsonRpcAgentSession(IAgentSink sink, string agentId, string agentName, bool stampVersion)
        : base(sink, agentId, agentName, appliesEditedInput: false) =>
        Rpc = new JsonRpcConnection((line, ct) => Process.WriteLineAsync(line, ct), stampVersion)
        {
            OnNotification = (method, parameters) => OnNotificationAsync(method, parameters),
            OnRequest = (id, method, parameters) => OnRequestAsync(id, method, parameters),
        };

    protected JsonRpcConnection Rpc { get; }

    /// <summary>A notification from the agent: its method and params.</summary>
    protected abstract Task OnNotificationAsync(string method, JsonElement parameters);

    /// <summary>A request from the agent, answered with its id; one not handled is refused (<see cref="JsonRpcConnection.RefuseAsync"/>).</summary>
    protected abstract Task OnRequestAsync(JsonElement id, string method, JsonElement parameters);

    /// <summary>Starts the agent's process and runs its handshake (see <see cref="ProcessAgentSession.StartAsync"/>).</summary>
    protected Task StartAsync(ProcessSpec spec, TimeSpan timeout, Func<CancellationToken, Task> handshake, CancellationToken cancellationToken) =>
        StartAsync(spec, Rpc.OnLineAsync, timeout, handshake, cancellationToken);

    protected override void OnProcessExited(int exitCode) => Rpc.Close($"{AgentName} exited (code {exitCode}).");
}
