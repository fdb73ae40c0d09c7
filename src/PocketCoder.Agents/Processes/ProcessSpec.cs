using Microsoft.Extensions.Logging;

namespace PocketCoder.Agents.Processes;

/// <summary>What to run. Arguments are passed as a list, never through a shell.</summary>
/// <param name="StartsDaemon">
/// The program's purpose is to leave a daemon behind (<c>tmux new-session</c> starts the tmux server): descendants that
/// left its process group are not killed when it exits. They are still killed by an explicit stop.
/// </param>
/// <param name="Logger">Where its start, exit and kill are logged (see <see cref="ProcessLog"/>); nowhere when null.</param>
/// <param name="Wrapper">A command the program runs inside (its sandbox: <see cref="AgentSandbox.Wrap"/>), or null.</param>
/// <param name="Attached">What lives exactly as long as the process (its sandbox's way out to the network): disposed once it has
/// exited, or at once when it could not start.</param>
public sealed record ProcessSpec(
    string FileName,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string?> Environment,
    string? StderrLogPath,
    bool StartsDaemon = false,
    ILogger? Logger = null,
    IReadOnlyList<string>? Wrapper = null,
    IAsyncDisposable? Attached = null);
