namespace PocketCoder.Cli;

/// <summary>
/// How to run another verb of this very program from a shell, for the lines that tell the owner what to type next: after
/// <c>dotnet run … serve</c> (or a build run as <c>dotnet pocketcoder.dll</c>) there is no <c>pocketcoder</c> command, so the
/// line names what does run (the same build, through dotnet); an executable not on PATH is named by its path.
/// </summary>
public static class SelfCommand
{
    /// <summary>The command that runs <paramref name="verb"/> here, e.g. <c>pocketcoder pair</c> or <c>dotnet /src/bin/pocketcoder.dll pair</c>.</summary>
    public static string For(string verb) =>
        For(verb, Environment.ProcessPath, AppContext.BaseDirectory, Environment.GetEnvironmentVariable("PATH"));

    /// <summary>
    /// The pairing command for the server serving <paramref name="dataDirectory"/>, as this process runs: with <c>--data</c>
    /// when that is not the folder <c>pair</c> would find by itself. What the phone's help names (health's <c>pairCommand</c>).
    /// </summary>
    public static string Pair(string dataDirectory) =>
        PairVerb.Value + (Path.GetFullPath(dataDirectory) == Server.PocketCoderOptions.DefaultDataDirectory() ? "" : $" --data {Quoted(Path.GetFullPath(dataDirectory))}");

    // Looked up once: a refused request's words name it, and the answer cannot change while this process runs.
    private static readonly Lazy<string> PairVerb = new(() => For("pair"));

    /// <param name="processPath">This process's executable: the native binary, the apphost, a tool's shim, or dotnet itself.</param>
    /// <param name="baseDirectory">Where this program's assembly (pocketcoder.dll) is.</param>
    /// <param name="path">The PATH a shell of the owner would search.</param>
    public static string For(string verb, string? processPath, string baseDirectory, string? path)
    {
        var executable = processPath is null ? null : Path.GetFileNameWithoutExtension(processPath);
        if (processPath is null || executable is "dotnet")
        {
            return $"dotnet {Quoted(Path.Combine(baseDirectory, "pocketcoder.dll"))} {verb}";
        }

        return OnPath(processPath, path) ? $"pocketcoder {verb}" : $"{Quoted(processPath)} {verb}";
    }

    /// <summary>Whether a shell typing <c>pocketcoder</c> would run this very executable.</summary>
    private static bool OnPath(string processPath, string? path) =>
        Path.GetFileName(processPath) == "pocketcoder"
        && (path ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "pocketcoder"))
            .FirstOrDefault(File.Exists) is { } found
        && SameFile(found, processPath);

    private static bool SameFile(string a, string b) =>
        string.Equals(Agents.FileSystem.RealPath.Resolve(a) ?? a, Agents.FileSystem.RealPath.Resolve(b) ?? b, StringComparison.Ordinal);

    private static string Quoted(string text) => text.Contains(' ', StringComparison.Ordinal) || text.Contains('\'', StringComparison.Ordinal)
        ? $"'{text.Replace("'", "'\\''", StringComparison.Ordinal)}'"
        : text;
}
