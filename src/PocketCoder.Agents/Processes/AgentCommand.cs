namespace PocketCoder.Agents.Processes;

/// <summary>
/// How to launch one agent's executable: the command (a path, or a name looked up on PATH) and
/// extra environment for its processes (for example a model endpoint or a separate HOME in tests).
/// </summary>
public sealed record AgentCommand(string Command, IReadOnlyDictionary<string, string?> Environment)
{
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
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, Command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs the executable with <paramref name="arguments"/> and returns the first line it prints, or null.</summary>
    public async Task<string?> ReadVersionAsync(string executable, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        string? firstLine = null;
        var spec = new ProcessSpec(executable, arguments, System.Environment.CurrentDirectory, Environment, StderrLogPath: null);
        await using var process = ChildProcess.Start(spec, line =>
        {
            firstLine ??= line.Trim();
            return Task.CompletedTask;
        });
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var exitCode = await process.Exited.WaitAsync(timeout.Token).ConfigureAwait(false);
        return exitCode == 0 ? firstLine : null;
    }
}
