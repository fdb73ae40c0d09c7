namespace PocketCoder.Notifications;

/// <summary>
/// Makes the first push after a start as fast as the rest. Left cold, it paid for everything done once per process: the
/// first ES256 signature and JSON of a VAPID token, the first ECDH and AES-GCM, the HTTP stack's first request, and a new
/// connection (with its TLS handshake) to the push service: 47–166 ms against 3–8 ms warm. Once the server answers, this
/// does each of them in the background, for the channels the devices have, so start-up waits for none of it.
/// </summary>
public sealed class PushWarmup(PushSender sender, NotificationStore store, IHostApplicationLifetime lifetime, ILogger<PushWarmup> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _warmed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _warming = Task.CompletedTask;

    /// <summary>Done when the warm-up has run (or given up); never faults. Never done for a server stopped before it started.</summary>
    public Task Warmed => _warmed.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _warming = Task.Run(WarmAsync, CancellationToken.None));
        return Task.CompletedTask;
    }

    private async Task WarmAsync()
    {
        try
        {
            await sender.WarmAsync(store.Channels(), _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // Warming is an optimisation: the first push then pays the cost itself, as before.
            logger.LogDebug(exception, "Warming the push path failed");
        }
        finally
        {
            _warmed.TrySetResult();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _warming.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
