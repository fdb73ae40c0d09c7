using System.Globalization;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

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
/// resumes them. Never two live processes on one conversation: every session here that is not stopped holds its
/// conversation (a message can bring its agent back), and a terminal's process is found in <c>/proc</c> by the
/// conversation id on its command line (<c>--resume ID</c>, as the printed command runs it) or, for a <c>claude</c>
/// started without one, by working in the project's folder; that last guess can be overridden (<c>force</c>).
/// </summary>
public sealed class Handoff(
    Database database,
    Projects.ProjectStore projects,
    SessionStore sessions,
    SessionManager manager,
    AgentRegistry agents,
    SessionHistory sessionHistory,
    Ledger.LedgerStore ledger,
    ILogger<Handoff> logger)
{
    // One continue at a time: the check that nothing holds a conversation and the session that then holds it are one step.
    private readonly SemaphoreSlim _continuing = new(1, 1);

    /// <summary>Every agent's conversations for the project's folder, newest first; an agent that cannot be asked is left out.</summary>
    public async Task<IReadOnlyList<AgentConversationResponse>> ListAsync(string projectId, CancellationToken cancellationToken)
    {
        var project = projects.Get(projectId);
        var running = TerminalProcesses.CommandLines();
        var perAgent = await Task.WhenAll(agents.All.OfType<IAgentConversations>().Select(async catalog =>
        {
            var agent = ((IAgentAdapter)catalog).Id;
            IReadOnlyList<AgentConversation> conversations;
            try
            {
                conversations = await catalog.ListConversationsAsync(project.Path, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Not installed here, or it failed to answer (or answered nonsense): the others' conversations are still worth showing.
                logger.LogWarning("{Agent}'s conversations could not be listed: {Reason}", agent, exception.Message);
                return [];
            }

            return conversations.Select(c =>
            {
                var session = sessions.OfConversation(projectId, agent, c.Id);
                var inUse = sessions.Carrying(agent, c.Id).Count > 0 || TerminalProcesses.Holding(running, c.Id, null, null) is not null;
                return new AgentConversationResponse(agent, c.Id, c.Title, c.LastActivity, c.Size, session?.Id, inUse);
            });
        }));
        return [.. perAgent.SelectMany(c => c).OrderByDescending(c => c.LastActivity)];
    }

    /// <summary>Carries the conversation on here: a new session over it, its history imported, its agent resumed.</summary>
    /// <param name="force">Continue although a claude process works in the project's folder (it may be on another conversation).</param>
    public async Task<Session> ContinueAsync(string projectId, string agentId, string conversationId, bool force, Actor actor,
        CancellationToken cancellationToken)
    {
        return await _continuing.RunAsync(async () =>
        {
            var project = projects.Get(projectId);
            var catalog = agents.Find(agentId) as IAgentConversations
                ?? throw ApiProblem.BadRequest(ErrorCodes.UnknownAgent, $"'{agentId}' has no conversations PocketCoder can read and carry on.");
            var history = await AskAsync(() => catalog.ReadConversationAsync(project.Path, conversationId, cancellationToken))
                ?? throw ApiProblem.NotFound(ErrorCodes.ConversationNotFound, $"No {agentId} conversation '{conversationId}' for this project's folder.");
            EnsureFree(catalog, conversationId, force ? null : project.Path);

            var title = (await AskAsync(() => catalog.ListConversationsAsync(project.Path, cancellationToken)))
                .FirstOrDefault(c => c.Id == conversationId)?.Title;
            var session = database.Write(write =>
            {
                // The agent's own title for the conversation (OpenCode's, or its first prompt), shortened like a prompt.
                var created = sessions.Create(write, project.Id, agentId, null, SessionModes.Ask, title, conversationId, shortTitle: SessionTitles.Short(title),
                    startedBy: SessionStore.StarterOf(write, actor));
                sessionHistory.Import(write, created.Id, history);
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
            try
            {
                return await manager.ResumeAsync(session.Id, actor, cancellationToken);
            }
            catch (ApiProblem problem)
            {
                await manager.DiscardUnstartedAsync(session.Id, agentId, problem.Code, stoppedBy: actor);
                throw;
            }
        }, cancellationToken);
    }

    /// <summary>Asks the agent's conversations; an agent that cannot answer is a conflict with its reason.</summary>
    internal static async Task<T> AskAsync<T>(Func<Task<T>> ask)
    {
        try
        {
            return await ask();
        }
        catch (AgentUnavailableException exception)
        {
            throw ApiProblem.Conflict(ErrorCodes.AgentUnavailable, exception.Message);
        }
    }

    /// <param name="folder">Also refuse while the agent works in this folder (null: only a process naming the conversation).</param>
    private void EnsureFree(IAgentConversations catalog, string conversationId, string? folder)
    {
        var agentId = ((IAgentAdapter)catalog).Id;
        if (sessions.Carrying(agentId, conversationId).FirstOrDefault() is { } holder)
        {
            throw ApiProblem.Conflict(ErrorCodes.ConversationInUse,
                $"Session {holder.Id} here carries this conversation on already: open it, or hand it back first.");
        }

        if (TerminalProcesses.Holding(TerminalProcesses.CommandLines(), conversationId, folder, catalog.ProcessName) is { } process)
        {
            throw process.Named
                ? ApiProblem.Conflict(ErrorCodes.ConversationInUse,
                    $"A process on this machine holds the conversation (pid {process.Pid}: {process.Name}). Quit it in its terminal, then continue here.")
                : ApiProblem.Conflict(ErrorCodes.ConversationMaybeInUse,
                    $"{catalog.ProcessName} runs in this project's folder (pid {process.Pid}) and may be on this conversation. Quit it, or continue anyway (force=true) if it is on another.");
        }
    }
}

/// <summary>Other processes on this machine, by their command lines (Linux <c>/proc</c>; elsewhere none are seen).</summary>
internal static class TerminalProcesses
{
    /// <param name="Folder">Its working folder, when this user may read it.</param>
    public sealed record Running(int Pid, string Name, IReadOnlyList<string> Arguments, string? Folder);

    /// <summary>A holder, and whether it named the conversation (else it is the agent working in the folder).</summary>
    public sealed record Holder(int Pid, string Name, bool Named);

    /// <summary>Every process but PocketCoder's own and their descendants (an agent a session runs, and whatever it started).</summary>
    public static IReadOnlyList<Running> CommandLines()
    {
        if (!Directory.Exists("/proc"))
        {
            return [];
        }

        var parents = new Dictionary<int, int>();
        var found = new List<Running>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadLines(Path.Combine(directory, "status")).FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal)) is { } parent
                    && int.TryParse(parent[5..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var ppid))
                {
                    parents[pid] = ppid;
                }

                var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (arguments.Length > 0)
                {
                    found.Add(new Running(pid, Path.GetFileName(arguments[0]), arguments, Folder(directory)));
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

        // A terminal's process is nobody's here. PocketCoder's own agents are known without this, and so are the
        // processes they start (npm's codex and opencode run their native binary as a child of node).
        return [.. found.Where(p => !DescendsFrom(p.Pid, Environment.ProcessId, parents))];
    }

    /// <summary>
    /// Where it works, or null when that cannot be read: a native Codex marks itself undumpable, which hides its cwd even
    /// from its own user (its command line stays readable). An agent whose folder is unknown may be working anywhere.
    /// </summary>
    private static string? Folder(string directory)
    {
        try
        {
            return new DirectoryInfo(Path.Combine(directory, "cwd")).LinkTarget;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool DescendsFrom(int pid, int ancestor, Dictionary<int, int> parents)
    {
        // Walks up to init (pid 1, whose parent is 0); PocketCoder may be pid 1 itself, in a container.
        for (var hops = 0; hops < 64 && pid > 0; hops++)
        {
            if (pid == ancestor)
            {
                return true;
            }

            if (!parents.TryGetValue(pid, out pid))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// The process that names this conversation as an argument of its own (never a mere mention inside one), or, with
    /// <paramref name="folder"/>, the agent (<paramref name="processName"/>) working there: one started without an id
    /// (<c>claude</c>, <c>claude -c</c>, <c>codex</c>) shows no other sign.
    /// </summary>
    public static Holder? Holding(IReadOnlyList<Running> processes, string conversationId, string? folder, string? processName)
    {
        if (processes.FirstOrDefault(p => p.Arguments.Skip(1).Any(a => a == conversationId || a.EndsWith("=" + conversationId, StringComparison.Ordinal)))
            is { } named)
        {
            return new Holder(named.Pid, named.Name, true);
        }

        return folder is not null && processName is not null
               && processes.FirstOrDefault(p => (p.Folder == folder || p.Folder is null) && Runs(p, processName)) is { } working
            ? new Holder(working.Pid, working.Name, false)
            : null;
    }

    // A native binary carries the agent's name; an npm package runs as node with its script (claude's in a claude-code folder).
    private static bool Runs(Running process, string processName) =>
        process.Name == processName
        || process.Arguments.Take(3).Any(a => Path.GetFileName(a) == processName
                                              || processName == "claude" && a.Contains("claude-code", StringComparison.Ordinal));
}
