namespace PocketCoder.Agents.Processes;

/// <summary>
/// How to launch one agent's executable: the command (a path, or a name looked up on PATH) and
/// extra environment for its processes (for example a model endpoint or a separate HOME in tests).
/// </summary>
public sealed record AgentCommand(string Command, IReadOnlyDictionary<string, string?> Environment)
{
    /// <summary>A variable of the environment the agent runs in: an override (even one that removes it) wins over the server's.</summary>
    public string? Setting(string name) =>
        Environment.TryGetValue(name, out var value) ? value : System.Environment.GetEnvironmentVariable(name);

    /// <summary>The agent's home folder (HOME as it runs).</summary>
    public string Home => Setting("HOME") is { Length: > 0 } home ? home : System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);

    /// <summary>An XDG base folder as the agent sees it (<c>XDG_DATA_HOME</c> and the like), else its default under home.</summary>
    public string Xdg(string variable, string fallback) => Setting(variable) is { Length: > 0 } set ? set : Path.Combine(Home, fallback);

    /// <summary>
    /// A folder the agent keeps its state in as a variable of its own names it (<c>QWEN_HOME</c>, <c>COPILOT_HOME</c>,
    /// <c>GEMINI_CLI_HOME</c>), <c>~</c> and <c>~/…</c> read as the agents read them; else <paramref name="fallback"/> under home. A
    /// relative value is kept as it is: the agent would take it relative to each project's folder (<see cref="RelativeFolderProblem"/>).
    /// </summary>
    public string Folder(string variable, string fallback) => Setting(variable) is { Length: > 0 } value ? InHome(value) : Path.Combine(Home, fallback);

    /// <summary>Why the agent is not started: <paramref name="folder"/>, its state folder named by <paramref name="variable"/>, is relative; null when it is not.</summary>
    /// <param name="name">The agent as the owner knows it.</param>
    public static string? RelativeFolderProblem(string name, string variable, string? folder) =>
        folder is { Length: > 0 } && !Path.IsPathRooted(folder)
            ? $"{variable} is '{folder}', a relative path: {name} would take it relative to each project's folder and keep its " +
              $"settings, logins and conversations there. Set {variable} to an absolute path, or leave it unset."
            : null;

    /// <summary><c>~</c> and <c>~/…</c> as the agent's home; anything else as it is.</summary>
    public string InHome(string path) =>
        path == "~" ? Home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(Home, path[2..]) : path;

    /// <summary>The agent's environment with <paramref name="more"/> set over it (an MCP server's secrets, say).</summary>
    public Dictionary<string, string?> EnvironmentWith(IEnumerable<KeyValuePair<string, string>> more)
    {
        var environment = new Dictionary<string, string?>(Environment, StringComparer.Ordinal);
        foreach (var (name, value) in more)
        {
            environment[name] = value;
        }

        return environment;
    }

    /// <summary>The absolute path of the executable, or null when it cannot be found.</summary>
    public string? Resolve()
    {
        if (Command.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(Command);
            return File.Exists(full) ? full : null;
        }

        var path = Environment.TryGetValue("PATH", out var overridden) && overridden is not null
            ? overridden
            : System.Environment.GetEnvironmentVariable("PATH") ?? "";
        // Only absolute entries: a relative one would be looked up from the server's folder here, and from the project's (a
        // repository's own ./bin) where the agent runs.
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Where(Path.IsPathRooted))
        {
            var candidate = Path.Combine(directory, Command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The answer every adapter's probe gives: installed or not, which version, and if not, what to do.</summary>
    /// <param name="name">The agent as the user knows it ("Codex").</param>
    /// <param name="installHint">What the user can do when it is missing.</param>
    /// <param name="versionArguments">How to ask its version without starting it; null when it has no such flag.</param>
    /// <param name="version">The version number in the first line that prints.</param>
    public async Task<AgentAvailability> ProbeAsync(string name, string installHint, IReadOnlyList<string>? versionArguments,
        Func<string, string> version, CancellationToken cancellationToken)
    {
        if (Resolve() is not { } executable)
        {
            return new AgentAvailability(false, null, $"{name} was not found ('{Command}'). {installHint}");
        }

        if (versionArguments is null)
        {
            return new AgentAvailability(true, null, executable);
        }

        if (ChildProcess.LauncherProblem is { } launcher)
        {
            return new AgentAvailability(false, null, $"{name} is installed ({executable}), but cannot be started: {launcher}");
        }

        // Null when it failed, or did not answer within its time.
        var firstLine = await ReadVersionAsync(executable, versionArguments, cancellationToken).ConfigureAwait(false);
        return firstLine is null
            ? new AgentAvailability(false, null, $"'{executable} {string.Join(' ', versionArguments)}' failed; reinstall {name}.")
            : new AgentAvailability(true, version(firstLine), executable);
    }

    /// <summary>The executable to start a session with, or an <see cref="AgentUnavailableException"/> saying what to do.</summary>
    public string ResolveToStart(string agentId, string name, string installHint) =>
        Resolve() ?? throw new AgentUnavailableException(agentId, $"{name} was not found ('{Command}'). {installHint}");

    /// <summary>Runs the executable with <paramref name="arguments"/> and returns the first line it prints, or null.</summary>
    private async Task<string?> ReadVersionAsync(string executable, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        string? firstLine = null;
        var spec = new ProcessSpec(executable, arguments, System.Environment.CurrentDirectory, Environment, StderrLogPath: null);
        await using var process = ChildProcess.Start(spec, line =>
        {
            firstLine ??= line.Trim();
            return Task.CompletedTask;
        });
        // A version needs no input: stdin is closed at once, so an executable that reads it anyway (a wrapper script) sees
        // its end instead of holding the health answer that waits for this probe until the timeout. Stopped after 20 s.
        await process.EndInputAsync(TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
        return await process.Exited.ConfigureAwait(false) == 0 ? firstLine : null;
    }
}
