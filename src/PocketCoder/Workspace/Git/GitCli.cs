using PocketCoder.Agents.Processes;
using PocketCoder.Errors;

namespace PocketCoder.Workspace.Git;

/// <summary>
/// Runs the git CLI in a project through <see cref="ChildProcess"/>. Arguments are a list (never a shell
/// string); the environment forbids prompts, pagers and editors, so git can only finish or fail.
/// The project's own configuration is written by whoever (or whichever agent) last edited <c>.git/config</c>,
/// so every setting that makes git run a program is overridden on the command line, which beats every
/// config file: fsmonitor, hooks, signing and signature checks, external diff and textconv, and each filter
/// driver the configuration names.
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
        // An external diff program named by the server's own environment is no more welcome than the repo's.
        ["GIT_EXTERNAL_DIFF"] = null,
    };

    // "-c" outranks system, global, repository and included config, and git passes it on to the git
    // processes it starts itself. An empty hooks path has no hooks in it; signing would run gpg.program.
    private static readonly string[] Neutralised =
    [
        "-c", "core.fsmonitor=false",
        "-c", "core.hooksPath=/dev/null",
        "-c", "core.pager=cat",
        "-c", "commit.gpgSign=false",
        "-c", "tag.gpgSign=false",
        // log and show would verify signatures with gpg.program (or its ssh/x509 kin), which the repository may name.
        "-c", "log.showSignature=false",
        "-c", "gc.auto=0",
        "-c", "maintenance.auto=false",
        "-c", "diff.ignoreSubmodules=dirty",
        "-c", "submodule.recurse=false",
    ];

    // Verbs that can show a diff: no external diff program, no textconv, and no status run inside submodules
    // (whose own config we have not read).
    private static readonly HashSet<string> DiffVerbs = new(StringComparer.Ordinal) { "diff", "show", "log" };

    // Before the subcommand: paths are literal (no globs, no ":(magic)"), no colours, unicode paths unquoted.
    private static readonly string[] GlobalArguments = ["--no-pager", "--literal-pathspecs", "-c", "core.quotepath=false", "-c", "color.ui=false"];

    /// <summary>Runs git; a failure is returned, not thrown, except "not a repository" and a timeout.</summary>
    /// <param name="indexFile">An index of our own (GIT_INDEX_FILE), so the owner's staging area is never touched.</param>
    public async Task<ProcessResult> RunAsync(string directory, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        TimeSpan? timeout = null, string? indexFile = null)
    {
        List<string> verb = [arguments[0]];
        if (DiffVerbs.Contains(arguments[0]))
        {
            verb.AddRange(["--no-ext-diff", "--no-textconv"]);
        }

        if (arguments[0] is "status" or "diff")
        {
            verb.Add("--ignore-submodules=dirty");
        }

        // Only a push (which the owner asked for) talks to a remote with the owner's ssh and credential set-up.
        // Anything else that would (a partial clone's lazy fetch during diff or checkout) runs no transport at all,
        // so no core.sshCommand, credential helper or remote helper the repository names.
        string[] transport = arguments[0] == "push" ? [] : ["-c", "protocol.allow=never", "-c", "credential.helper="];

        var environment = await WithFiltersEmptiedAsync(directory, cancellationToken);
        if (indexFile is not null)
        {
            environment["GIT_INDEX_FILE"] = indexFile;
        }
        var spec = new ProcessSpec("git", [.. GlobalArguments, .. Neutralised, .. transport, .. verb, .. arguments.Skip(1)], directory, environment,
            StderrLogPath: null);
        var result = await ChildProcess.RunAsync(spec, OutputLimit, timeout ?? TimeSpan.FromSeconds(30), cancellationToken);
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

    /// <summary>
    /// A filter driver (clean, smudge, process) is any program the config names under <c>filter.NAME</c>, and
    /// .gitattributes picks which. Reading the config runs nothing, so we read every driver name it defines (all
    /// scopes, includes followed) and empty each command: git then passes the content through unchanged. The
    /// overrides go through GIT_CONFIG_KEY_n/VALUE_n, which carry any name verbatim (a "-c" would split at '=').
    /// </summary>
    private static async Task<Dictionary<string, string?>> WithFiltersEmptiedAsync(string directory, CancellationToken cancellationToken)
    {
        var spec = new ProcessSpec("git", ["-c", "core.fsmonitor=false", "config", "-z", "--get-regexp", @"^filter\."], directory, Environment,
            StderrLogPath: null);
        var result = await ChildProcess.RunAsync(spec, OutputLimit, TimeSpan.FromSeconds(30), cancellationToken);
        var environment = new Dictionary<string, string?>(Environment, StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var count = 0;
        foreach (var entry in result.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            // "-z" prints "key\nvalue"; the key is filter.<name>.<variable>, and the name may itself hold dots.
            var key = entry.Split('\n', 2)[0];
            var last = key.LastIndexOf('.');
            if (last <= "filter.".Length || !names.Add(key["filter.".Length..last]))
            {
                continue;
            }

            foreach (var (variable, value) in new[] { ("clean", ""), ("smudge", ""), ("process", ""), ("required", "false") })
            {
                environment[$"GIT_CONFIG_KEY_{count}"] = $"{key[..last]}.{variable}";
                environment[$"GIT_CONFIG_VALUE_{count}"] = value;
                count++;
            }
        }

        environment["GIT_CONFIG_COUNT"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return environment;
    }

    /// <summary>Runs git and throws <c>GIT_FAILED</c> (with git's own words) unless it succeeded.</summary>
    public async Task<ProcessResult> RunCheckedAsync(string directory, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        TimeSpan? timeout = null, string? indexFile = null)
    {
        var result = await RunAsync(directory, arguments, cancellationToken, timeout, indexFile);
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
