namespace PocketCoder.Agents.Processes;

/// <summary>What to run. Arguments are passed as a list, never through a shell.</summary>
public sealed record ProcessSpec(
    string FileName,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string?> Environment,
    string? StderrLogPath);
