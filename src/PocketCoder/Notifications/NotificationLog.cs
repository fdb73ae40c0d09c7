namespace PocketCoder.Notifications;

internal static partial class NotificationLog
{
    /// <remarks>Never the endpoint (it is a capability URL) nor the token: the device and the channel's kind say which.</remarks>
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Notification {Event} to device {DeviceId} over {Channel} failed (status {Status}): {Error}")]
    public static partial void SendFailed(ILogger logger, string channel, string deviceId, string @event, int status, string error);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Notifications fell behind the event log; pending approvals were looked up again")]
    public static partial void CaughtUp(ILogger logger);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "The notification queue is full: {Event} to device {DeviceId} dropped")]
    public static partial void Dropped(ILogger logger, string @event, string deviceId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Notifying about event {Kind} failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string kind);
}
