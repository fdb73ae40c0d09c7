namespace PocketCoder.Auth;

/// <summary>Pairing and revocation, for the operator's log. Never a code or a token; the device's name and id, the client address.</summary>
internal static partial class AuthLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Paired device {DeviceId} ({DeviceName}) from {Client}")]
    public static partial void Paired(ILogger logger, string deviceId, string deviceName, string client);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Wrong, used or expired pairing code from {Client}")]
    public static partial void PairingRefused(ILogger logger, string client);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Pairing from {Client} throttled for {RetryAfterSeconds} s after too many wrong codes")]
    public static partial void PairingThrottled(ILogger logger, string client, double retryAfterSeconds);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Device {DeviceId} revoked by {Actor}; its open streams are closed")]
    public static partial void Revoked(ILogger logger, string deviceId, string actor);
}
