using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// A server the tests run beside PocketCoder (pebble, PostgreSQL): started, awaited until it prints its ready line (no
/// polling, no sleeps), and ended with its children when disposed.
/// </summary>
internal sealed class ReadyProcess : IAsyncDisposable
{
    private readonly System.Text.StringBuilder _output = new();
    private readonly List<(string Text, int Occurrence, TaskCompletionSource Seen)> _awaited = [];

    private ReadyProcess(Process process) => Process = process;

    public Process Process { get; }

    /// <summary>Everything it printed so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<ReadyProcess> StartAsync(ProcessStartInfo start, string readyLine)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        var started = new ReadyProcess(process);
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (started._output)
            {
                started._output.AppendLine(line);
                started.Notify();
            }

            if (line.Contains(readyLine, StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("it exited"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception exception) when (exception is TimeoutException or InvalidOperationException)
        {
            await started.DisposeAsync();
            throw new Xunit.Sdk.XunitException($"{start.FileName} did not start ({exception.Message}):\n{started.Output}");
        }

        return started;
    }

    /// <summary>
    /// <c>pocketcoder hub serve --domain hub.test</c> as its own process (the built entry point, as an operator runs it),
    /// on https://127.0.0.1:<paramref name="port"/>, ready once it says it listens.
    /// </summary>
    public static Task<ReadyProcess> StartHubAsync(int port, string certificate, string key, string data,
        IEnumerable<string> more, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = PocketCoderCommand.Info(["hub", "serve", "--domain", "hub.test",
            "--cert", certificate, "--key", key, "--listen", $"https://127.0.0.1:{port}", "--data", data, .. more]);

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return StartAsync(start, "PocketCoder hub for");
    }

    /// <summary>Completes when the output holds <paramref name="text"/> for the <paramref name="occurrence"/>th time (already, or later).</summary>
    public async Task WaitForLineAsync(string text, int occurrence = 1, TimeSpan? timeout = null)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            _awaited.Add((text, occurrence, seen));
            Notify();
        }

        try
        {
            await seen.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"{Process.StartInfo.FileName} never printed \"{text}\" ({occurrence} times):\n{Output}");
        }
    }

    // Under the output's lock.
    private void Notify()
    {
        var output = _output.ToString();
        foreach (var (text, occurrence, seen) in _awaited)
        {
            var count = 0;
            for (var at = output.IndexOf(text, StringComparison.Ordinal); at >= 0; at = output.IndexOf(text, at + text.Length, StringComparison.Ordinal))
            {
                count++;
            }

            if (count >= occurrence)
            {
                seen.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        await Process.WaitForExitAsync();
        Process.Dispose();
    }

    /// <summary>A loopback port free now, for a server that must be told its port before it starts.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts something that must know its port before it binds (a hub advertising its address): a port free a moment ago
    /// can be taken by another test meanwhile, so a start that finds it in use is tried again on another one.
    /// </summary>
    public static async Task<(T Started, int Port)> OnFreePortAsync<T>(Func<int, Task<T>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            try
            {
                return (await start(port), port);
            }
            // "address already in use" from a socket; "is already in use by another program" from `pocketcoder serve`.
            catch (Exception exception) when (attempt < 3 && exception.ToString().Contains("already in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }
}
