using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json;
using PocketCoder.Reach;

namespace PocketCoder.Server;

/// <summary>
/// The address <c>serve</c> listens on, tried before anything starts (bound and let go, the way Kestrel will bind it) and
/// read again from Kestrel's own failure, since the port can be taken in between: either way a port in use is one line
/// naming the address and how to choose another (<c>--listen</c>), never the host's stack trace. <c>doctor</c> asks the
/// same, and a port held by this data folder's running server is fine there.
/// </summary>
public static class ListenPort
{
    /// <summary>Who has the port: nobody (serve can listen), this data folder's running server, or something else.</summary>
    public enum Use
    {
        Free,
        ThisServer,
        Taken,
    }

    /// <param name="Problem">Why serve cannot listen there, one line naming the fix; null when <see cref="Use.Free"/>.</param>
    public sealed record Check(Use Use, string? Problem);

    /// <param name="certificate">What an https:// server of this data folder presents: how it is recognised (its name need not match).</param>
    public static async Task<Check> CheckAsync(string listen, string dataDirectory, TlsCertificate? certificate, CancellationToken cancellationToken)
    {
        if (Bind(listen) is not { } refused)
        {
            return new Check(Use.Free, null);
        }

        if (refused.SocketErrorCode == SocketError.AddressAlreadyInUse
            && Uri.TryCreate(ServerAddress.Read(dataDirectory)?.Url, UriKind.Absolute, out var recorded) && recorded.Port == new Uri(listen).Port
            && await AnswersAsPocketCoderAsync(listen, certificate, cancellationToken))
        {
            return new Check(Use.ThisServer, $"PocketCoder is already running on {Address(listen)} with the data folder {dataDirectory} " +
                $"(`{Cli.SelfCommand.For("status")}` says more): stop it first, or run this one elsewhere with --listen {Elsewhere(listen)}.");
        }

        return new Check(Use.Taken, Describe(listen, refused));
    }

    /// <summary>
    /// The one line for a start that failed because the address could not be bound (taken after it was checked, say);
    /// null for any other failure, which stays the exception it is.
    /// </summary>
    public static string? FromStartFailure(string listen, Exception exception)
    {
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return Describe(listen, socket);
            }
        }

        return null;
    }

    /// <summary>Binds what Kestrel will bind for this URL (see <c>KestrelListen</c>) and lets it go: null when all of it could be bound.</summary>
    private static SocketException? Bind(string listen)
    {
        var url = new Uri(listen);
        if (url.Port == 0)
        {
            return null;
        }

        var host = url.Host.Trim('[', ']');
        (IPAddress Address, bool Required)[] addresses = host == "localhost"
            // Kestrel listens on both loopbacks, and does without IPv6 only when it cannot be had at all (not when it is taken).
            ? [(IPAddress.Loopback, true), (IPAddress.IPv6Loopback, false)]
            : IPAddress.TryParse(host, out var ip) ? [(ip, true)]
            : [(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, true)];
        foreach (var (address, required) in addresses)
        {
            try
            {
                using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                socket.Bind(new IPEndPoint(address, url.Port));
            }
            catch (SocketException exception) when (required || exception.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return exception;
            }
            catch (SocketException)
            {
                // The IPv6 loopback is missing here: Kestrel does without it too.
            }
        }

        return null;
    }

    private static string Describe(string listen, SocketException refused) => refused.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse =>
            $"{Address(listen)} is already in use by another program: stop it, or choose another port with --listen {Elsewhere(listen)}.",
        SocketError.AccessDenied => $"This user may not listen on {Address(listen)} (ports below 1024 need root or CAP_NET_BIND_SERVICE): " +
            $"choose another port with --listen {Elsewhere(listen)}.",
        SocketError.AddressNotAvailable => $"{new Uri(listen).Host} is not an address of this machine: choose one it has with --listen " +
            $"(http://127.0.0.1:{new Uri(listen).Port} for this machine alone, http://0.0.0.0:{new Uri(listen).Port} for every network).",
        _ => $"Cannot listen on {Address(listen)} ({refused.Message}): choose another address with --listen.",
    };

    private static string Address(string listen) => new Uri(listen).Authority;

    private static string Elsewhere(string listen) => $"{new Uri(listen).GetLeftPart(UriPartial.Scheme)}{new Uri(listen).Host}:<port>";

    /// <summary>Does a PocketCoder answer /api/health there? Nothing is sent but the request: the answer only picks the wording.</summary>
    private static async Task<bool> AnswersAsPocketCoderAsync(string listen, TlsCertificate? certificate, CancellationToken cancellationToken)
    {
        var url = new UriBuilder(listen);
        // A server listening on every address answers on loopback; a name other than localhost means every address too.
        if (url.Host is "0.0.0.0" || (Uri.CheckHostName(url.Host) == UriHostNameType.Dns && url.Host != "localhost"))
        {
            url.Host = "127.0.0.1";
        }
        else if (url.Host is "[::]")
        {
            url.Host = "[::1]";
        }

        using var handler = new HttpClientHandler
        {
            // Over https the server is recognised by the certificate this data folder's server presents, whatever names it holds.
            ServerCertificateCustomValidationCallback = (_, presented, _, errors) =>
                errors == SslPolicyErrors.None || (certificate is not null && presented?.Thumbprint == certificate.Certificate.Thumbprint),
        };
        using var http = new HttpClient(handler) { BaseAddress = url.Uri, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return await http.GetFromJsonAsync("/api/health", WireJson.Default.HealthResponse, cancellationToken) is { Status: "ok", Version: not null };
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
