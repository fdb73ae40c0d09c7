using System.Text;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Network;

/// <summary>
/// A request to the sandbox's proxy, read strictly: <c>CONNECT host:port</c> (a tunnel, TLS or anything else inside it, never
/// looked into), or a plain-HTTP request naming an absolute <c>http://</c> URL. Anything else (an origin-form request meant for
/// the proxy itself, user info in an authority, a line that is not exactly one line) is refused: what is not read exactly is
/// never decided.
/// </summary>
/// <param name="Path">The origin-form target a plain-HTTP request goes on with (<c>/path?query</c>); null for CONNECT.</param>
public sealed record ProxyRequest(string Method, NetworkEndpoint Target, string? Path, IReadOnlyList<(string Name, string Value)> Headers)
{
    /// <summary>The longest request head taken (a proxy request's head is a few hundred bytes).</summary>
    public const int MaxHead = 16 * 1024;

    public bool IsConnect => Method == "CONNECT";

    /// <summary>The request read from <paramref name="head"/> (ending with its blank line), or null with why not.</summary>
    public static ProxyRequest? Parse(ReadOnlySpan<byte> head, out string? problem)
    {
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        var parts = lines[0].Split(' ');
        problem = null;
        if (parts.Length != 3 || parts[0].Length == 0 || !parts[0].All(char.IsAsciiLetterUpper) || parts[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            problem = "not an HTTP/1.x request line";
            return null;
        }

        var headers = new List<(string, string)>();
        foreach (var line in lines.Skip(1).TakeWhile(line => line.Length > 0))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line.Any(c => c is '\r' or '\n' or '\0') || line[..colon].Any(c => c is ' ' or '\t'))
            {
                problem = "a malformed header line";
                return null;
            }

            headers.Add((line[..colon], line[(colon + 1)..].Trim()));
        }

        var (method, target) = (parts[0], parts[1]);
        if (method == "CONNECT")
        {
            return NetworkEndpoint.Parse(target) is { } endpoint ? new ProxyRequest(method, endpoint, null, headers) : Refuse(out problem, target);
        }

        const string Scheme = "http://";
        if (!target.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            problem = "this is a proxy: ask for an absolute http:// URL, or CONNECT to a host and port";
            return null;
        }

        var rest = target[Scheme.Length..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        var authority = end < 0 ? rest : rest[..end];
        var path = end < 0 ? "/" : rest[end] == '/' ? rest[end..] : "/" + rest[end..];
        return NetworkEndpoint.Parse(authority, defaultPort: 80) is { } host ? new ProxyRequest(method, host, path, headers) : Refuse(out problem, authority);
    }

    private static ProxyRequest? Refuse(out string problem, string authority)
    {
        problem = $"'{(authority.Length > 100 ? authority[..100] + "…" : authority)}' is not a host and port";
        return null;
    }

    // Hop-by-hop headers of the client's leg to the proxy: never forwarded to the host.
    private static readonly HashSet<string> ProxyOnly = new(StringComparer.OrdinalIgnoreCase)
    {
        "Proxy-Connection", "Proxy-Authorization", "Connection", "Keep-Alive",
    };

    /// <summary>
    /// A plain-HTTP request's head as the host gets it: the origin-form target, the proxy's own headers left out, and
    /// <c>Connection: close</c>, since each connection through the proxy goes to one host only (a client reusing it for
    /// another host would reach the first one). An upgrade (a web socket) keeps its <c>Connection</c> header.
    /// </summary>
    public byte[] ForwardedHead()
    {
        var upgrade = Headers.Any(h => h.Name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase));
        var text = new StringBuilder($"{Method} {Path} HTTP/1.1\r\n");
        foreach (var (name, value) in Headers.Where(h => !ProxyOnly.Contains(h.Name) || (upgrade && h.Name.Equals("Connection", StringComparison.OrdinalIgnoreCase))))
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (!upgrade)
        {
            text.Append("Connection: close\r\n");
        }

        return Encoding.Latin1.GetBytes(text.Append("\r\n").ToString());
    }

    /// <summary>
    /// A response head from the host as the client gets it: <c>Connection: close</c> in place of whatever the host said, so the
    /// client opens a new connection (and the proxy decides again) for its next request. An interim (1xx) head or a switch of
    /// protocols goes as it came.
    /// </summary>
    public static byte[] ClosingResponseHead(ReadOnlySpan<byte> head)
    {
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        if (lines[0].Split(' ') is [_, { Length: 3 } status, ..] && status[0] == '1')
        {
            return head.ToArray();
        }

        var text = new StringBuilder(lines[0]).Append("\r\n");
        foreach (var line in lines.Skip(1).TakeWhile(line => line.Length > 0))
        {
            var name = line.Split(':', 2)[0].Trim();
            if (!ProxyOnly.Contains(name))
            {
                text.Append(line).Append("\r\n");
            }
        }

        return Encoding.Latin1.GetBytes(text.Append("Connection: close\r\n\r\n").ToString());
    }

    /// <summary>Whether a response head is interim (1xx other than 101): another head follows it.</summary>
    public static bool IsInterim(ReadOnlySpan<byte> head) =>
        Encoding.Latin1.GetString(head[..Math.Min(head.Length, 16)]).Split(' ') is [_, { Length: 3 } status, ..] && status[0] == '1' && status != "101";
}
