using Microsoft.Extensions.Logging;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>Every child process's start, exit (code, signal, duration) and kill reach the log, without its arguments.</summary>
[Trait("Category", "Unit")]
public sealed class ChildProcessLogTests
{
    private const string Secret = "s3cret-token-in-an-argument";

    [Fact]
    public async Task Exit_IsLogged_WithCodeSignalAndDuration_ButNotTheArguments()
    {
        var logs = new CapturedLogs();
        await using var child = ChildProcess.Start(Spec(logs, $"echo {Secret} >/dev/null; exit 3"), _ => Task.CompletedTask);

        Assert.Equal(3, await child.Exited.WaitAsync(TimeSpan.FromSeconds(30)));

        var started = Assert.Single(logs.WithId(1001));
        Assert.Equal(LogLevel.Information, started.Level);
        Assert.Equal("sh", started.Values["Program"]);
        Assert.Equal(child.Pid, started.Values["Pid"]);
        var exited = Assert.Single(logs.WithId(1002));
        Assert.Equal(LogLevel.Information, exited.Level);
        Assert.Equal(3, exited.Values["ExitCode"]);
        Assert.Equal("none", exited.Values["Signal"]);
        Assert.IsType<long>(exited.Values["DurationMs"]);
        Assert.Equal(false, exited.Values["StopRequested"]);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_IsLogged_AndTheExitNamesTheSignal()
    {
        var logs = new CapturedLogs();
        var ready = new TaskCompletionSource();
        // exec: the group leader is sleep itself, so SIGTERM ends it and its exit reports the signal.
        await using var child = ChildProcess.Start(Spec(logs, "echo up; exec sleep 300"), line =>
        {
            ready.TrySetResult();
            return Task.CompletedTask;
        });
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await child.StopAsync(TimeSpan.FromSeconds(10));

        Assert.Single(logs.WithId(1003));
        var exited = Assert.Single(logs.WithId(1002));
        Assert.Equal("SIGTERM", exited.Values["Signal"]);
        Assert.Equal(true, exited.Values["StopRequested"]);
        Assert.Empty(logs.WithId(1004)); // It went at SIGTERM: no SIGKILL was needed.
    }

    [Fact]
    public async Task HelperRun_IsLoggedAtDebug()
    {
        var logs = new CapturedLogs();

        var result = await ChildProcess.RunAsync(Spec(logs, "exit 0"), 1024, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.All(logs.WithId(1001).Concat(logs.WithId(1002)), entry => Assert.Equal(LogLevel.Debug, entry.Level));
        Assert.Single(logs.WithId(1002));
    }

    [Theory]
    [InlineData(0, "none")]
    [InlineData(1, "none")]
    [InlineData(128, "none")]
    [InlineData(137, "SIGKILL")]
    [InlineData(143, "SIGTERM")]
    [InlineData(130, "SIGINT")]
    [InlineData(134, "6")]
    public void SignalOf_DecodesTheShellConvention(int exitCode, string signal) => Assert.Equal(signal, ProcessLog.SignalOf(exitCode));

    private static ProcessSpec Spec(CapturedLogs logs, string script) =>
        new("sh", ["-c", script], Path.GetTempPath(), new Dictionary<string, string?>(), StderrLogPath: null, Logger: logs.CreateLogger("test"));
}
