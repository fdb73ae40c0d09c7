using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Bridges;

/// <summary>What the platforms' Web APIs have in common: the same HTTP client, and answers read as JSON when they are JSON.</summary>
internal static class ChatHttp
{
    /// <summary>
    /// No redirects: a token or an app secret goes only to the configured API address, never where an answer points. An
    /// answer is a page of updates, one message or one user: a server sending more than 8 MiB is not the platform.
    /// </summary>
    public static HttpClient Client(TimeSpan timeout) =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
        {
            Timeout = timeout,
            MaxResponseContentBufferSize = 8 << 20,
        };

    /// <summary>
    /// The API's address for a method or path, joined as text: a token in the path (Telegram's) holds a colon, which Uri's
    /// relative resolution would take for a scheme.
    /// </summary>
    public static Uri Address(BridgeDefinition bridge, string path) => new(bridge.ApiBase.ToString().TrimEnd('/') + "/" + path);

    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>A text file as a part of a multipart upload.</summary>
    public static ByteArrayContent TextFile(string content) =>
        new(Encoding.UTF8.GetBytes(content)) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } };

    /// <summary>The platform's wait after a 429, kept between a second and an hour.</summary>
    public static ChatRateLimitedException RateLimited(double seconds) => new(TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 3600)));

    /// <summary>The answer's body, or null when it is not JSON (a proxy's error page): the caller says what went wrong.</summary>
    public static async Task<JsonNode?> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>People's names by their platform ids, each looked up once and remembered (for up to 10,000 people).</summary>
internal sealed class ChatNames
{
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    /// <summary>The name remembered, else the one <paramref name="lookUpAsync"/> finds; <paramref name="fallback"/> (not remembered:
    /// asked again next time) when the lookup fails in a way <paramref name="expected"/> accepts.</summary>
    public async Task<string> GetAsync(string userId, Func<Task<string>> lookUpAsync, Func<Exception, bool> expected, string fallback)
    {
        if (_names.TryGetValue(userId, out var known))
        {
            return known;
        }

        try
        {
            var name = await lookUpAsync().ConfigureAwait(false);
            if (_names.Count < 10_000)
            {
                _names[userId] = name;
            }

            return name;
        }
        catch (Exception exception) when (expected(exception))
        {
            return fallback;
        }
    }
}
