using System.Collections.Concurrent;
using System.Text.Json;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Network;

/// <summary>
/// The hosts of the fetches an agent was allowed (its own web fetch tool: Claude's WebFetch, OpenCode's webfetch, Gemini's
/// web_fetch), for a while: the agent's own process then reaches them, since the owner (or a rule) just allowed exactly that.
/// Its own process reaches nothing else but its model (<see cref="EgressGate"/>): the rest is its own traffic (update checks,
/// packages it installs for itself), which nobody asked for.
/// </summary>
public sealed class AllowedFetches(TimeProvider clock)
{
    /// <summary>How long after the allow its hosts stay reachable (a fetch follows its allow at once; redirects within it).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, DateTimeOffset>> _bySession = new(StringComparer.Ordinal);

    /// <summary>A fetch was allowed: every http(s) URL in its input (a URL field, or URLs in a prompt) makes its host reachable for a while.</summary>
    public void Allowed(string sessionId, JsonElement input)
    {
        var hosts = _bySession.GetOrAdd(sessionId, _ => new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        foreach (var host in Urls(input).Select(NetworkEndpoint.FromUrl).OfType<NetworkEndpoint>())
        {
            hosts[host.ToString()] = clock.GetUtcNow() + Window;
        }
    }

    /// <summary>Whether the agent of <paramref name="sessionId"/> was allowed a fetch of <paramref name="target"/> lately (its name, or
    /// the same name with or without <c>www.</c>, on the same port).</summary>
    public bool Covers(string sessionId, NetworkEndpoint target)
    {
        if (!_bySession.TryGetValue(sessionId, out var hosts))
        {
            return false;
        }

        var now = clock.GetUtcNow();
        string[] names = target.Host.StartsWith("www.", StringComparison.Ordinal) ? [target.Host, target.Host[4..]] : [target.Host, "www." + target.Host];
        return names.Any(name => hosts.TryGetValue(new NetworkEndpoint(name, target.Port).ToString(), out var until) && until > now);
    }

    /// <summary>The session ended: its fetches are forgotten.</summary>
    public void Forget(string sessionId) => _bySession.TryRemove(sessionId, out _);

    private static IEnumerable<string> Urls(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                foreach (var word in (element.GetString() ?? "").Split([' ', '\n', '\t', '"', '\'', '<', '>', '(', ')'], StringSplitOptions.RemoveEmptyEntries))
                {
                    if (word.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || word.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                    {
                        yield return word;
                    }
                }

                break;
            case JsonValueKind.Object:
                foreach (var url in element.EnumerateObject().SelectMany(property => Urls(property.Value)))
                {
                    yield return url;
                }

                break;
            case JsonValueKind.Array:
                foreach (var url in element.EnumerateArray().SelectMany(Urls))
                {
                    yield return url;
                }

                break;
        }
    }
}
