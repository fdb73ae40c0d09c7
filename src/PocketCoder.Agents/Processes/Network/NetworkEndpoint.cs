using System.Globalization;
using System.Net;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// A host and port an agent's traffic goes to: its model's endpoint (the provider's, or a base URL the owner set), or what a
/// connection through the sandbox's proxy asks for. The host is kept as written, lower case (a name, or an address; an IPv6
/// address without its brackets): names are never resolved to decide anything.
/// </summary>
public sealed record NetworkEndpoint
{
    public NetworkEndpoint(string host, int port)
    {
        // "example.com." is example.com: a rule for one covers the other.
        Host = host.ToLowerInvariant().TrimEnd('.');
        Port = port;
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>The host's address when it is written as one (never looked up), else null.</summary>
    public IPAddress? Address => IPAddress.TryParse(Host, out var address)
        ? address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address
        : null;

    /// <summary>
    /// This machine itself, by name or address: <c>localhost</c> (and names under it), 127.0.0.0/8, <c>::1</c>, and the
    /// unspecified addresses (a connection to <c>0.0.0.0</c> lands on the machine).
    /// </summary>
    public bool IsLoopback => Host is "localhost" || Host.EndsWith(".localhost", StringComparison.Ordinal)
        || Address is { } address && (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any));

    /// <summary><c>host:port</c>, an IPv6 address in brackets.</summary>
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>The endpoint a URL names (its scheme's port when it gives none), or null for anything but an http(s) URL.</summary>
    public static NetworkEndpoint? FromUrl(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "ws" or "wss")
            || uri.IdnHost is not { Length: > 0 } host)
        {
            return null;
        }

        return new NetworkEndpoint(host.Trim('[', ']'), uri.Port);
    }

    /// <summary>
    /// <c>host:port</c> as a proxy request names it (a CONNECT's authority, or a URL's host and port), strictly: a name of
    /// letters, digits, <c>-</c>, <c>_</c> and dots, an IPv4 address, or an IPv6 address in brackets, and a port 1-65535.
    /// Null for anything else (user info, a percent sign, spaces): what is not read exactly is never decided.
    /// </summary>
    public static NetworkEndpoint? Parse(string authority, int? defaultPort = null)
    {
        string host;
        string? port;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !IPAddress.TryParse(authority[1..close], out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return null;
            }

            host = authority[1..close];
            port = close + 1 == authority.Length ? null : authority[close + 1] == ':' ? authority[(close + 2)..] : "";
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            port = colon < 0 ? null : authority[(colon + 1)..];
            if (!IsName(host))
            {
                return null;
            }
        }

        if (port is null)
        {
            return defaultPort is { } given ? new NetworkEndpoint(host, given) : null;
        }

        return port.Length is > 0 and <= 5 && port.All(char.IsAsciiDigit)
               && int.Parse(port, NumberStyles.None, CultureInfo.InvariantCulture) is var number and > 0 and <= 65535
            ? new NetworkEndpoint(host, number)
            : null;
    }

    /// <summary>A host name (or IPv4 address) as DNS spells one: labels of letters, digits, <c>-</c> and <c>_</c>, at most 253 characters.</summary>
    public static bool IsName(string host) =>
        host.Length is > 0 and <= 253 && !host.StartsWith('.') && !host.Contains("..", StringComparison.Ordinal)
        && host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
