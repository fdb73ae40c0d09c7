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
}
