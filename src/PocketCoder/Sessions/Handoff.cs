using System.Globalization;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions;

/// <param name="SessionId">The PocketCoder session carrying it on now (live or last), or null when none ever did.</param>
/// <param name="InUse">A process holds it right now: a terminal's, or PocketCoder's own (<c>SessionId</c>).</param>
public sealed record AgentConversationResponse(string Agent, string Id, string? Title, DateTimeOffset LastActivity, long Size, string? SessionId,
    bool InUse);

/// <param name="Command">What to run in <c>WorkingDirectory</c> to carry on in a terminal, as arguments.</param>
/// <param name="Shell">The same as one line for a POSIX shell, the folder included.</param>
public sealed record HandoffResponse(SessionResponse Session, IReadOnlyList<string> Command, string WorkingDirectory, string Shell);

/// <summary>
/// One conversation, desk and phone: the agent conversations a project folder has on this machine (begun in a terminal
/// or here), carried on in PocketCoder with their history shown, and handed back to the terminal with the command that
/// resumes them. Never two live processes on one conversation: PocketCoder's own are known, and a terminal's is found by
/// the conversation id on its command line (<c>--resume ID</c>, <c>--session-id ID</c>, as the printed command runs it).
/// </summary>
public sealed class Handoff(
    Database database,
    Projects.ProjectStore projects,
    SessionStore sessions,
    SessionManager manager,
    AgentRegistry agents,
    EventLog events,
    Ledger.LedgerStore ledger)
{
    public IReadOnlyList<AgentConversationResponse> List(string projectId)
    {
        var project = projects.Get(projectId);
        var owned = sessions.List(projectId).GroupBy(s => (s.Agent, s.AgentSessionId)).ToDictionary(g => g.Key, g => g.First());
        var running = TerminalProcesses.CommandLines();
        return [.. agents.All.OfType<IAgentConversations>().SelectMany(catalog =>
        {
            var agent = ((IAgentAdapter)catalog).Id;
            return catalog.ListConversations(project.Path).Select(c =>
            {
                var session = owned.GetValueOrDefault((agent, c.Id));
                var inUse = manager.LiveHolder(agent, c.Id) is not null || TerminalProcesses.Holding(running, c.Id) is not null;
                return new AgentConversationResponse(agent, c.Id, c.Title, c.LastActivity, c.Size, session?.Id, inUse);
            });
        }).OrderByDescending(c => c.LastActivity)];
    }

    /// <summary>Carries the conversation on here: a new session over it, its history imported, its agent resumed.</summary>
    public async Task<Session> ContinueAsync(string projectId, string agentId, string conversationId, Actor actor, CancellationToken cancellationToken)
    {
        var project = projects.Get(projectId);
        var catalog = agents.Find(agentId) as IAgentConversations
            ?? throw ApiProblem.BadRequest(ErrorCodes.UnknownAgent, $"'{agentId}' has no conversations PocketCoder can read and carry on.");
        var history = catalog.ReadConversation(project.Path, conversationId)
            ?? throw ApiProblem.NotFound(ErrorCodes.ConversationNotFound, $"No {agentId} conversation '{conversationId}' for this project's folder.");
        EnsureFree(agentId, conversationId, catalog);

        var title = catalog.ListConversations(project.Path).FirstOrDefault(c => c.Id == conversationId)?.Title;
        var session = database.Write(write =>
        {
            var created = sessions.Create(write, project.Id, agentId, null, SessionModes.Ask, title, conversationId);
            foreach (var entry in history.Entries)
            {
                Import(write, created.Id, entry);
            }

            events.Append(write, created.Id, new HistoryImportedEvent("terminal", history.Entries.Count, history.Skipped));
            ledger.Append(write, actor.Name, "session.continued", created.Id, new JsonObject
            {
                ["projectId"] = project.Id,
                ["agent"] = agentId,
                ["conversation"] = conversationId,
                ["imported"] = history.Entries.Count,
                ["deviceId"] = actor.Id,
            });
            return created;
        });

        // The agent's own resume (Claude --resume): gated from its first call on, like any session here.
        return await manager.ResumeAsync(session.Id, actor, cancellationToken);
    }

    /// <summary>Stops PocketCoder's process for the session, between turns, and says how to carry on in a terminal.</summary>
    public async Task<HandoffResponse> HandBackAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        var project = projects.Get(session.ProjectId);
        var catalog = agents.Find(session.Agent) as IAgentConversations
            ?? throw ApiProblem.Conflict(ErrorCodes.AgentUnavailable, $"{session.Agent} conversations cannot be carried on in a terminal from here.");
        if (manager.IsBusy(session.Id))
        {
            throw ApiProblem.Conflict(ErrorCodes.SessionBusy,
                "The agent is in the middle of a turn or waiting for a decision: let it finish (or stop the turn), then hand it back.");
        }

        var stopped = await manager.StopAsync(session.Id, actor, cancellationToken);
        database.Write(write => ledger.Append(write, actor.Name, "session.handed_back", session.Id,
            new JsonObject { ["conversation"] = session.AgentSessionId, ["deviceId"] = actor.Id }));
        var command = catalog.ResumeCommand(session.AgentSessionId);
        var shell = $"cd {Quote(project.Path)} && {string.Join(' ', command.Select(Quote))}";
        return new HandoffResponse(SessionResponse.From(stopped), command, project.Path, shell);
    }

    private void EnsureFree(string agentId, string conversationId, IAgentConversations catalog)
    {
        if (manager.LiveHolder(agentId, conversationId) is { } holder)
        {
            throw ApiProblem.Conflict(ErrorCodes.ConversationInUse,
                $"Session {holder.Id} here is carrying this conversation on already: open it, or hand it back first.");
        }

        if (TerminalProcesses.Holding(TerminalProcesses.CommandLines(), conversationId) is { } process)
        {
            throw ApiProblem.Conflict(ErrorCodes.ConversationInUse,
                $"A process on this machine holds the conversation (pid {process.Pid}: {process.Name}). Quit it in its terminal, then continue here.");
        }
    }

    private void Import(DbWrite write, string sessionId, HistoryEntry entry)
    {
        switch (entry)
        {
            case HistoryUserText user:
                events.Append(write, sessionId, new UserMessageEvent(user.Text, "terminal"));
                break;
            case HistoryAssistantText assistant:
                events.Append(write, sessionId, new MessageEvent(assistant.Text));
                break;
            case HistoryToolCall call:
                events.Append(write, sessionId, new ToolCallEvent(call.ToolCallId, call.Tool, call.Kind.ToWire(), call.Title, call.Input));
                break;
            case HistoryToolResult result:
                var truncated = result.Content.Length > SessionRunner.ToolResultLimit;
                events.Append(write, sessionId, new ToolResultEvent(result.ToolCallId,
                    truncated ? result.Content[..SessionRunner.ToolResultLimit] : result.Content, result.IsError, truncated));
                break;
        }
    }

    private static string Quote(string value) =>
        value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '=') ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>Other processes on this machine, by their command lines (Linux <c>/proc</c>; elsewhere none are seen).</summary>
internal static class TerminalProcesses
{
    public sealed record Running(int Pid, string Name, IReadOnlyList<string> Arguments);

    public static IReadOnlyList<Running> CommandLines()
    {
        if (!Directory.Exists("/proc"))
        {
            return [];
        }

        var own = Environment.ProcessId;
        var found = new List<Running>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == own)
            {
                continue;
            }

            try
            {
                // PocketCoder's own agents are known without this; a child of ours stopping is not a terminal's.
                if (File.ReadLines(Path.Combine(directory, "status")).FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal)) is { } parent
                    && int.TryParse(parent[5..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) && ppid == own)
                {
                    continue;
                }

                var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (arguments.Length > 0)
                {
                    found.Add(new Running(pid, Path.GetFileName(arguments[0]), arguments));
                }
            }
            catch (IOException)
            {
                // Gone since it was listed.
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's: not a terminal of the owner's.
            }
        }

        return found;
    }

    /// <summary>The process that names this conversation as an argument of its own (never a mere mention inside one).</summary>
    public static Running? Holding(IReadOnlyList<Running> processes, string conversationId) =>
        processes.FirstOrDefault(p => p.Arguments.Skip(1).Any(a => a == conversationId || a.EndsWith("=" + conversationId, StringComparison.Ordinal)));
}
