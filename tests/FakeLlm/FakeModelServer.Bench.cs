using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FakeLlm;

/// <summary>
/// A streamed answer of a size the caller names, for bench/ (ModelEndpointBench: the model endpoint that puts a held key in,
/// against the plain tunnel): <c>GET|POST /bench/stream?bytes=N</c> answers N bytes of server-sent events in 64 KiB writes, each
/// flushed as a model's stream is; <c>&amp;paced=1</c> at 1 Gbit/s, as a fast link delivers it. No script is consumed and nothing
/// is recorded.
/// </summary>
public sealed partial class FakeModelServer
{
    private void MapBenchEndpoints() => _app.MapMethods("/bench/stream", [HttpMethods.Get, HttpMethods.Post], StreamAsync);

    private static async Task StreamAsync(HttpContext context)
    {
        var cancel = context.RequestAborted;
        var query = context.Request.Query;
        var length = long.TryParse(query["bytes"], NumberStyles.None, CultureInfo.InvariantCulture, out var asked) ? Math.Min(asked, 1L << 30) : 2048;
        var paced = query["paced"] == "1";
        // The request's body is read whole first, as a model reads its prompt.
        await context.Request.Body.CopyToAsync(Stream.Null, cancel).ConfigureAwait(false);
        context.Response.ContentType = "text/event-stream";
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        var started = Stopwatch.GetTimestamp();
        for (var sent = 0L; sent < length;)
        {
            if (paced && TimeSpan.FromSeconds(sent / 125e6) - Stopwatch.GetElapsedTime(started) is { TotalMilliseconds: > 0 } ahead)
            {
                await Task.Delay(ahead, cancel).ConfigureAwait(false);
            }

            var part = (int)Math.Min(chunk.Length, length - sent);
            await context.Response.Body.WriteAsync(chunk.AsMemory(0, part), cancel).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
            sent += part;
        }
    }
}
