using System.Globalization;
using System.Text;
using PocketCoder.Errors;

namespace PocketCoder.Realtime;

/// <summary>
/// The one way PocketCoder speaks Server-Sent Events, for the session, dashboard, command and terminal streams:
/// the headers, the opening (reconnect delay, a comment that gets the headers out), frames, heartbeats, and the resume
/// cursor a client sends back. The session streams write their cached frame bytes through <see cref="WriteFrameAsync"/>
/// (building them once per event is what keeps fan-out cheap, see docs/performance.md).
/// </summary>
public sealed class Sse
{
    private readonly HttpResponse _response;

    private Sse(HttpResponse response) => _response = response;

    /// <summary>
    /// Resume point: the standard <c>Last-Event-ID</c> header wins over <c>?after=</c>; neither means from the start.
    /// Anything but a non-negative integer is a 400 <c>INVALID_CURSOR</c>, before the stream starts.
    /// </summary>
    public static long Cursor(HttpContext context)
    {
        var raw = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["after"].FirstOrDefault();
        if (string.IsNullOrWhiteSpace(raw))
        {
            return 0;
        }

        return long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor)
            ? cursor
            : throw ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "Last-Event-ID (or 'after') must be a non-negative event id.");
    }

    /// <summary>Sends the headers and the opening, so the client knows at once that it is connected.</summary>
    public static async Task<Sse> StartAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        // Tells a reverse proxy (nginx and those that copy it) not to hold frames back.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        var sse = new Sse(response);
        await sse.WriteFrameAsync(Encoding.UTF8.GetBytes("retry: 2000\n: connected\n\n"), cancellationToken);
        await sse.FlushAsync(cancellationToken);
        return sse;
    }

    /// <summary>
    /// One event. <paramref name="data"/> is compact JSON (no raw newline), so one data line holds it. Without an
    /// <paramref name="id"/> the client keeps its last one, so resuming is unaffected. Not flushed: call
    /// <see cref="FlushAsync"/> once a batch is written.
    /// </summary>
    public Task WriteEventAsync(string kind, string data, long? id, CancellationToken cancellationToken) =>
        WriteFrameAsync(Encoding.UTF8.GetBytes(Frame(kind, data, id)), cancellationToken);

    /// <summary>The text of one event frame.</summary>
    public static string Frame(string kind, string data, long? id) => id is { } value
        ? string.Create(CultureInfo.InvariantCulture, $"id: {value}\nevent: {kind}\ndata: {data}\n\n")
        : $"event: {kind}\ndata: {data}\n\n";

    /// <summary>A frame already encoded (the session streams' cached bytes). Not flushed.</summary>
    public async Task WriteFrameAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
        await _response.Body.WriteAsync(frame, cancellationToken);

    /// <summary>A comment line, flushed: keeps proxies and phones from closing an idle stream.</summary>
    public async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        await WriteFrameAsync(Heartbeat, cancellationToken);
        await FlushAsync(cancellationToken);
    }

    public Task FlushAsync(CancellationToken cancellationToken) => _response.Body.FlushAsync(cancellationToken);

    private static readonly byte[] Heartbeat = ": heartbeat\n\n"u8.ToArray();
}
