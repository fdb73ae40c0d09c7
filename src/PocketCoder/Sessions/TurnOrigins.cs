using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions;

/// <summary>A session's turn a new session goes on from: the session, its project and agent, its turns' snapshots, and that turn's.</summary>
public sealed record TurnOrigin(Session Session, Project Project, IAgentAdapter Adapter, IReadOnlyList<TurnPoint> Points, TurnPoint Target);

/// <summary>
/// Where a rewind or a fork starts (<see cref="Rewinds"/>): a session's turn, and the conversation before it that the new session
/// carries on: the agent's own copy cut there where it can fork, else a new conversation whose first prompt summarises the earlier
/// turns; the original's instructions and MCP servers go with it.
/// </summary>
public sealed class TurnOrigins(Database database, SessionStore sessions, ProjectStore projects, AgentRegistry agents, SessionHistory history)
{
    /// <summary>The session's <paramref name="turn"/>; 409 when its agent is gone, 404 when it has no such turn.</summary>
    /// <param name="verb">What the new session does with it, as the 404 says it ("rewind to", "fork from").</param>
    public TurnOrigin Find(string sessionId, int turn, string verb)
    {
        var session = sessions.Get(sessionId);
        var project = projects.Get(session.ProjectId);
        var adapter = agents.Find(session.Agent)
            ?? throw ApiProblem.Conflict(ErrorCodes.AgentUnavailable, $"{session.Agent} is not an agent this server knows any more.");
        var points = Points(session.Id);
        var target = points.FirstOrDefault(p => p.Turn == turn) ?? throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
            $"Session {session.Id} has no turn {turn} to {verb} (turns are counted from 1; a project that is not a git repository has none).");
        return new TurnOrigin(session, project, adapter, points, target);
    }

    /// <summary>The session's turns as their reviews recorded them, oldest first.</summary>
    public IReadOnlyList<TurnPoint> Points(string sessionId) => database.Read(c => c.Query(
        "SELECT turn, before_tree, after_tree, resume_at FROM turn_reviews WHERE session_id = $s ORDER BY turn",
        r => new TurnPoint(r.GetInt32(0), r.GetString(1), r.NullableString(2), r.NullableString(3)), ("$s", sessionId)));

    /// <summary>
    /// The conversation before <paramref name="turn"/>: the agent's own cut there (a fork), or for an agent that cannot fork the
    /// first prompt of a new one, told what came before (nothing for the first turn); and the transcript's events before it.
    /// </summary>
    public (AgentFork? Fork, OwnerMessage? Summary, List<StoredEvent> Earlier) Conversation(IAgentAdapter adapter, Session session,
        IReadOnlyList<TurnPoint> points, int turn)
    {
        var earlier = history.Before(session.Id, turn);
        var fork = ForkOf(adapter, session, points, turn);
        var summary = fork is null && turn > 1 ? OwnerMessage.FromText(RewindSummary.Of(turn, earlier)) : null;
        return (fork, summary, earlier);
    }

    /// <summary>A forked conversation's earlier turns are the new session's history, and its agent starts on the copy.</summary>
    public void Carry(DbWrite write, string sessionId, AgentFork? fork, List<StoredEvent> earlier)
    {
        if (fork is not null)
        {
            history.Carry(write, sessionId, earlier);
            sessions.SetFork(write, sessionId, fork);
        }
    }

    /// <summary>The original's instructions and MCP servers go on in the new session, as its profile gave them.</summary>
    public SessionProfile? ProfileOf(Session session)
    {
        var instructions = sessions.Instructions(session.Id);
        var mcp = sessions.McpServers(session.Id);
        return instructions is null && mcp is null && session.Profile is null ? null : new SessionProfile(session.Profile ?? "", instructions, mcp);
    }

    /// <summary>Where the agent's own conversation can be cut before <paramref name="turn"/>, or null (it cannot fork, or it is the first turn).</summary>
    private static AgentFork? ForkOf(IAgentAdapter adapter, Session session, IReadOnlyList<TurnPoint> points, int turn) =>
        adapter.CanFork && turn > 1 && points.FirstOrDefault(p => p.Turn == turn - 1)?.ResumeAt is { } at ? new AgentFork(session.AgentSessionId, at) : null;
}
