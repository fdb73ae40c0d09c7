namespace PocketCoder.Bridges;

/// <summary>The bridges, for the operator's log. Never a token or a pairing code; platform user ids and chat ids, which are not secret.</summary>
internal static partial class BridgeLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Bridge {Bridge} connected to {Platform} as {BotName}")]
    public static partial void Connected(ILogger logger, string bridge, string platform, string botName);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Bridge {Bridge} cannot reach {Platform} ({Problem}); trying again in {RetrySeconds} s")]
    public static partial void Unreachable(ILogger logger, string bridge, string platform, string problem, double retrySeconds);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Bridge {Bridge}: {UserName} ({UserId}) linked as device {DeviceId}")]
    public static partial void Linked(ILogger logger, string bridge, string userName, string userId, string deviceId);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Bridge {Bridge}: wrong, used or expired pairing code from user {UserId}")]
    public static partial void LinkRefused(ILogger logger, string bridge, string userId);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Bridge {Bridge}: ignored a {What} from user {UserId}, who is not linked")]
    public static partial void Ignored(ILogger logger, string bridge, string what, string userId);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "Bridge {Bridge}: a repeated delivery {DeliveryId} was not handled again")]
    public static partial void Duplicate(ILogger logger, string bridge, string deliveryId);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Information, Message = "Rate limited by the chat platform; sending again in {RetrySeconds} s")]
    public static partial void RateLimited(ILogger logger, double retrySeconds);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning, Message = "The chat platform refused a call: {Problem}")]
    public static partial void Refused(ILogger logger, string problem);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "Gave up on a chat call after {Attempts} attempts: {Problem}")]
    public static partial void GaveUp(ILogger logger, int attempts, string problem);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "A bridge's outbox holds {Count} calls; this one is dropped")]
    public static partial void OutboxFull(ILogger logger, int count);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Error, Message = "Bridge {Bridge} failed handling a delivery")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string bridge);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Error, Message = "Bridges not started: {Problem}")]
    public static partial void BadFile(ILogger logger, string problem);

    [LoggerMessage(EventId = 6013, Level = LogLevel.Error, Message = "A chat call failed in a way no retry mends; it is dropped")]
    public static partial void CallFailed(ILogger logger, Exception exception);
}
