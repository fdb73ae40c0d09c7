using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using PocketCoder.Errors;
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
        api.MapGet("/sessions/{id}/events/page", Page).WithName("SessionEventPage");
        api.MapGet("/events", AllEvents).WithName("AllEvents").Produces<string>(StatusCodes.Status200OK, "text/event-stream");
    }

    /// <summary>One session's events; the SSE id is the per-session seq.</summary>
    private static async Task SessionEvents(string id, HttpContext context, Sessions.SessionStore sessions, EventLog log, EventStream stream,
        Approvals.ApprovalStore approvals, DevicePresence presence, Sessions.LooksAhead looks, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        var session = sessions.Get(id);
        var after = Sse.Cursor(context);
        // A watch link's page is no device of the team's: it neither counts as someone looking nor takes a question as delivered.
        using var open = user.Watcher() is null ? presence.StreamOpened(user.Actor().Id) : null;
        if (user.Watcher() is null)
        {
            looks.SessionOpened(user.Actor(), session.Id);
        }

        await stream.RunAsync(context, session.Id, after, (cursor, limit) => log.ReadSession(session.Id, cursor, limit), e => e.Seq,
            Acknowledge(approvals, user), cancellationToken);
    }

    /// <summary>Events per page when the caller names no <c>limit</c>; and the most it may name.</summary>
    public const int DefaultPageSize = 200;
    public const int MaxPageSize = 1000;

    /// <summary>
    /// One page of a session's transcript read backwards: the newest events without <c>before</c>, then the ones before
    /// each page's <c>before</c> cursor. A phone opens a session with the newest page and follows the stream from its
    /// <c>lastSeq</c>, so what it loads and holds does not grow with the session's length.
    /// </summary>
    private static EventPage Page(string id, string? before, int? limit, Sessions.SessionStore sessions, EventLog log)
    {
        var session = sessions.Get(id);
        var size = limit ?? DefaultPageSize;
        if (size is < 1 or > MaxPageSize)
        {
            throw ApiProblem.Validation($"'limit' is from 1 to {MaxPageSize}.");
        }

        long beforeSeq = long.MaxValue;
        if (before is not null && (!long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out beforeSeq) || beforeSeq < 1))
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "'before' must be a positive seq (a page's 'before').");
        }

        var events = log.ReadSessionBefore(session.Id, beforeSeq, size);
        var oldest = events.Count > 0 ? events[0].Seq : beforeSeq;
        return new EventPage(
            [.. events.Select(e => new PagedEvent(e.Seq, e.Kind, JsonElement.Parse(e.Data), e.At))],
            oldest > 1 && events.Count == size ? oldest : null,
            events.Count > 0 ? events[^1].Seq : 0);
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
        var watcher = user.Watcher() is not null;
        return stored =>
        {
            if (watcher)
            {
                return;
            }

            if (stored.As<ApprovalRequestedEvent>() is { } requested)
            {
                approvals.MarkDelivered([requested.ApprovalId], deviceId);
            }
        };
    }
}

/// <summary>One event as a page carries it: what the stream would have sent (<c>data</c> holds <c>sessionId</c> and <c>seq</c> too).</summary>
public sealed record PagedEvent(long Seq, string Kind, JsonElement Data, string At);

/// <param name="Events">Oldest first, gapless.</param>
/// <param name="Before">The cursor for the page before this one; null once this page starts at the session's first event.</param>
/// <param name="LastSeq">The newest seq on this page (0 when empty): the first page's is where the live stream resumes (<c>?after=</c>).</param>
public sealed record EventPage(IReadOnlyList<PagedEvent> Events, long? Before, long LastSeq);
