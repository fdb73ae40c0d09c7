using System.Diagnostics;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Errors;
using PocketCoder.Network;
using PocketCoder.Projects;
using PocketCoder.Server;
using PocketCoder.Workspace.Git;
using PocketCoder.Workspace.Worktrees;

namespace PocketCoder.Sessions;

/// <summary>
/// Which sandbox a project's agents run in (<see cref="AgentSandbox"/>): a project setting, <c>sandboxed</c> (the default) or
/// <c>none</c>. The sandbox never silently disappears: where bubblewrap does not work, a project not set to <c>none</c> starts no
/// session (<c>SANDBOX_UNAVAILABLE</c>), and the project, health, <c>doctor</c> and <c>status</c> say why and what the owner can do:
/// install bubblewrap, or choose to run that project unsandboxed. A sandbox has a network of its own whose one way out is the
/// server's proxy (<see cref="Egress"/>): where that cannot be set up, the sandbox does not work either (never an open network).
/// </summary>
public sealed class Sandboxing(ProjectStore projects, PocketCoderOptions options, GitLocations git, GitCli gitCli, Egress egress)
{
    public const string Sandboxed = "sandboxed";
    public const string None = "none";

    /// <summary>bubblewrap from PATH, tried once for the machine: its path, or why agents cannot be sandboxed here.</summary>
    private static readonly Lazy<(string? Bwrap, string? Problem)> OnPath = new(() => ProbeBwrap(AgentSandbox.FindBwrap()));

    private readonly Lazy<(string? Bwrap, string? Problem)> _probe =
        options.Bubblewrap is { } named ? new(() => ProbeBwrap(named)) : OnPath;

    /// <summary>Why agents cannot be sandboxed on this machine (bubblewrap from PATH), as a sentence; null when they can.</summary>
    public static string? MachineProblem => OnPath.Value.Problem;

    /// <summary>What the owner can do about <see cref="MachineProblem"/> (or <see cref="Problem"/>): a clause ending before "and restart".</summary>
    public static string Remedy(string problem) => problem.Contains("network", StringComparison.Ordinal)
        ? "let bubblewrap make network namespaces (docs/security.md, \"The network\"; a container needs them allowed)"
        : "install bubblewrap (apt-get install bubblewrap)";

    /// <summary>Why agents cannot be sandboxed by this server, as a sentence; null when they can.</summary>
    public string? Problem => _probe.Value.Problem;

    /// <summary>Whether <see cref="Problem"/> is known without waiting: the probe runs bubblewrap twice and this program once
    /// inside it (~0.2-0.4 s on 2 cores), which health, asked first as the server starts, does not wait for (it says
    /// <c>checking</c>).</summary>
    public bool Probed => _probe.IsValueCreated;

    /// <summary>Starts the probe in the background (once the server answers: <see cref="SandboxProbe"/>); later callers share it.</summary>
    public Task ProbeAsync() => Task.Run(() => _probe.Value);

    /// <summary>What a project runs its agents in: what it chose, else the sandbox.</summary>
    public static string ModeOf(Project project) => project.Sandbox ?? Sandboxed;

    /// <summary>Why this project's sessions cannot start here (its sandbox does not work), with what to do; null when they can.</summary>
    public string? Refusal(Project project) => ModeOf(projects.Get(project.Id)) == Sandboxed && Problem is { } problem
        ? $"This project's agents run sandboxed, and {problem} {Capitalized(Remedy(problem))} and restart PocketCoder, " +
          "or set this project's sandbox to none to run its agents without one."
        : null;

    private static string Capitalized(string text) => string.Concat(char.ToUpperInvariant(text[0]).ToString(), text[1..]);

    /// <summary>The sandbox for an agent of this project working in <paramref name="workingDirectory"/>, or null when it runs as is.</summary>
    /// <param name="workingDirectory">The project, or the session's worktree (whose branch, and the objects its commits add, are
    /// then writable too).</param>
    /// <param name="session">The session the agent runs for: its connections out are put to its gate and shown in its timeline
    /// (null: no session's gate, its model only).</param>
    /// <exception cref="ApiProblem">The project wants a sandbox and bubblewrap does not work here (<c>SANDBOX_UNAVAILABLE</c>); a
    /// submodule's path is a symbolic link, or the repository's git metadata leads elsewhere (<c>GIT_REDIRECTED</c>).</exception>
    public async Task<AgentSandbox?> ForAsync(Project project, string agentId, string workingDirectory, IEgressSession? session,
        CancellationToken cancellationToken)
    {
        // The project as stored: a worktree session's view of it names the worktree as its path.
        project = projects.Get(project.Id);
        if (ModeOf(project) == None)
        {
            return null;
        }

        if (_probe.Value.Bwrap is not { } bwrap)
        {
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.SandboxUnavailable, Refusal(project)!);
        }

        // Other projects are not this agent's business; one inside this project is part of its tree and stays.
        var others = projects.List()
            .Where(p => p.Id != project.Id && !RealPath.IsWithin(p.Path, workingDirectory) && !RealPath.IsWithin(workingDirectory, p.Path))
            .Select(p => p.Path);
        // The repository's git metadata (docs/security.md, "Git metadata"). In the project's own folder it is read-only whole: a
        // folder git writes its index and HEAD to can be given any file, present or not, such as a commondir sending the owner's git
        // to a config of the agent's. On a branch of its own, the agent's git writes what that branch needs.
        var (writable, protectedPaths) = workingDirectory != project.Path && git.Find(workingDirectory) is { Branch: { } branch } worktree
            ? OwnBranch(worktree, branch)
            : ([], [GitFolderOrStandIn(workingDirectory)]);
        // ...and the submodules the owner's git would enter, as the index the working tree uses names them now.
        var submodules = await SubmoduleMounts.ReadAsync(gitCli, workingDirectory, cancellationToken);
        return new AgentSandbox(bwrap, [workingDirectory, .. writable, .. submodules.Pinned], [options.DataDirectory, .. others],
            [.. protectedPaths, .. submodules.Protected], HomeOf(agentId)) { Egress = egress.For(session) };
    }

    /// <summary>
    /// The sandbox for a short run of an agent in an empty folder of its own (asked which models it offers, with no prompt): that
    /// folder its only writable one, every project and the data folder out of sight, its home PocketCoder's own. Null — the agent
    /// runs as is — only where bubblewrap does not work here and no project wants a sandbox, as its sessions would run.
    /// </summary>
    /// <exception cref="ApiProblem">A project wants a sandbox and bubblewrap does not work here (<c>SANDBOX_UNAVAILABLE</c>).</exception>
    public AgentSandbox? ForScratch(string agentId, string folder)
    {
        if (_probe.Value.Bwrap is { } bwrap)
        {
            // No session: its model, and nothing else.
            return new AgentSandbox(bwrap, [folder], [options.DataDirectory, .. projects.List().Select(p => p.Path)], [GitFolderOrStandIn(folder)],
                HomeOf(agentId)) { Egress = egress.For(null) };
        }

        return projects.List().FirstOrDefault(p => ModeOf(p) == Sandboxed) is { } sandboxed
            ? throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.SandboxUnavailable, Refusal(sandboxed)!)
            : null;
    }

    /// <summary>
    /// The project's <c>.git</c>, made an empty folder where the project is no repository of its own (none at all, or a folder
    /// inside one): git passes an empty <c>.git</c> by as no repository, and bound read-only it stands where an allowed command
    /// would otherwise make a repository whose config (<c>core.fsmonitor</c>, <c>core.sshCommand</c>) the owner's git, a shell
    /// prompt's included, or an agent CLI's own git run by the server, would run outside the sandbox.
    /// </summary>
    private static string GitFolderOrStandIn(string workingDirectory)
    {
        var git = Path.Combine(workingDirectory, ".git");
        try
        {
            // Made from a handle of the folder (BeneathRoot), so a link planted as .git meanwhile is never followed to make one elsewhere.
            if (BeneathRoot.Probe(workingDirectory, ".git") is null)
            {
                BeneathRoot.CreateDirectories(workingDirectory, ".git");
            }
        }
        catch (ConfinedIOException)
        {
            // Something took its place meanwhile (a link, a file): left as it is, and bound read-only as found.
        }

        return git;
    }

    /// <summary>
    /// What a session on a branch of its own may write of the repository's git metadata: the objects its commits add, its
    /// worktree's own git folder, and its branch's ref folder with its reflog. Everything else of the repository's git folder
    /// stays as it is, as do the pointers git follows (the worktree's <c>.git</c> file, its folder's <c>commondir</c> and
    /// <c>gitdir</c>, <c>objects/info/alternates</c>): no other ref moves, and nothing is planted that the owner's git would
    /// read or run.
    /// </summary>
    private static (IReadOnlyList<string> Writable, IReadOnlyList<string> Protected) OwnBranch(GitLocation worktree, string branch)
    {
        var common = worktree.CommonDir;
        // Bound read-only, so made where missing (an empty folder is what git init makes; an empty config.worktree is read as no settings).
        var objectsInfo = Directory.CreateDirectory(Path.Combine(common, "objects", "info")).FullName;
        var worktreeConfig = Path.Combine(worktree.GitDir, "config.worktree");
        try
        {
            // The worktree's git folder is the agent's to write: a dangling link planted as config.worktree must not make the
            // server create a file wherever it points (File.WriteAllText followed it), so it is made through BeneathRoot.
            if (BeneathRoot.Probe(worktree.GitDir, "config.worktree") is null)
            {
                BeneathRoot.ReplaceFile(worktree.GitDir, "config.worktree", []);
            }
        }
        catch (ConfinedIOException)
        {
            // Something took its place meanwhile: left as it is, and bound read-only as found.
        }

        List<string> writable = [Path.Combine(common, "objects"), worktree.GitDir];
        // A ref is written as a lock file renamed over it, so its whole folder must be writable: the session's own (a branch of
        // an older session shares one, and stays read-only: what it left is committed when it is merged).
        if (SessionWorktrees.RefFolder(branch) is { } folder)
        {
            writable.Add(Directory.CreateDirectory(Path.Combine(common, "refs", "heads", folder)).FullName);
            writable.Add(Directory.CreateDirectory(Path.Combine(common, "logs", "refs", "heads", folder)).FullName);
        }

        return (writable, [Path.Combine(worktree.WorkTree, ".git"), objectsInfo, Path.Combine(worktree.GitDir, "commondir"),
            Path.Combine(worktree.GitDir, "gitdir"), worktreeConfig]);
    }

    /// <summary>The agent's home of PocketCoder's own (<see cref="AgentHome"/>): one per agent, kept across sessions, in the data folder.</summary>
    public string HomeOf(string agentId) => Path.Combine(options.DataDirectory, "agents", agentId, "home");

    private static (string? Bwrap, string? Problem) ProbeBwrap(string? bwrap)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, "the sandbox needs Linux (bubblewrap).");
        }

        if (bwrap is null || !File.Exists(bwrap))
        {
            return (null, "bubblewrap (bwrap) is not installed.");
        }

        // Installed is not enough: a kernel or container without user or process namespaces refuses it, and a sandbox
        // without them is not one we run agents in (as root it would keep every capability); nor one without a network of
        // its own (never an open network: a refusal there is said as such).
        try
        {
            if (TrySandbox(bwrap, AgentSandbox.Isolation) is not { } refused)
            {
                // ...and its way out: the helper inside, its listener handed out (fail closed where not).
                return NetworkProbe.Problem(bwrap) is { } network ? (null, network) : (bwrap, null);
            }

            return TrySandbox(bwrap, [.. AgentSandbox.Isolation.Where(flag => flag != "--unshare-net")]) is null
                ? (null, $"bubblewrap cannot give a sandbox a network of its own here ({refused}).")
                : (null, $"bubblewrap cannot make a sandbox here ({refused}).");
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            return (null, $"bubblewrap could not be run ({exception.Message}).");
        }
    }

    /// <summary>Runs <c>true</c> in a sandbox with <paramref name="isolation"/>: null when it worked, else what bubblewrap said.</summary>
    private static string? TrySandbox(string bwrap, IReadOnlyList<string> isolation)
    {
        var info = new ProcessStartInfo(bwrap, [.. isolation, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", "true"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            process.Kill(entireProcessTree: true);
            return "it did not start a sandbox within 10 s";
        }

        return process.ExitCode == 0 ? null : error.Result.Trim();
    }
}
