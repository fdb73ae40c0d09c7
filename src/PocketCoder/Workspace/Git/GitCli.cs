using PocketCoder.Agents.Processes;
using PocketCoder.Errors;

namespace PocketCoder.Workspace.Git;

/// <summary>
/// Runs the git CLI in a project through <see cref="ChildProcess"/>. Arguments are a list (never a shell
/// string); the environment forbids prompts, pagers and editors, so git can only finish or fail.
/// git is told where the repository's metadata is (<see cref="GitLocations"/>), never left to follow a pointer in it.
/// The project's own configuration is written by whoever (or whichever agent) last edited <c>.git/config</c>,
/// so every setting that makes git run a program is overridden on the command line, which beats every
/// config file: fsmonitor, hooks, signing and signature checks, external diff and textconv, and each filter
/// driver the configuration names; a push runs the owner's ssh and credential helpers, never the repository's.
/// </summary>
public sealed class GitCli(GitLocations locations)
{
    public const int OutputLimit = 2 * 1024 * 1024;

    /// <summary>Seconds git waits before it shows progress (its own default is 2): a phone shows a long checkout's soon.</summary>
    public const string ProgressDelay = "1";

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
        // Set for a repository PocketCoder knows the layout of (WithLocation); otherwise git finds it from the folder.
        ["GIT_DIR"] = null,
        ["GIT_COMMON_DIR"] = null,
        ["GIT_WORK_TREE"] = null,
    };

    // The transports a push may use; a repository's own config can allow others (protocol.ext.allow, a remote helper's
    // protocol) and rewrite its remote's URL to them (url.*.insteadOf), but GIT_ALLOW_PROTOCOL overrides every such setting.
    // Not git://, whose core.gitProxy is a program the config names.
    private const string PushProtocols = "file:ssh:https:http";

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
    /// <param name="outputLimit">How much of each output is kept (<see cref="OutputLimit"/> unless given); past it the result says <c>Truncated</c>.</param>
    /// <param name="onProgress">Shown git's progress output as it comes (for a verb given <c>--progress</c>); git waits
    /// <see cref="ProgressDelay"/> before it shows any, so a quick run says nothing.</param>
    public async Task<ProcessResult> RunAsync(string directory, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        TimeSpan? timeout = null, string? indexFile = null, int outputLimit = OutputLimit, Action<string>? onProgress = null)
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

        var push = arguments[0] == "push";
        var environment = new Dictionary<string, string?>(Environment, StringComparer.Ordinal);
        // The repository's folders, given to git so that it follows none of the pointers in them.
        if (locations.Find(directory) is { } location)
        {
            environment["GIT_DIR"] = location.GitDir;
            environment["GIT_COMMON_DIR"] = location.CommonDir;
            environment["GIT_WORK_TREE"] = location.WorkTree;
        }

        // Only a push (which the owner asked for) talks to a remote, with the owner's ssh and credential set-up (refused
        // where the repository's own config names a program for them). Anything else that would (a partial clone's lazy
        // fetch during diff or checkout) runs no transport at all, so no core.sshCommand, credential helper or remote helper.
        environment["GIT_ALLOW_PROTOCOL"] = push ? PushProtocols : "";
        string[] transport = ["-c", "credential.helper="];
        if (push)
        {
            // A signed push would run gpg.program, negotiation the remote's upload-pack, and a submodule push its own config's
            // programs. The receive-pack runs on this machine for a remote that is a folder here: git's own, not remote.*.receivepack.
            transport = ["-c", "push.gpgSign=false", "-c", "push.negotiate=false", "-c", "push.recurseSubmodules=no"];
            verb.Add("--receive-pack=git-receive-pack");
            await RefuseRepositoryProgramsAsync(directory, environment, cancellationToken);
        }

        await EmptyFiltersAsync(directory, environment, cancellationToken);
        if (indexFile is not null)
        {
            environment["GIT_INDEX_FILE"] = indexFile;
        }

        if (onProgress is not null)
        {
            environment["GIT_PROGRESS_DELAY"] = ProgressDelay;
        }

        var spec = new ProcessSpec("git", [.. GlobalArguments, .. Neutralised, .. transport, .. verb, .. arguments.Skip(1)], directory, environment,
            StderrLogPath: null);
        var result = await ChildProcess.RunAsync(spec, outputLimit, timeout ?? TimeSpan.FromSeconds(30), cancellationToken, onProgress);
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

    // Programs a push runs as its config says: the ssh command, the credential helpers (also per URL, credential.<url>.helper),
    // and the upload-pack a partial clone's lazy fetch of a missing object starts on this machine for a remote that is a folder
    // here. Only the repository's own scopes (its config and config.worktree, with what they include) are refused.
    private const string ProgramKeys = @"^(core\.sshcommand|credential\..*helper|remote\..*\.uploadpack)$";

    /// <summary>
    /// Refuses a push while the repository's own config names a program for it: the owner's global and system config, and the
    /// server's environment (GIT_SSH_COMMAND), name the ones a push may run. Refused, not overridden: pushing as someone else
    /// than the owner set up for this repository would fail in a way that says nothing of why.
    /// </summary>
    private static async Task RefuseRepositoryProgramsAsync(string directory, IReadOnlyDictionary<string, string?> environment,
        CancellationToken cancellationToken)
    {
        var spec = new ProcessSpec("git", ["-c", "core.fsmonitor=false", "config", "--show-scope", "-z", "--get-regexp", ProgramKeys], directory,
            environment, StderrLogPath: null);
        var result = await ChildProcess.RunAsync(spec, OutputLimit, TimeSpan.FromSeconds(30), cancellationToken);
        // "-z --show-scope" prints "scope\0key\nvalue\0" per entry.
        var fields = result.Stdout.Split('\0');
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            var entry = fields[i + 1].Split('\n', 2);
            // Its value is not repeated: a helper can carry a token.
            if (fields[i] is "local" or "worktree" && entry is [var key, { Length: > 0 }])
            {
                throw ApiProblem.Conflict(ErrorCodes.GitProgramRefused,
                    $"The repository's own config sets {key}: a program git would run to push. PocketCoder's push runs only what your " +
                    "global config (~/.gitconfig) or the server's environment names, never what a repository does. Move the setting to your " +
                    "global config (under [includeIf \"gitdir:…\"] to keep it to this repository), or push from a terminal.");
            }
        }
    }

    /// <summary>
    /// A filter driver (clean, smudge, process) is any program the config names under <c>filter.NAME</c>, and
    /// .gitattributes picks which. Reading the config runs nothing, so we read every driver name it defines (all
    /// scopes, includes followed) and empty each command: git then passes the content through unchanged. The
    /// overrides go through GIT_CONFIG_KEY_n/VALUE_n, which carry any name verbatim (a "-c" would split at '=').
    /// </summary>
    private static async Task EmptyFiltersAsync(string directory, Dictionary<string, string?> environment, CancellationToken cancellationToken)
    {
        var spec = new ProcessSpec("git", ["-c", "core.fsmonitor=false", "config", "-z", "--get-regexp", @"^filter\."], directory, environment,
            StderrLogPath: null);
        var result = await ChildProcess.RunAsync(spec, OutputLimit, TimeSpan.FromSeconds(30), cancellationToken);
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

    /// <summary>
    /// Who a commit in <paramref name="repository"/> would be by: the environment overrides configuration, as it does for git
    /// commit itself. Either part is null where git has none (it would guess root@hostname).
    /// </summary>
    public async Task<GitIdentity> IdentityAsync(string repository, CancellationToken cancellationToken)
    {
        async Task<string?> Read(string key, string variable)
        {
            if (System.Environment.GetEnvironmentVariable(variable) is { Length: > 0 } fromEnvironment)
            {
                return fromEnvironment;
            }

            var result = await RunAsync(repository, ["config", "--get", key], cancellationToken);
            return result.ExitCode == 0 && result.Stdout.Trim() is { Length: > 0 } value ? value : null;
        }

        return new GitIdentity(await Read("user.name", "GIT_AUTHOR_NAME"), await Read("user.email", "GIT_AUTHOR_EMAIL"));
    }

    /// <summary>Refuses, before git is asked to, a commit git would make as an identity it guessed.</summary>
    /// <exception cref="ApiProblem"><c>GIT_IDENTITY_MISSING</c> (409), with <paramref name="what"/> said of what to do.</exception>
    public async Task RequireIdentityAsync(string repository, string what, CancellationToken cancellationToken)
    {
        var identity = await IdentityAsync(repository, cancellationToken);
        if (identity.Name is null || identity.Email is null)
        {
            throw ApiProblem.Conflict(ErrorCodes.GitIdentityMissing,
                $"git has no author identity for this project (user.name and user.email): {what}");
        }
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
