using System.Globalization;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Network;

/// <summary>
/// What a <c>network</c> rule's pattern names: <c>HOST</c> (any port), <c>HOST:PORT</c>, or <c>HOST:*</c>, where HOST is a name,
/// an address (IPv6 in brackets), or a name beginning with <c>*.</c>, which covers every name below that domain at any depth
/// (<c>*.example.org</c> covers <c>files.example.org</c> and <c>a.b.example.org</c>, not <c>example.org</c> itself). Matched
/// against the host as the connection asked for it, never as it resolves: names are decided before anything is looked up.
/// </summary>
public static class HostPattern
{
    /// <summary>Whether <paramref name="pattern"/> covers <paramref name="target"/> (<c>host:port</c>, as <see cref="NetworkEndpoint"/> writes it).</summary>
    public static bool Matches(string pattern, string target)
    {
        if (pattern == "*")
        {
            return true;
        }

        var (host, port) = Split(pattern);
        if (host is null || NetworkEndpoint.Parse(target) is not { } endpoint)
        {
            return false;
        }

        if (port is { } wanted && wanted != endpoint.Port)
        {
            return false;
        }

        return host.StartsWith("*.", StringComparison.Ordinal)
            ? endpoint.Host.EndsWith(host[1..], StringComparison.Ordinal) && endpoint.Host.Length > host.Length - 1
            : endpoint.Host == host;
    }

    /// <summary>A pattern this class can match: <c>*</c>, or a host (or <c>*.</c>domain) with an optional port or <c>:*</c>.</summary>
    public static bool IsValid(string pattern) => pattern == "*" || Split(pattern).Host is not null;

    /// <summary>The pattern's host (lower case, an IPv6 address without brackets) and port (null: any), or a null host when malformed.</summary>
    private static (string? Host, int? Port) Split(string pattern)
    {
        var text = pattern.Trim().ToLowerInvariant();
        string host;
        string rest;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !System.Net.IPAddress.TryParse(text[1..close], out var address)
                || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return (null, null);
            }

            (host, rest) = (text[1..close], text[(close + 1)..]);
        }
        else
        {
            var colon = text.LastIndexOf(':');
            (host, rest) = colon < 0 ? (text, "") : (text[..colon], text[colon..]);
            host = host.TrimEnd('.');
            var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
            if (!NetworkEndpoint.IsName(name))
            {
                return (null, null);
            }
        }

        if (rest is "" or ":*")
        {
            return (host, null);
        }

        return rest.Length is > 1 and <= 6 && rest[1..].All(char.IsAsciiDigit)
               && int.Parse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture) is var port and > 0 and <= 65535
            ? (host, port)
            : (null, null);
    }
}
