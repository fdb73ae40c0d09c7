using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using PocketCoder.Errors;

namespace PocketCoder.Realtime;

/// <summary>
/// The one way PocketCoder speaks Server-Sent Events, for the session, dashboard, command and terminal streams:
/// the headers, the opening (reconnect delay, a comment that gets the headers out), frames, heartbeats, and the resume
/// cursor a client sends back. The session streams write their cached frame bytes through <see cref="WriteFrameAsync"/>
/// (building them once per event is what keeps fan-out cheap, see docs/performance.md).
/// </summary>
/// <remarks>
/// Frames go into the response's <see cref="PipeWriter"/> and leave on <see cref="FlushAsync"/>:
/// whatever a stream has queued when it wakes goes out as one write (one chunk, one send) rather than a write and a
/// flush per frame, as <c>Response.Body</c> does. A long catch-up is flushed every <see cref="FlushAt"/> bytes, so
/// what waits in the pipe stays bounded and a slow client still pushes back.
/// </remarks>
public sealed class Sse
{
    /// <summary>Unflushed bytes at which a write flushes by itself.</summary>
    internal const int FlushAt = 32 * 1024;

    private readonly PipeWriter _writer;
    private int _unflushed;

    private Sse(HttpResponse response) => _writer = response.BodyWriter;

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
        await sse.WriteFrameAsync("retry: 2000\n: connected\n\n"u8, cancellationToken);
        await sse.FlushAsync(cancellationToken);
        return sse;
    }

    /// <summary>
    /// One event. <paramref name="data"/> is compact JSON (no raw newline), so one data line holds it. Without an
    /// <paramref name="id"/> the client keeps its last one, so resuming is unaffected. Not flushed: call
    /// <see cref="FlushAsync"/> once a batch is written.
    /// </summary>
    public ValueTask WriteEventAsync(string kind, string data, long? id, CancellationToken cancellationToken) =>
        WriteFrameAsync(Encoding.UTF8.GetBytes(Frame(kind, data, id)), cancellationToken);

    /// <summary>The text of one event frame.</summary>
    public static string Frame(string kind, string data, long? id) => id is { } value
        ? string.Create(CultureInfo.InvariantCulture, $"id: {value}\nevent: {kind}\ndata: {data}\n\n")
        : $"event: {kind}\ndata: {data}\n\n";

    /// <summary>
    /// A frame already encoded (the session streams' cached bytes), copied into the pipe. Not flushed unless
    /// <see cref="FlushAt"/> bytes are waiting; then it waits for the client as a flush does.
    /// </summary>
    public ValueTask WriteFrameAsync(ReadOnlySpan<byte> frame, CancellationToken cancellationToken)
    {
        _writer.Write(frame);
        _unflushed += frame.Length;
        return _unflushed < FlushAt ? ValueTask.CompletedTask : FlushAsync(cancellationToken);
    }

    /// <summary>A comment line, flushed: keeps proxies and phones from closing an idle stream.</summary>
    public async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        await WriteFrameAsync(Heartbeat, cancellationToken);
        await FlushAsync(cancellationToken);
    }

    /// <summary>Sends what the writes queued, as one write.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _unflushed = 0;
        await _writer.FlushAsync(cancellationToken);
    }

    private static readonly byte[] Heartbeat = ": heartbeat\n\n"u8.ToArray();
}
