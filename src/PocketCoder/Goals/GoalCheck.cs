using PocketCoder.Auth;
using PocketCoder.Workspace.Commands;

namespace PocketCoder.Goals;

/// <summary>What a goal's check said: met (exit 0), the outcome told apart from the next (exit and output), and a note for the owner.</summary>
/// <param name="Refused">It could not run on its setter's authority any more (the note says why): the goal waits for the owner.</param>
public sealed record GoalCheckResult(bool Met, string Outcome, string Note, bool Refused = false);

/// <summary>
/// Runs a goal's check command as the phone runs a command in a session's worktree (<see cref="CommandRunner"/>: its own
/// process group, its timeout, its output kept, recorded and ledgered as <c>command.run</c>), on the authority of whoever set
/// the goal, asked again each time: running a command of one's own is the right to a shell (<see cref="Access.Shell"/>). The
/// command is always the owner's text, never read from the repository; but what it runs (the project's tests and scripts)
/// the agent may have just written, after every turn with no new question, so in a sandboxed project it runs in the
/// session's sandbox, as the agent's own commands do, with no network at all.
/// </summary>
public sealed class GoalCheck(CommandRunner commands, Teams.Authority authority, Sessions.Sandboxing sandboxing, Workspace.WorkspaceRoots roots,
    Sessions.SessionStore sessions)
{
    /// <summary>A check is no agent: it brings no state folders, logins or configuration of one into its sandbox.</summary>
    private static readonly Agents.Processes.AgentState NoAgentState = new([], [], [], []);

    /// <summary>A check that runs longer is stopped, and counts as not met.</summary>
    public const int TimeoutSeconds = 15 * 60;

    private const int NoteChars = 2000;

    public async Task<GoalCheckResult> RunAsync(string projectId, string sessionId, Goal goal, CancellationToken cancellationToken)
    {
        if (authority.Check(goal.SetBy, projectId, new Teams.UseRoute(Access.Shell)) is { Allowed: false } refused)
        {
            return new GoalCheckResult(false, "refused", $"The check did not run: {refused.Reason}", Refused: true);
        }

        var request = new RunCommandRequest(goal.CheckCommand, TimeoutSeconds);
        var (folder, inWorktree) = FolderOf(projectId, sessionId);
        var sandbox = await SandboxAsync(projectId, sessionId, folder, cancellationToken).ConfigureAwait(false);
        Func<Agents.Processes.ProcessSpec, Agents.Processes.ProcessSpec>? confine = sandbox is null ? null : spec => sandbox.Wrap(spec, NoAgentState);
        var started = commands.Start(projectId, inWorktree ? sessionId : null, request, goal.SetBy, confine);

        if (commands.Live(started.Id) is { } run)
        {
            while (true)
            {
                var (_, exit, changed) = run.Since(long.MaxValue);
                if (exit is not null)
                {
                    break;
                }

                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var finished = commands.Get(started.Id);
        var tail = finished.OutputTail ?? "";
        tail = tail.Length > NoteChars ? tail[^NoteChars..] : tail;
        var exitSaid = finished.TimedOut ? $"timed out after {TimeoutSeconds / 60} min" : $"exit {finished.ExitCode?.ToString() ?? finished.Status}";
        return new GoalCheckResult(finished.ExitCode == 0 && !finished.TimedOut, GoalJudge.Outcome($"{exitSaid}\n{tail}"),
            $"`{goal.CheckCommand}`: {exitSaid}\n{tail}".TrimEnd());
    }

    /// <summary>Where the session works: its worktree, or (a session without one) the project's folder.</summary>
    private (string Folder, bool InWorktree) FolderOf(string projectId, string sessionId)
    {
        try
        {
            return (roots.Get(projectId, sessionId).Path, true);
        }
        catch (Errors.ApiProblem problem) when (problem.Code == Errors.ErrorCodes.WorktreeNotFound)
        {
            return (roots.Get(projectId, null).Path, false);
        }
    }

    /// <summary>
    /// The session's sandbox for the check (as its agent's, in its home, with its folder writable), without a way out: a test
    /// run that needs the network is the owner's to run. Null where the project runs unsandboxed.
    /// </summary>
    /// <exception cref="Errors.ApiProblem"><c>SANDBOX_UNAVAILABLE</c>: the project wants a sandbox and none works here (the goal
    /// then waits for the owner, never runs the check outside).</exception>
    private async Task<Agents.Processes.AgentSandbox?> SandboxAsync(string projectId, string sessionId, string folder, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, null);
        if (Sessions.Sandboxing.ModeOf(project) == Sessions.Sandboxing.None)
        {
            return null;
        }

        var sandbox = await sandboxing.ForAsync(project, sessions.Get(sessionId).Agent, folder, session: null, cancellationToken).ConfigureAwait(false);
        return sandbox is null ? null : sandbox with { Egress = null };
    }
}
