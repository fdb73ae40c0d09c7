using Microsoft.Extensions.Logging;

namespace PocketCoder.Agents.Processes;

/// <summary>
/// What <see cref="ChildProcess"/> tells the log: each start, exit and kill, with the program's name, never its
/// arguments or environment (a shell command or a system prompt may hold a secret). Long-lived children (agents, the
/// owner's commands) log at Information; one-shot helpers (git, tmux, version probes) at Debug, as they run by the hundred.
/// </summary>
internal static partial class ProcessLog
{
    [LoggerMessage(EventId = 1001, Message = "Started {Program} (pid {Pid}) in {WorkingDirectory}")]
    public static partial void Started(ILogger logger, LogLevel level, string program, int pid, string workingDirectory);

    /// <remarks>On Linux a child ended by a signal reports 128 + the signal's number, which is what <c>Signal</c> decodes.</remarks>
    [LoggerMessage(EventId = 1002, Message = "{Program} (pid {Pid}) exited with code {ExitCode} (signal {Signal}) after {DurationMs} ms; stop requested: {StopRequested}")]
    public static partial void Exited(ILogger logger, LogLevel level, string program, int pid, int exitCode, string signal, long durationMs, bool stopRequested);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Stopping {Program} (pid {Pid}): SIGTERM to its group and {Descendants} descendant(s)")]
    public static partial void Stopping(ILogger logger, string program, int pid, int descendants);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "{Program} (pid {Pid}) did not stop within {GraceMs} ms: SIGKILL to its group and {Descendants} descendant(s)")]
    public static partial void Killing(ILogger logger, string program, int pid, long graceMs, int descendants);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Cancelled turn of {Program} (pid {Pid}): killed {Count} tool process(es) it had started")]
    public static partial void TurnProcessesKilled(ILogger logger, string program, int pid, int count);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "{Program} (pid {Pid}) exited and left {Count} process(es) behind: killed")]
    public static partial void LeftoversKilled(ILogger logger, string program, int pid, int count);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "{Program} (pid {Pid}): a line or chunk of its output could not be handled")]
    public static partial void OutputFailed(ILogger logger, Exception exception, string program, int pid);

    /// <summary>"SIGKILL" for 137, "none" for an ordinary exit code.</summary>
    public static string SignalOf(int exitCode) => exitCode switch
    {
        > 128 and <= 128 + 64 => (exitCode - 128) switch
        {
            1 => "SIGHUP",
            2 => "SIGINT",
            9 => "SIGKILL",
            13 => "SIGPIPE",
            15 => "SIGTERM",
            var number => $"{number}",
        },
        _ => "none",
    };
}
