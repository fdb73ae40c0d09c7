using PocketCoder.Realtime;
using PocketCoder.Workspace.Commands;

namespace PocketCoder.Notifications;

/// <summary>
/// Turns what happens into notifications. It follows the event log like any dashboard and hands each event to what notifies
/// about its kind: questions (<see cref="ApprovalNotifications"/>, with their escalation and expiry timers) and a session's
/// work (<see cref="SessionNotifications"/>); a command that finished is told by the command runner. Each notification goes
/// out through the <see cref="NotificationOutbox"/>, per device, so a slow push service never holds up the log, and every
/// outcome is recorded where the owner can see it.
/// </summary>
public sealed class Notifier(
    EventHub hub,
    ApprovalNotifications approvals,
    SessionNotifications sessions,
    CommandRunner commands,
    NotificationOutbox outbox,
    NotificationMessages messages,
    ILogger<Notifier> logger) : BackgroundService
{
    private CancellationToken _stopping;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        var sending = outbox.SendAllAsync(stoppingToken);
        commands.Finished += OnCommandFinished;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var subscription = hub.Subscribe(null, 4096);
                while (await subscription.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
                {
                    while (subscription.Reader.TryRead(out var item))
                    {
                        if (item.Stored is { } stored)
                        {
                            Handle(stored);
                        }
                    }
                }

                // Overflowed: turns may have gone by unannounced, but no question may. Look them up again.
                NotificationLog.CaughtUp(logger);
                try
                {
                    approvals.CatchUp(stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // As in Handle: the notifier goes on (its failure would stop the server).
                    NotificationLog.HandlerFailed(logger, exception, ApprovalRequestedEvent.Kind);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            commands.Finished -= OnCommandFinished;
            outbox.Complete();
            await sending.ConfigureAwait(false);
        }
    }

    /// <summary>Sends a test notification to every channel of the device now, and returns how each went.</summary>
    public Task<IReadOnlyList<NotificationDelivery>> SendTestAsync(string deviceId, CancellationToken cancellationToken) =>
        outbox.SendNowAsync(deviceId, messages.Message(NotificationSettings.Default, false, NotificationKinds.Test, "PocketCoder test",
            "Notifications from PocketCoder reach this device.", "", "test", "/devices"), cancellationToken);

    private void Handle(StoredEvent stored)
    {
        try
        {
            // Each reads its own kinds of event: one that does not go on matches none of the others'.
            _ = approvals.Handle(stored, _stopping) || sessions.Handle(stored);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // A notification that cannot be made (a busy database, a malformed event) must not stop the notifier, whose
            // failure would stop the server.
            NotificationLog.HandlerFailed(logger, exception, stored.Kind);
        }
    }

    private void OnCommandFinished(CommandRun run, CommandExitEvent exit)
    {
        try
        {
            var projectName = messages.ProjectName(run.ProjectId);
            var outcome = exit.Status switch
            {
                "timed_out" => "timed out",
                "cancelled" => "was cancelled",
                _ => $"exited {exit.ExitCode}",
            };
            outbox.Dispatch(NotificationKinds.CommandFinished, run.Id, (_, settings, silent) => messages.Message(settings, silent, NotificationKinds.CommandFinished,
                $"Command finished · {projectName}", $"`{run.Command}` {outcome} after {exit.DurationMs / 1000.0:0.#} s", "A command finished.",
                $"command-{run.ProjectId}", $"/p/{run.ProjectId}/run"), escalate: false);
        }
        catch (Exception exception)
        {
            // Called from the command runner as the command ends: nothing here may break that.
            NotificationLog.HandlerFailed(logger, exception, NotificationKinds.CommandFinished);
        }
    }
}
