using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Sessions;

/// <summary>
/// A session handed back to the terminal (<see cref="Handoff"/>, the other way): PocketCoder's process stopped between turns,
/// the conversation brought to the owner's home, and the command that carries it on there.
/// </summary>
public sealed class HandBack(
    Database database,
    Projects.ProjectStore projects,
    SessionStore sessions,
    SessionManager manager,
    AgentRegistry agents,
    Ledger.LedgerStore ledger,
    Workspace.Worktrees.SessionWorktrees worktrees,
    Sandboxing sandboxing)
{
    /// <summary>Stops PocketCoder's process for the session, between turns, and says how to carry on in a terminal.</summary>
    public async Task<HandoffResponse> HandBackAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        var project = projects.Get(session.ProjectId);
        var catalog = agents.Find(session.Agent) as IAgentConversations
            ?? throw ApiProblem.Conflict(ErrorCodes.AgentUnavailable, $"{session.Agent} conversations cannot be carried on in a terminal from here.");
        var stopped = await manager.HandBackAsync(session.Id, actor, cancellationToken);
        // Where the conversation worked: the session's own worktree, if it has one.
        var folder = worktrees.Find(session.Id)?.Path ?? project.Path;
        // A sandboxed agent's conversation is in its home of PocketCoder's own: the terminal's agent finds it in the owner's.
        await Handoff.AskAsync(() => catalog.CopyConversationAsync(folder, session.AgentSessionId, sandboxing.HomeOf(session.Agent), toAgentHome: false,
            cancellationToken));
        database.Write(write => ledger.Append(write, actor.Name, "session.handed_back", session.Id,
            new JsonObject { ["conversation"] = session.AgentSessionId, ["deviceId"] = actor.Id }));
        var command = catalog.ResumeCommand(session.AgentSessionId);
        var shell = $"cd {Quote(folder)} && {string.Join(' ', command.Select(Quote))}";
        return new HandoffResponse(SessionResponse.From(stopped), command, folder, shell);
    }

    private static string Quote(string value) =>
        value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '=' or '@' or '+' or ',' or '%') ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
