using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Web;

/// <summary>The app's files go out as the build's brotli or gzip copies; JSON answers are compressed; event streams never.</summary>
public sealed class CompressionTests
{
    [Theory]
    [InlineData("br")]
    [InlineData("gzip")]
    public async Task AppShellAndScript_CompressedCopy_DecodesToTheFile(string encoding)
    {
        await using var server = await TestServer.StartAsync();
        var index = await server.Anonymous.GetStringAsync("/");
        var script = System.Text.RegularExpressions.Regex.Match(index, "/assets/[^\"]+\\.js").Value;
        var plainScript = await server.Anonymous.GetByteArrayAsync(script);

        foreach (var (path, plain) in new[] { ("/", System.Text.Encoding.UTF8.GetBytes(index)), ("/s/deep-link", System.Text.Encoding.UTF8.GetBytes(index)), (script, plainScript) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(encoding));
            using var response = await server.Anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(encoding, Assert.Single(response.Content.Headers.ContentEncoding));
            Assert.Contains("Accept-Encoding", response.Headers.Vary);
            var wire = await response.Content.ReadAsByteArrayAsync();
            Assert.True(wire.Length < plain.Length / 2, $"{path}: {wire.Length} bytes on the wire for {plain.Length}");
            Assert.Equal(plain, Decode(encoding, wire));
            Assert.NotNull(response.Headers.CacheControl);
        }
    }

    [Fact]
    public async Task NoAcceptEncoding_OrRefused_PlainFile()
    {
        await using var server = await TestServer.StartAsync();
        using var refused = new HttpRequestMessage(HttpMethod.Get, "/");
        refused.Headers.TryAddWithoutValidation("Accept-Encoding", "br;q=0, gzip;q=0");
        using var response = await server.Anonymous.SendAsync(refused);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Contains("/assets/", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonAnswers_Compressed_EventStreamsNot()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();

        using var json = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        json.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("br"));
        using var answer = await phone.Http.SendAsync(json);
        Assert.Equal("br", Assert.Single(answer.Content.Headers.ContentEncoding));
        Assert.Contains("\"openapi\"", System.Text.Encoding.UTF8.GetString(Decode("br", await answer.Content.ReadAsByteArrayAsync())), StringComparison.Ordinal);

        using var events = new HttpRequestMessage(HttpMethod.Get, "/api/events?tail=true");
        events.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("br"));
        events.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var stream = await phone.Http.SendAsync(events, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        Assert.Empty(stream.Content.Headers.ContentEncoding);
    }

    private static byte[] Decode(string encoding, byte[] wire)
    {
        using var input = new MemoryStream(wire);
        using Stream decoder = encoding == "br" ? new BrotliStream(input, CompressionMode.Decompress) : new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }
}
