using PocketCoder.Auth;
using PocketCoder.Workspace.Commands;

namespace PocketCoder.Goals;

/// <summary>What a goal's check said: met (exit 0), the outcome told apart from the next (exit and output), and a note for the owner.</summary>
/// <param name="Refused">It could not run on its setter's authority any more (the note says why): the goal waits for the owner.</param>
public sealed record GoalCheckResult(bool Met, string Outcome, string Note, bool Refused = false);

/// <summary>
/// Runs a goal's check command exactly as the phone runs a command in a session's worktree (<see cref="CommandRunner"/>: its
/// own process group, its timeout, its output kept, recorded and ledgered as <c>command.run</c>), on the authority of whoever
/// set the goal, asked again each time: running a command of one's own is the right to a shell (<see cref="Access.Shell"/>).
/// The command is always the owner's text, never read from the repository.
/// </summary>
public sealed class GoalCheck(CommandRunner commands, Teams.Authority authority)
{
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
        CommandStarted started;
        try
        {
            started = commands.Start(projectId, sessionId, request, goal.SetBy);
        }
        catch (Errors.ApiProblem problem) when (problem.Code == Errors.ErrorCodes.WorktreeNotFound)
        {
            // A session without a worktree of its own works in the project's folder: the check runs there.
            started = commands.Start(projectId, null, request, goal.SetBy);
        }

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
}
