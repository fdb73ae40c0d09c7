using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using PocketCoder.Data;
using PocketCoder.Hub;

namespace PocketCoder.Reach.Hub;

/// <summary>
/// This machine's place on a hub (<c>hub.json</c> in the data folder, 0600: the token is a secret), written by
/// <c>pocketcoder hub join</c>: the hub's URL, the token its operator issued, the public URL the hub gave this machine, and
/// optionally the CA to trust for the hub (a private hub with its own CA) instead of the system's.
/// </summary>
public sealed record HubMembership(string Hub, string Token, string PublicUrl, string? CaPem = null)
{
    public const string FileName = "hub.json";

    public string Machine => Token[..Math.Max(0, Token.IndexOf('.', StringComparison.Ordinal))];

    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>The membership, or null when this machine has not joined a hub.</summary>
    /// <exception cref="InvalidDataException">The file is there but unusable.</exception>
    public static HubMembership? Load(string dataDirectory)
    {
        var path = PathIn(dataDirectory);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var membership = JsonSerializer.Deserialize(File.ReadAllText(path), ReachJson.Default.HubMembership);
            if (membership is { Hub.Length: > 0, Token.Length: > 0, PublicUrl.Length: > 0 })
            {
                return membership;
            }
        }
        catch (JsonException)
        {
        }

        throw new InvalidDataException($"{path} is not a hub membership written by `pocketcoder hub join`; join again or remove it (`pocketcoder hub leave`).");
    }

    public void Save(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        DataFolder.WritePrivateFile(PathIn(dataDirectory), JsonSerializer.Serialize(this, ReachJson.Default.HubMembership));
    }

    /// <summary>Leaves the hub: serve no longer connects to it.</summary>
    public static bool Remove(string dataDirectory)
    {
        var path = PathIn(dataDirectory);
        var existed = File.Exists(path);
        File.Delete(path);
        return existed;
    }

    /// <summary>
    /// A WebSocket to the hub, signed in with the token, pinged so a dead link is noticed within 15 s. With
    /// <paramref name="via"/> (host:port of one instance of a clustered hub) the connection is made there, while TLS still
    /// checks the hub's own name: an instance is trusted exactly as the hub is.
    /// </summary>
    public async Task<ClientWebSocket> ConnectAsync(string path, CancellationToken cancellationToken, string? via = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = HubProtocol.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = HubProtocol.KeepAliveTimeout;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + Token);
        socket.Options.CollectHttpResponseDetails = true;
        using var handler = PinnedCa.Handler(CaPem);
        if (via is not null)
        {
            var colon = via.LastIndexOf(':');
            var target = new DnsEndPoint(via[..colon].Trim('[', ']'), int.Parse(via[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            handler.ConnectCallback = async (_, token) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await tcp.ConnectAsync(target, token);
                    return new NetworkStream(tcp, ownsSocket: true);
                }
                catch
                {
                    tcp.Dispose();
                    throw;
                }
            };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The hub may hold a link while it finds out whether the one it has for this machine still answers.
        timeout.CancelAfter(TimeSpan.FromSeconds(15) + HubProtocol.SilentLinkEndsWithin(HubProtocol.KeepAliveInterval, HubProtocol.KeepAliveTimeout));
        try
        {
            // The handler makes this one connection; the upgraded WebSocket owns it from here on.
            using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
            await socket.ConnectAsync(new UriBuilder(Hub) { Scheme = Uri.UriSchemeWss, Path = path }.Uri, invoker, timeout.Token);
            return socket;
        }
        catch (WebSocketException exception) when (socket.HttpResponseHeaders?.TryGetValue(HubProtocol.RefusalHeader, out var why) == true)
        {
            // The hub's own words (a second link for this machine, a token it does not know) rather than a bare status code.
            var refused = new WebSocketException($"the hub refused ({(int)socket.HttpStatusCode}): {string.Join(' ', why!)}", exception);
            socket.Dispose();
            throw refused;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Opens the control link once and returns the public URL the hub's welcome names (how <c>hub join</c> checks a token).</summary>
    public async Task<string> WelcomeAsync(CancellationToken cancellationToken)
    {
        using var socket = await ConnectAsync(HubProtocol.ConnectPath, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        var buffer = new byte[HubProtocol.MaxControlMessageBytes];
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        var welcome = received.MessageType == WebSocketMessageType.Text && received.EndOfMessage
            ? JsonSerializer.Deserialize(buffer.AsSpan(0, received.Count), HubJson.Default.HubMessage)
            : null;
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        return welcome is { Type: HubMessage.Welcome, PublicUrl: { } url } && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
            ? url
            : throw new InvalidDataException("The hub did not answer with this machine's public URL.");
    }
}
