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
