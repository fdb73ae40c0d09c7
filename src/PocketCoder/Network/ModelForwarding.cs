using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Network;

/// <summary>
/// One connection to a sandbox's model endpoint (<see cref="ModelForward"/>, docs/security.md, "Secrets"): one request, read as
/// a plain-HTTP origin-form request, its credential headers given their real values in place of the placeholders the agent
/// holds, sent on to the real host (over TLS for an https base URL, its certificate verified as usual), and the answer passed
/// back. One request per connection (<c>Connection: close</c> both ways), as the proxy's own plain-HTTP leg does, so every
/// request is read here and none rides on a connection already open to the host.
/// </summary>
public static class ModelForwarding
{
    /// <summary>Headers of the client's leg only: the host gets its own <c>Host</c> and <c>Connection: close</c>.</summary>
    private static readonly HashSet<string> OwnLeg = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
    };

    /// <summary>A request's head as the host gets it, and the secrets it carries; null when it is not an origin-form HTTP/1.x request.</summary>
    public static (byte[] Head, IReadOnlyList<HeldSecret> Used)? Rewrite(ReadOnlySpan<byte> head, ModelForward forward, out string? problem)
    {
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        var parts = lines[0].Split(' ');
        problem = null;
        // A lone LF, CR or other control byte in a line would let a host that ends lines at LF read the rest as a body carrying
        // the real key (echoed back in its error), so any is refused; as is every method but those the agents send (TRACE echoes).
        if (lines.TakeWhile(line => line.Length > 0).Any(line => line.Any(c => (c < 0x20 && c != '\t') || c == 0x7F)))
        {
            problem = "a control character in the request's head";
            return null;
        }

        if (parts.Length != 3 || parts[0] is not ("GET" or "POST" or "HEAD" or "OPTIONS") || parts[2] is not ("HTTP/1.1" or "HTTP/1.0")
            || !parts[1].StartsWith('/') || parts[1].StartsWith("//", StringComparison.Ordinal))
        {
            problem = "not an HTTP/1.x request for a path of the model's";
            return null;
        }

        // The target goes on as sent (with the endpoint's path before it): a space, tab or byte past ASCII in it would be read by
        // some hosts as the target's end and the rest as something else; none belongs in an origin-form target.
        if (parts[1].Any(c => c <= ' ' || c >= 0x7F))
        {
            problem = "a control, space or non-ASCII character in the request's target";
            return null;
        }

        if (!forward.Serves(parts[0], parts[1]))
        {
            problem = "a path the model's endpoint does not serve";
            return null;
        }

        var upstream = forward.Upstream;
        var text = new StringBuilder($"{parts[0]} {upstream.AbsolutePath.TrimEnd('/')}{parts[1]} HTTP/1.1\r\n");
        text.Append("Host: ").Append(upstream.IsDefaultPort ? upstream.IdnHost : $"{upstream.IdnHost}:{upstream.Port}").Append("\r\n");
        var used = new List<HeldSecret>();
        foreach (var line in lines.Skip(1).TakeWhile(line => line.Length > 0))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line[..colon].Any(c => c is ' ' or '\t'))
            {
                problem = "a malformed header line";
                return null;
            }

            var (name, value) = (line[..colon], line[(colon + 1)..].Trim());
            if (OwnLeg.Contains(name))
            {
                continue;
            }

            // Only a value that is the placeholder whole (or a bearer of it) gets the real one: a placeholder anywhere else in
            // the value (beside text the host might echo) stays one.
            if (ModelForward.CredentialHeaders.Contains(name)
                && forward.Secrets.FirstOrDefault(s => value == s.Placeholder || value == $"Bearer {s.Placeholder}") is { } secret)
            {
                value = value.Replace(secret.Placeholder, secret.Real, StringComparison.Ordinal);
                used.Add(secret);
            }

            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        return (Encoding.Latin1.GetBytes(text.Append("Connection: close\r\n\r\n").ToString()), used);
    }

    /// <summary>
    /// Sends the rewritten request on over <paramref name="host"/> (a connection the gate made to the upstream's host), TLS first
    /// for https, then carries the body up and the answer back until the host closes.
    /// </summary>
    public static async Task<Transfer> ForwardAsync(Socket client, Socket host, ModelForward forward, byte[] head, byte[] early,
        CancellationToken cancellationToken)
    {
        await using var clientStream = new NetworkStream(client, ownsSocket: false);
        await using var hostStream = await OpenAsync(host, forward.Upstream, cancellationToken).ConfigureAwait(false);
        await hostStream.WriteAsync(head, cancellationToken).ConfigureAwait(false);
        await hostStream.WriteAsync(early, cancellationToken).ConfigureAwait(false);
        await hostStream.FlushAsync(cancellationToken).ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var upload = PumpAsync(clientStream, hostStream, stop.Token);
        var received = await PumpAsync(hostStream, clientStream, stop.Token).ConfigureAwait(false);
        // The host has answered and closed: what the client might still send has nowhere to go.
        await stop.CancelAsync().ConfigureAwait(false);
        return new Transfer(head.Length + early.Length + await upload.ConfigureAwait(false), received);
    }

    /// <summary>
    /// The stream to the host: TLS for https, its certificate checked as any client checks it (the system's trust, the host's
    /// name), so the credential goes to the host it belongs to or nowhere.
    /// </summary>
    private static async Task<Stream> OpenAsync(Socket host, Uri upstream, CancellationToken cancellationToken)
    {
        var network = new NetworkStream(host, ownsSocket: false);
        if (upstream.Scheme != Uri.UriSchemeHttps)
        {
            return network;
        }

        var tls = new SslStream(network, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = upstream.IdnHost,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }, cancellationToken).ConfigureAwait(false);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<long> PumpAsync(Stream from, Stream to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await to.FlushAsync(cancellationToken).ConfigureAwait(false);
                total += read;
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went: the exchange is over.
        }

        return total;
    }
}
