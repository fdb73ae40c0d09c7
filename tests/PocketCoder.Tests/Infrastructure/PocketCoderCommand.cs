using System.Diagnostics;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The <c>pocketcoder</c> command that tests run as its own process: the build's pocketcoder.dll through <c>dotnet</c>, or,
/// with <c>POCKETCODER_BINARY</c> set to a published native binary (scripts/test-aot.sh), that file itself, so the
/// same tests show what the single binary does.
/// </summary>
public static class PocketCoderCommand
{
    private static string Dll => Path.Combine(AppContext.BaseDirectory, "pocketcoder.dll");

    /// <summary>The native binary under test, or null for the JIT build.</summary>
    public static string? Binary { get; } = Environment.GetEnvironmentVariable("POCKETCODER_BINARY") is { Length: > 0 } path
        ? File.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"POCKETCODER_BINARY names no file: {path}")
        : null;

    /// <summary>The command line that starts it, before its own arguments (for a shell wrapper, tmux, a systemd unit).</summary>
    public static IReadOnlyList<string> Prefix => Binary is { } binary ? [binary] : [Environment.ProcessPath!, Dll];

    /// <summary>
    /// How the command started by <see cref="Info"/> names one of its own verbs in what it prints (#51): the build through
    /// dotnet, or the native binary by its path, never a bare <c>pocketcoder</c> that is not on PATH.
    /// </summary>
    public static string Says(string verb) => PocketCoder.Cli.SelfCommand.For(verb, Binary ?? Environment.ProcessPath, AppContext.BaseDirectory,
        Environment.GetEnvironmentVariable("PATH"));

    /// <summary>A start with <paramref name="arguments"/>, both output streams redirected.</summary>
    public static ProcessStartInfo Info(params IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Prefix[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in Prefix.Skip(1).Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}
