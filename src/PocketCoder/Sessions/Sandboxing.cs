using System.Diagnostics;
using PocketCoder.Agents;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Processes;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Server;

namespace PocketCoder.Sessions;

/// <summary>
/// Which sandbox a project's agents run in (<see cref="AgentSandbox"/>): a project setting, <c>sandboxed</c> (the default) or
/// <c>none</c>. The sandbox never silently disappears: where bubblewrap does not work, a project not set to <c>none</c> starts no
/// session (<c>SANDBOX_UNAVAILABLE</c>), and the project, health, <c>doctor</c> and <c>status</c> say why and what the owner can do:
/// install bubblewrap, or choose to run that project unsandboxed.
/// </summary>
public sealed class Sandboxing(ProjectStore projects, PocketCoderOptions options)
{
    public const string Sandboxed = "sandboxed";
    public const string None = "none";

    /// <summary>bubblewrap from PATH, tried once for the machine: its path, or why agents cannot be sandboxed here.</summary>
    private static readonly Lazy<(string? Bwrap, string? Problem)> OnPath = new(() => ProbeBwrap(AgentSandbox.FindBwrap()));

    private readonly Lazy<(string? Bwrap, string? Problem)> _probe =
        options.Bubblewrap is { } named ? new(() => ProbeBwrap(named)) : OnPath;

    /// <summary>Why agents cannot be sandboxed on this machine (bubblewrap from PATH), as a sentence; null when they can.</summary>
    public static string? MachineProblem => OnPath.Value.Problem;

    /// <summary>Why agents cannot be sandboxed by this server, as a sentence; null when they can.</summary>
    public string? Problem => _probe.Value.Problem;

    /// <summary>What a project runs its agents in: what it chose, else the sandbox.</summary>
    public static string ModeOf(Project project) => project.Sandbox ?? Sandboxed;

    /// <summary>Why this project's sessions cannot start here (its sandbox does not work), with what to do; null when they can.</summary>
    public string? Refusal(Project project) => ModeOf(projects.Get(project.Id)) == Sandboxed && Problem is { } problem
        ? $"This project's agents run sandboxed, and {problem} Install bubblewrap (apt-get install bubblewrap) and restart PocketCoder, " +
          "or set this project's sandbox to none to run its agents without one."
        : null;

    /// <summary>The sandbox for an agent of this project working in <paramref name="workingDirectory"/>, or null when it runs as is.</summary>
    /// <param name="workingDirectory">The project, or the session's worktree (whose repository's git folder is then writable too:
    /// commits land there).</param>
    /// <exception cref="ApiProblem">The project wants a sandbox and bubblewrap does not work here (<c>SANDBOX_UNAVAILABLE</c>).</exception>
    public AgentSandbox? For(Project project, string agentId, string workingDirectory)
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
        var gitFolder = Path.Combine(project.Path, ".git");
        // The git folder is bound on its own too: a mount point cannot be renamed away (taking the read-only binds below with it).
        IReadOnlyList<string> writable = Directory.Exists(gitFolder) && new DirectoryInfo(gitFolder).LinkTarget is null
            ? [workingDirectory, gitFolder]
            : [workingDirectory];
        // What would make the owner's own git run a program later, outside the sandbox: a hook, or a setting such as
        // core.hooksPath, core.fsmonitor or a filter driver (in config or info/attributes). It stays as it is.
        string[] protectedPaths = [Path.Combine(gitFolder, "hooks"), Path.Combine(gitFolder, "config"), Path.Combine(gitFolder, "info", "attributes")];
        return new AgentSandbox(bwrap, writable, [options.DataDirectory, .. others], protectedPaths, HomeOf(agentId));
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
        // without them is not one we run agents in (as root it would keep every capability).
        try
        {
            var info = new ProcessStartInfo(bwrap, [.. AgentSandbox.Isolation, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", "true"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return (null, "bubblewrap did not start a sandbox within 10 s.");
            }

            return process.ExitCode == 0 ? (bwrap, null) : (null, $"bubblewrap cannot make a sandbox here ({error.Result.Trim()}).");
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            return (null, $"bubblewrap could not be run ({exception.Message}).");
        }
    }
}
