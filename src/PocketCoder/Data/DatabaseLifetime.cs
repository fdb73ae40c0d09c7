namespace PocketCoder.Data;

/// <summary>
/// Registered before every other hosted service, so it stops after them: whatever they queued while
/// stopping (the last agent events) is committed before the process goes. It also reports queued writes
/// that had to be dropped.
/// </summary>
public sealed class DatabaseLifetime(Database database, ILogger<DatabaseLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        database.OnQueuedWriteFailed = exception => logger.LogWarning(exception, "A queued write failed and was dropped");
        foreach (var fix in database.PermissionFixes)
        {
            logger.LogWarning("The data folder was open to other users; narrowed {Fix}", fix);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        database.Flush();
        return Task.CompletedTask;
    }
}
