using System.Collections.Concurrent;
using System.Text.Json;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Network;

/// <summary>
/// The hosts named by the fetches an agent was allowed lately (its own web fetch tool: Claude's WebFetch, OpenCode's webfetch,
/// Gemini's web_fetch): a connection of the agent's own process to one of them during a turn is asked about as any new host is
/// (<see cref="EgressGate"/>), where the rest of its own traffic (update checks, packages it installs for itself) is refused
/// unasked. It never lets a connection through by itself: a fetch allowed by the session's mode (<c>trusted</c>) or a rule for the
/// tool is no decision about the network, and a fetch's input can name any URL (a prompt holding several).
/// </summary>
public sealed class AllowedFetches(TimeProvider clock)
{
    /// <summary>How long after the allow its hosts are asked about rather than refused (a fetch follows its allow at once; redirects within it).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, DateTimeOffset>> _bySession = new(StringComparer.Ordinal);

    /// <summary>A fetch was allowed: every http(s) URL in its input (a URL field, or URLs in a prompt) makes its host one to ask about for a while.</summary>
    public void Allowed(string sessionId, JsonElement input)
    {
        var hosts = _bySession.GetOrAdd(sessionId, _ => new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        foreach (var host in Urls(input).Select(NetworkEndpoint.FromUrl).OfType<NetworkEndpoint>())
        {
            hosts[host.ToString()] = clock.GetUtcNow() + Window;
        }
    }

    /// <summary>Whether the agent of <paramref name="sessionId"/> was allowed a fetch naming <paramref name="target"/> lately (its name,
    /// or the same name with or without <c>www.</c>, on the same port).</summary>
    public bool Names(string sessionId, NetworkEndpoint target)
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
