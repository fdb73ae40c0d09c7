using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PocketCoder.Agents.FileSystem;

namespace PocketCoder.Agents.Processes;

/// <summary>
/// The one wrapper for every child process PocketCoder starts: its own process group (so a stop
/// reaches grandchildren too), both streams read, stderr kept in a log and a tail, SIGTERM then SIGKILL,
/// exit code recorded. Nobody else calls <see cref="Process.Start()"/>.
/// A descendant can leave the group (<c>setsid</c>, a double fork, <c>nohup</c>), so a stop also finds every
/// descendant by <see cref="Descendants"/>: the process tree as it stands, plus every process that still carries
/// this child's marker variable (inherited by everything it starts, whatever group it moves to).
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    /// <summary>The environment variable that marks every process descended from one child.</summary>
    public const string MarkerVariable = "POCKETCODER_PROCESS";
    private const int StderrTailLimit = 8 * 1024;

    /// <summary>How long the output pumps may run on after the process and its descendants are gone (a pipe held elsewhere).</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(5);
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Process _process;
    private readonly SemaphoreSlim _stdinLock = new(1, 1);
    private readonly StringBuilder _stderrTail = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private readonly bool _startsDaemon;
    private readonly bool _wrapped;
    private readonly IAsyncDisposable? _attached;
    private readonly ILogger _logger;
    private readonly LogLevel _lifetimeLevel;
    private readonly string _program;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private readonly Lock _turnLock = new();
    private HashSet<int> _beforeTurn = [];
    private volatile bool _stopRequested;
    private int _disposed;
    private volatile IReadOnlyCollection<int>? _sandboxedAgent;

    // What a stop signalled, found before the signal: a process that is dying when the exit is handled may no longer show
    // its marker (its memory is already released), yet the final status must wait until it is gone.
    private volatile IReadOnlyCollection<int> _signalledAtStop = [];

    /// <param name="startPumps">Starts the readers of stdout and stderr (lines or raw chunks, see the factories below).</param>
    private ChildProcess(Process process, ProcessSpec spec, LogLevel lifetimeLevel, Func<ChildProcess, (Task Stdout, Task Stderr)> startPumps)
    {
        _process = process;
        _startsDaemon = spec.StartsDaemon;
        _wrapped = spec.Wrapper is not null;
        _attached = spec.Attached;
        _logger = spec.Logger ?? NullLogger.Instance;
        _lifetimeLevel = lifetimeLevel;
        _program = Path.GetFileName(spec.FileName);
        Marker = process.StartInfo.Environment[MarkerVariable]!;
        Pid = process.Id;
        ProcessLog.Started(_logger, lifetimeLevel, _program, Pid, spec.WorkingDirectory);
        (_stdoutPump, _stderrPump) = startPumps(this);
        _ = Task.Run(WaitForExitAsync);
    }

    public int Pid { get; }

    /// <summary>The value of <see cref="MarkerVariable"/> this child and all its descendants carry.</summary>
    public string Marker { get; }

    /// <summary>Completes with the exit code once the process has exited and both streams are drained.</summary>
    public Task<int> Exited => _exited.Task;

    public bool StopRequested => _stopRequested;

    public string StderrTail
    {
        get
        {
            lock (_stderrTail)
            {
                return _stderrTail.ToString();
            }
        }
    }

    /// <summary>
    /// Runs a program on the caller's own terminal (stdin, stdout and stderr inherited) until it exits: how
    /// <c>pocketcoder handoff</c> gives the owner's terminal to the agent. Returns its exit code.
    /// </summary>
    public static async Task<int> RunAttachedAsync(string fileName, IReadOnlyList<string> arguments, string workingDirectory,
        CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName, arguments) { WorkingDirectory = workingDirectory, UseShellExecute = false };
        // Ctrl+C and Ctrl+\ on the terminal are the program's (claude interrupts its turn with them), not ours to die of.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => context.Cancel = true);
        using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context => context.Cancel = true);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start.");
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return process.ExitCode;
    }

    /// <summary>
    /// Starts the process in a new session (setsid) so that it and everything it spawns form one process group.
    /// Each stdout line is handed to <paramref name="onStdoutLine"/> in order, one at a time.
    /// </summary>
    public static ChildProcess Start(ProcessSpec spec, Func<string, Task> onStdoutLine)
    {
        var process = Launch(spec);
        StreamWriter? stderrLog = null;
        try
        {
            if (spec.StderrLogPath is not null)
            {
                // An agent's stderr can quote what it was given (a token in a command): its folder and file are the owner's
                // alone from the start, not only once the next start narrows the data folder.
                UnixFiles.EnsurePrivateDirectory(Path.GetDirectoryName(spec.StderrLogPath)!);
                var file = new FileStream(spec.StderrLogPath, new FileStreamOptions
                {
                    Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
                stderrLog = new StreamWriter(file, Utf8NoBom) { AutoFlush = true };
            }
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            _ = spec.Attached?.DisposeAsync().AsTask();
            throw;
        }

        return new ChildProcess(process, spec, LogLevel.Information, self => (Task.Run(() => self.PumpStdoutAsync(onStdoutLine)), Task.Run(async () =>
        {
            await self.PumpChunksAsync(self._process.StandardError, OutputStream.Stderr,
                chunk => stderrLog?.WriteAsync(chunk.Text) ?? Task.CompletedTask).ConfigureAwait(false);
            if (stderrLog is not null)
            {
                await stderrLog.DisposeAsync().ConfigureAwait(false);
            }
        })));
    }

    /// <summary>
    /// <see cref="Start"/> for an agent: an executable that fails to launch (missing, not executable) makes the agent
    /// unavailable, with the reason for the owner.
    /// </summary>
    internal static ChildProcess StartAgent(string agentId, string name, ProcessSpec spec, Func<string, Task> onStdoutLine)
    {
        try
        {
            return Start(spec, onStdoutLine);
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new AgentUnavailableException(agentId, $"{name} could not be started: {exception.Message}", exception);
        }
    }

    /// <summary>
    /// Starts a one-shot process (stdin closed) whose stdout and stderr arrive as raw text chunks, in the order
    /// read from each stream, one chunk at a time. The callback must not keep unbounded state: the pump keeps
    /// reading however much the process prints, so a chatty child never blocks on a full pipe.
    /// </summary>
    /// <param name="lifetimeLevel">The level its start and exit are logged at.</param>
    public static ChildProcess StartStreaming(ProcessSpec spec, Func<OutputChunk, Task> onChunk, LogLevel lifetimeLevel = LogLevel.Information) =>
        new(Launch(spec), spec, lifetimeLevel, self =>
        {
            // One-shot runs read nothing from us: closing stdin makes a command that waits on it see end of input at once.
            self._process.StandardInput.Close();
            return (Task.Run(() => self.PumpChunksAsync(self._process.StandardOutput, OutputStream.Stdout, onChunk)),
                Task.Run(() => self.PumpChunksAsync(self._process.StandardError, OutputStream.Stderr, onChunk)));
        });

    /// <summary>
    /// Runs to completion and returns what it printed, each stream kept up to <paramref name="outputLimit"/>
    /// characters (the rest is read and dropped). Stopped (group SIGTERM, then SIGKILL) on timeout or cancellation.
    /// </summary>
    /// <param name="onStderr">Shown each piece of stderr as it arrives (a progress meter), besides keeping it.</param>
    public static async Task<ProcessResult> RunAsync(ProcessSpec spec, int outputLimit, TimeSpan timeout, CancellationToken cancellationToken,
        Action<string>? onStderr = null)
    {
        var stdout = new CappedText(outputLimit);
        var stderr = new CappedText(outputLimit);
        // A helper run (git, tmux, a version probe) happens by the hundred: its lifetime is logged at Debug.
        await using var process = StartStreaming(spec, chunk =>
        {
            (chunk.Stream == OutputStream.Stdout ? stdout : stderr).Append(chunk.Text);
            if (chunk.Stream == OutputStream.Stderr)
            {
                onStderr?.Invoke(chunk.Text);
            }

            return Task.CompletedTask;
        }, LogLevel.Debug);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var exitCode = await process.Exited.WaitAsync(deadline.Token).ConfigureAwait(false);
            return new ProcessResult(exitCode, stdout.ToString(), stderr.ToString(), stdout.Truncated || stderr.Truncated, TimedOut: false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await process.StopAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
            return new ProcessResult(-1, stdout.ToString(), stderr.ToString(), stdout.Truncated || stderr.Truncated, TimedOut: true);
        }
    }

    /// <summary>
    /// Why no child process can start here (setsid, which puts each in a group of its own, is not installed), or null.
    /// Looked up on PATH as <see cref="Process.Start()"/> would, at each ask: installing util-linux needs no restart.
    /// </summary>
    public static string? LauncherProblem =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => Path.IsPathRooted(folder) && File.Exists(Path.Combine(folder, "setsid")))
            ? null
            : "setsid (util-linux) was not found on PATH: agent processes and commands cannot be started. Install util-linux.";

    private static Process Launch(ProcessSpec spec)
    {
        // Said in words rather than as the runtime's "No such file or directory" about a program the caller never named.
        if (LauncherProblem is { } missing)
        {
            throw new ProcessLauncherMissingException(missing);
        }

        // setsid(1) execs the program as the leader of a new process group without forking when, as here, the caller is
        // not a group leader: the pid we get is the agent's own. In a sandbox, the wrapper (bwrap) is what setsid execs; the
        // agent is its child, in the same process group.
        var info = new ProcessStartInfo("setsid", [.. spec.Wrapper ?? [], spec.FileName, .. spec.Arguments])
        {
            WorkingDirectory = spec.WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = Utf8NoBom,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var (name, value) in spec.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        info.Environment[MarkerVariable] = Guid.NewGuid().ToString("N");
        var process = new Process { StartInfo = info };
        try
        {
            // Forked from the launcher thread, never the caller's: a sandbox's parent-death signal is tied to the thread that
            // forks it (see LauncherThread).
            LauncherThread.Start(process);
        }
        catch
        {
            process.Dispose();
            // Never started: nothing will use its way out (closing it blocks on nothing, so it is not waited for).
            _ = spec.Attached?.DisposeAsync().AsTask();
            throw;
        }

        return process;
    }

    /// <summary>Writes one line to stdin. Lines from concurrent callers never interleave.</summary>
    public async Task WriteLineAsync(string line, CancellationToken cancellationToken)
    {
        await _stdinLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_exited.Task.IsCompleted)
            {
                throw new InvalidOperationException("The agent process has exited.");
            }

            await _process.StandardInput.WriteAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
            await _process.StandardInput.WriteAsync("\n".AsMemory(), cancellationToken).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            throw new InvalidOperationException("The agent process is not accepting input.", exception);
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    /// <summary>
    /// Closes stdin, which tells an agent reading messages from it that no more come: it finishes what it writes (Claude
    /// Code its transcript) and exits by itself. Stopped (<see cref="StopAsync"/>) if it has not within <paramref name="grace"/>.
    /// </summary>
    public async Task EndInputAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        _stopRequested = true;
        await _stdinLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Gone already.
        }
        finally
        {
            _stdinLock.Release();
        }

        if (await Task.WhenAny(_exited.Task, Task.Delay(grace, cancellationToken)).ConfigureAwait(false) != _exited.Task)
        {
            await StopAsync(grace, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// SIGTERM to the whole group, then SIGKILL after <paramref name="grace"/> to the group and to every descendant
    /// wherever it went. Returns once it has exited and its output is drained (or abandoned, if a process we could
    /// not find still holds the pipes).
    /// </summary>
    public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        _stopRequested = true;
        if (_exited.Task.IsCompleted)
        {
            return;
        }

        var descendants = Descendants();
        _signalledAtStop = descendants;
        SignalGroup(Signal.Term);
        foreach (var pid in descendants)
        {
            _ = Kill(pid, (int)Signal.Term);
        }

        ProcessLog.Stopping(_logger, _program, Pid, descendants.Count);
        var finished = await Task.WhenAny(_exited.Task, Task.Delay(grace, cancellationToken)).ConfigureAwait(false);
        if (finished != _exited.Task)
        {
            SignalGroup(Signal.Kill);
            ProcessLog.Killing(_logger, _program, Pid, (long)grace.TotalMilliseconds, SignalDescendants(Signal.Kill).Count);
            await _exited.Task.WaitAsync(DrainGrace + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every live process descended from this child: its tree by parent pid, and every process carrying its marker
    /// (the ones that left the tree when their parent died). A process that both left the tree and cleared its
    /// environment cannot be told apart from the owner's own processes; see docs/security.md.
    /// </summary>
    public IReadOnlyCollection<int> Descendants() => ProcessTable.Descendants(Pid, Marker);

    /// <summary>
    /// Remembers what the agent already runs (its helpers, MCP servers) as a turn starts, so that cancelling the turn can
    /// end what the turn started — the tool processes — and nothing else.
    /// </summary>
    public void MarkTurnStart()
    {
        var before = Descendants();
        lock (_turnLock)
        {
            _beforeTurn = [.. before];
        }
    }

    /// <summary>
    /// Kills every descendant that appeared since <see cref="MarkTurnStart"/> and waits until they are gone: after a cancel
    /// no tool of that turn may keep running (an agent's own interrupt stops the turn, not always its tools).
    /// </summary>
    public async Task StopTurnProcessesAsync()
    {
        HashSet<int> before;
        lock (_turnLock)
        {
            before = _beforeTurn;
        }

        // In a sandbox the agent sits below the wrapper and its init, and may have appeared only after the turn began (bwrap
        // sets up its mounts first): they belong to the session, not to the turn, and are never among the turn's processes.
        var session = _wrapped ? SandboxedSession() : [];
        var started = Descendants().Where(pid => !before.Contains(pid) && !session.Contains(pid)).ToList();
        foreach (var pid in started)
        {
            _ = Kill(pid, (int)Signal.Kill);
        }

        if (started.Count > 0)
        {
            ProcessLog.TurnProcessesKilled(_logger, _program, Pid, started.Count);
        }

        await ProcessTable.WaitGoneAsync(started, DrainGrace).ConfigureAwait(false);
    }

    /// <summary>
    /// bubblewrap's init (the wrapper's one child, the sandbox's pid 1) and the agent (that init's first child). Everything
    /// else in the sandbox is the agent's doing, orphans the init adopted included.
    /// </summary>
    private IReadOnlyCollection<int> SandboxedSession()
    {
        if (_sandboxedAgent is { } known)
        {
            return known;
        }

        var init = ProcessTable.Children(Pid).ToList();
        if (init.Count != 1 || ProcessTable.FirstChild(init[0]) is not { } agent)
        {
            return init;
        }

        _sandboxedAgent = [init[0], agent];
        return _sandboxedAgent;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The kernel did not reap it in time; nothing more we can do from here.
        }

        // Process.Dispose leaves a redirected stream that was used to its user: stdin's pipe would stay open until a
        // collection finalized it (the output pipes are closed by their pumps).
        try
        {
            _process.StandardInput.Dispose();
        }
        catch (Exception exception) when (exception is IOException or InvalidOperationException)
        {
            // What was left in it could not be flushed to a process that is gone, or a write is still stuck on a pipe a
            // process we could not find holds: the handle goes with the process below, or with a collection.
        }

        _process.Dispose();
        _stdinLock.Dispose();
    }

    private async Task PumpStdoutAsync(Func<string, Task> onStdoutLine)
    {
        // Closed at the end of the output (see DisposeAsync): the pipe is the pump's, and it is done with it.
        using var reader = _process.StandardOutput;
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                await onStdoutLine(line).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // One bad line must not stop the pump: the agent is still talking.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                AppendStderr($"[pocketcoder] failed to handle an agent line: {exception.Message}\n");
                ProcessLog.OutputFailed(_logger, exception, _program, Pid);
            }
        }
    }

    private async Task PumpChunksAsync(StreamReader output, OutputStream stream, Func<OutputChunk, Task> onChunk)
    {
        // Closed at the end of the output (see DisposeAsync): the pipe is the pump's, and it is done with it.
        using var reader = output;
        var buffer = new char[16 * 1024];
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            var text = new string(buffer, 0, read);
            if (stream == OutputStream.Stderr)
            {
                AppendStderr(text);
            }

            try
            {
                await onChunk(new OutputChunk(stream, text)).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A failing consumer must not stop the pump: the child would block on a full pipe.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                AppendStderr($"[pocketcoder] failed to handle output: {exception.Message}\n");
                ProcessLog.OutputFailed(_logger, exception, _program, Pid);
            }
        }
    }

    private void AppendStderr(string chunk)
    {
        lock (_stderrTail)
        {
            _stderrTail.Append(chunk);
            if (_stderrTail.Length > StderrTailLimit)
            {
                _stderrTail.Remove(0, _stderrTail.Length - StderrTailLimit);
            }
        }
    }

    private async Task WaitForExitAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        // Reap the rest: an agent may leave a shell or a server behind it, a command a `setsid sleep &`. Whatever still
        // holds our pipes would otherwise keep the pumps (and so the exit) waiting for ever.
        SignalGroup(Signal.Kill);
        // A signal is delivered when the target next runs: wait until they are really gone, so that a final status
        // always means nothing of this child is left.
        if (!_startsDaemon || _stopRequested)
        {
            var leftovers = SignalDescendants(Signal.Kill);
            if (leftovers.Count > 0)
            {
                ProcessLog.LeftoversKilled(_logger, _program, Pid, leftovers.Count);
            }

            await ProcessTable.WaitGoneAsync([.. leftovers, .. _signalledAtStop], DrainGrace).ConfigureAwait(false);
        }

        var drained = Task.WhenAll(_stdoutPump, _stderrPump);
        if (await Task.WhenAny(drained, Task.Delay(DrainGrace)).ConfigureAwait(false) != drained)
        {
            AppendStderr("[pocketcoder] output was cut off: a process that could not be found still holds the output pipes.\n");
        }

        if (_attached is not null)
        {
            // Its way out to the network closes with it: nothing it left could use a listener the server still served.
            await _attached.DisposeAsync().ConfigureAwait(false);
        }

        var exitCode = _process.ExitCode;
        ProcessLog.Exited(_logger, _lifetimeLevel, _program, Pid, exitCode, ProcessLog.SignalOf(exitCode),
            (long)Stopwatch.GetElapsedTime(_startedAt).TotalMilliseconds, _stopRequested);
        _exited.TrySetResult(exitCode);
    }

    private IReadOnlyCollection<int> SignalDescendants(Signal signal)
    {
        var descendants = Descendants();
        foreach (var pid in descendants)
        {
            _ = Kill(pid, (int)signal);
        }

        return descendants;
    }

    private void SignalGroup(Signal signal)
    {
        // A negative pid addresses the process group the child leads (see setsid above).
        _ = Kill(-Pid, (int)signal);
    }

    private enum Signal
    {
        Term = 15,
        Kill = 9,
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>No child process can start: the launcher every one goes through (setsid) is missing. Its message says what to install.</summary>
public sealed class ProcessLauncherMissingException(string message) : InvalidOperationException(message);
