using System.Diagnostics;
using PocketCoder.Agents;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Processes;
using PocketCoder.Projects;
using PocketCoder.Server;

namespace PocketCoder.Sessions;

/// <summary>
/// Which sandbox a project's agents run in (<see cref="AgentSandbox"/>): a project setting, <c>sandboxed</c> or
/// <c>none</c>, whose default is <c>sandboxed</c> wherever bubblewrap works on this machine. A project set to
/// <c>sandboxed</c> never runs its agents unsandboxed: without a working bubblewrap its sessions do not start.
/// </summary>
public sealed class Sandboxing(ProjectStore projects, PocketCoderOptions options)
{
    public const string Sandboxed = "sandboxed";
    public const string None = "none";

    /// <summary>bubblewrap, tried once: its path, or why agents cannot be sandboxed here.</summary>
    private static readonly Lazy<(string? Bwrap, string? Problem)> Probe = new(ProbeBwrap);

    /// <summary>What projects get unless they choose.</summary>
    public static string DefaultMode => Probe.Value.Bwrap is null ? None : Sandboxed;

    /// <summary>Why agents run unsandboxed by default here, as a sentence for health; null when they do not.</summary>
    public static string? Problem => Probe.Value.Problem;

    public static string ModeOf(Project project) => project.Sandbox ?? DefaultMode;

    /// <summary>The sandbox for an agent of this project working in <paramref name="workingDirectory"/>, or null when it runs as is.</summary>
    /// <param name="workingDirectory">The project, or the session's worktree (whose repository's git folder is then writable too:
    /// commits land there).</param>
    /// <exception cref="AgentUnavailableException">The project wants a sandbox and bubblewrap does not work here.</exception>
    public AgentSandbox? For(Project project, string agentId, string workingDirectory)
    {
        // The project as stored: a worktree session's view of it names the worktree as its path.
        project = projects.Get(project.Id);
        if (ModeOf(project) == None)
        {
            return null;
        }

        if (Probe.Value.Bwrap is not { } bwrap)
        {
            throw new AgentUnavailableException(agentId,
                $"This project's agents run sandboxed, and {Probe.Value.Problem} Install bubblewrap (apt-get install bubblewrap), or set the project's sandbox to none.");
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

    private static (string? Bwrap, string? Problem) ProbeBwrap()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, "the sandbox needs Linux (bubblewrap).");
        }

        if (AgentSandbox.FindBwrap() is not { } bwrap)
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
