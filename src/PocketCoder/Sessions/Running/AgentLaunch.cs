using PocketCoder.Agents;
using PocketCoder.Agents.Processes;
using PocketCoder.Projects;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// How a session's agent process is started: in its sandbox (or none), its conversation first brought to the home it resumes
/// from, with what is read afresh at every start (its mode, instructions, MCP servers, a fork's copy).
/// </summary>
internal sealed class AgentLaunch(Project project, IAgentAdapter adapter, string logDirectory, SessionServices services)
{
    /// <summary>The sandbox the start runs in (null: none), recorded on the session; a resume brings the conversation there first.</summary>
    /// <param name="egress">The session its connections out are put to: asked at its gate (as a call the agent asked for) and shown in its timeline.</param>
    public async Task<AgentSandbox?> PrepareAsync(Session session, bool resume, Network.IEgressSession egress, CancellationToken cancellationToken)
    {
        // project.Path is where this session works: the project's folder, or the session's worktree.
        var sandbox = await services.Sandboxing.ForAsync(project, adapter.Id, project.Path, egress, cancellationToken).ConfigureAwait(false);
        services.Sessions.SetSandbox(session.Id, sandbox is null ? Sandboxing.None : Sandboxing.Sandboxed);
        if (resume && adapter is IAgentConversations conversations)
        {
            await BringConversationAsync(conversations, session.AgentSessionId, sandbox is not null, cancellationToken).ConfigureAwait(false);
        }

        return sandbox;
    }

    /// <summary>A rewind's or fork's session starts its agent on a copy of the earlier conversation until a turn of its own ended.</summary>
    public AgentFork? ForkOf(Session session) => adapter.CanFork ? services.Sessions.ForkOf(session.Id) : null;

    public Task<IAgentSession> StartAsync(Session session, bool resume, PausedCall? paused, AgentSandbox? sandbox, AgentFork? fork,
        IAgentSink sink, CancellationToken cancellationToken)
    {
        var sessions = services.Sessions;
        var pauseAfter = services.Options.PauseWaitingAfter;
        var options = new AgentStartOptions(project.Path, session.Model, resume && fork is null ? session.AgentSessionId : null, session.AgentSessionId,
            sessions.Mode(session.Id), logDirectory, services.Logger, sandbox, sessions.Instructions(session.Id),
            pauseAfter > TimeSpan.Zero ? pauseAfter : null, paused,
            // Read at every start: a server's file changed since the owner enabled it is left out, never run unseen.
            services.Mcp.ForSession(project.Id, project.Path, adapter, sessions.McpServers(session.Id)), fork);
        return adapter.StartAsync(options, sink, cancellationToken);
    }

    /// <summary>
    /// What a session on the agent's default says of its models keeps the profile's and New session's pickers current, without
    /// starting the agent to ask. One with a model of its own says nothing of the default, and is not asked (Codex would ask its provider).
    /// </summary>
    public void ReportModels(Session session, IAgentSession agent)
    {
        if (session.Model is not { Length: > 0 })
        {
            _ = agent.Models.ContinueWith(said => services.Models.Report(adapter.Id, said.Result), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// A sandboxed agent keeps its conversations in its home of PocketCoder's own, an unsandboxed one in the owner's: the
    /// conversation is brought to the one this start uses where the other holds a newer copy (begun or carried on in a terminal,
    /// or run before the project's sandbox setting changed).
    /// </summary>
    private async Task BringConversationAsync(IAgentConversations conversations, string conversation, bool sandboxed, CancellationToken cancellationToken)
    {
        try
        {
            await conversations.CopyConversationAsync(project.Path, conversation, services.Sandboxing.HomeOf(adapter.Id),
                toAgentHome: sandboxed, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is AgentUnavailableException or IOException or UnauthorizedAccessException)
        {
            // Where it already is, the agent resumes it all the same; where not, the agent says it has no such conversation.
            services.Logger.LogWarning("The {Agent} conversation {Conversation} could not be brought to where it resumes: {Reason}", adapter.Id,
                conversation, exception.Message);
        }
    }
}
