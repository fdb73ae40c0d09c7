using System.Security.Claims;
using PocketCoder.Auth;
using PocketCoder.Notifications;

namespace PocketCoder.Realtime;

public static class EventsApi
{
    public static IServiceCollection AddEvents(this IServiceCollection services) =>
        services.AddSingleton<EventHub>().AddSingleton<EventLog>().AddSingleton<EventStream>();

    public static void MapEvents(this IEndpointRouteBuilder api)
    {
        api.MapGet("/sessions/{id}/events", SessionEvents).WithName("SessionEvents").Produces<string>(StatusCodes.Status200OK, "text/event-stream");
        api.MapGet("/events", AllEvents).WithName("AllEvents").Produces<string>(StatusCodes.Status200OK, "text/event-stream");
    }

    /// <summary>One session's events; the SSE id is the per-session seq.</summary>
    private static async Task SessionEvents(string id, HttpContext context, Sessions.SessionStore sessions, EventLog log, EventStream stream,
        Approvals.ApprovalStore approvals, DevicePresence presence, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var session = sessions.Get(id);
        var after = Sse.Cursor(context);
        using var open = presence.StreamOpened(user.Actor().Id);
        await stream.RunAsync(context, session.Id, after, (cursor, limit) => log.ReadSession(session.Id, cursor, limit), e => e.Seq,
            Acknowledge(approvals, user), cancellationToken);
    }

    /// <summary>Every session's events for a dashboard; the SSE id is the log-wide id.</summary>
    private static async Task AllEvents(HttpContext context, EventLog log, EventStream stream, Approvals.ApprovalStore approvals,
        DevicePresence presence, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        using var open = presence.StreamOpened(user.Actor().Id);
        // (ext) ?tail=true: only what happens from now on. A dashboard loads the current state over REST and
        // needs the live changes, not a replay of every delta ever logged. Last-Event-ID still wins on a reconnect.
        var tail = !context.Request.Headers.ContainsKey("Last-Event-ID") && context.Request.Query["after"].Count == 0
            && string.Equals(context.Request.Query["tail"].FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
        var after = tail ? log.LatestId() : Sse.Cursor(context);
        await stream.RunAsync(context, null, after, log.ReadAll, e => e.Id, Acknowledge(approvals, user), cancellationToken);
    }

    /// <summary>An approval question that reached a device's stream counts as delivered to that device.</summary>
    private static Action<StoredEvent> Acknowledge(Approvals.ApprovalStore approvals, ClaimsPrincipal user)
    {
        var deviceId = user.Actor().Id;
        return stored =>
        {
            if (stored.As<ApprovalRequestedEvent>() is { } requested)
            {
                approvals.MarkDelivered([requested.ApprovalId], deviceId);
            }
        };
    }
}
