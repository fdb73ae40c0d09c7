using PocketCoder.Agents.Processes;
using PocketCoder.Errors;

namespace PocketCoder.Workspace.Git;

/// <summary>
/// Runs the git CLI in a project through <see cref="AgentProcess"/>. Arguments are a list (never a shell
/// string); the environment forbids prompts, pagers and editors, so git can only finish or fail.
/// </summary>
public sealed class GitCli
{
    public const int OutputLimit = 2 * 1024 * 1024;

    private static readonly Dictionary<string, string?> Environment = new(StringComparer.Ordinal)
    {
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["GIT_ASKPASS"] = "true",
        ["SSH_ASKPASS"] = "true",
        ["GIT_EDITOR"] = "true",
        ["GIT_SEQUENCE_EDITOR"] = "true",
        ["GIT_PAGER"] = "cat",
        ["PAGER"] = "cat",
        // Reads never take the index lock an agent's own git may be holding.
        ["GIT_OPTIONAL_LOCKS"] = "0",
        ["LC_ALL"] = "C",
    };

    // Before the subcommand: paths are literal (no globs, no ":(magic)"), no colours, unicode paths unquoted.
    private static readonly string[] GlobalArguments = ["--no-pager", "--literal-pathspecs", "-c", "core.quotepath=false", "-c", "color.ui=false"];

    /// <summary>Runs git; a failure is returned, not thrown, except "not a repository" and a timeout.</summary>
    public async Task<ProcessResult> RunAsync(string directory, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        TimeSpan? timeout = null)
    {
        var spec = new ProcessSpec("git", [.. GlobalArguments, .. arguments], directory, Environment, StderrLogPath: null);
        var result = await AgentProcess.RunAsync(spec, OutputLimit, timeout ?? TimeSpan.FromSeconds(30), cancellationToken);
        if (result.TimedOut)
        {
            throw new ApiProblem(StatusCodes.Status504GatewayTimeout, ErrorCodes.GitFailed,
                $"git {arguments[0]} did not finish within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s and was stopped.");
        }

        if (result.ExitCode != 0 && result.Stderr.Contains("not a git repository", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiProblem.Conflict(ErrorCodes.GitNotInitialized, "The project is not a git repository (run `git init` in it first).");
        }

        return result;
    }

    /// <summary>Runs git and throws <c>GIT_FAILED</c> (with git's own words) unless it succeeded.</summary>
    public async Task<ProcessResult> RunCheckedAsync(string directory, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        TimeSpan? timeout = null)
    {
        var result = await RunAsync(directory, arguments, cancellationToken, timeout);
        if (result.ExitCode != 0)
        {
            throw Failed(arguments[0], result);
        }

        return result;
    }

    public static ApiProblem Failed(string verb, ProcessResult result)
    {
        var said = (result.Stderr.Trim() + "\n" + result.Stdout.Trim()).Trim();
        if (said.Length > 4000)
        {
            said = said[..4000] + "…";
        }

        return ApiProblem.Conflict(ErrorCodes.GitFailed, $"git {verb} failed (exit {result.ExitCode}): {said}");
    }
}
