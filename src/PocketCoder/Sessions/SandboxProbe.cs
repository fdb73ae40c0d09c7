namespace PocketCoder.Sessions;

/// <summary>
/// Probes the sandbox once the server answers, not before: nothing needs it to listen, and health asks the probe only when
/// it is done (<see cref="Sandboxing.Probed"/>), so a session's start or health after it finds the answer there. Started
/// earlier, its three processes competed with start-up for the CPU; on health's path, the first answer waited for them.
/// </summary>
public sealed class SandboxProbe(Sandboxing sandboxing, IHostApplicationLifetime lifetime, ILogger<SandboxProbe> logger) : IHostedService
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the probe has answered or failed: start-up's last work (<see cref="Server.StartupPages"/> waits for it).</summary>
    public Task Done => _done.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _ = ProbeAsync());
        return Task.CompletedTask;
    }

    private async Task ProbeAsync()
    {
        try
        {
            await sandboxing.ProbeAsync().ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // Whoever asks next (a session's start, health) runs into the same failure and reports it; nothing to add here.
            logger.LogDebug(exception, "Probing the sandbox failed");
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Nothing to wait for: a probe's bubblewrap runs with --die-with-parent.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        // A server stopped before it answered never probed: whoever waits for the probe is let go.
        _done.TrySetResult();
        return Task.CompletedTask;
    }
}
