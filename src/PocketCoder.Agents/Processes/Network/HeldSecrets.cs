using System.Security.Cryptography;
using System.Text;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// A credential a sandboxed agent holds only as a placeholder (docs/security.md, "Secrets"): the real value stays with the
/// server, which puts it back into the request headers on the way to the one host it belongs to (<see cref="ModelForward"/>).
/// </summary>
/// <param name="Name">Which credential, as the ledger names it (a variable, or a file and key).</param>
/// <param name="Real">The value the provider knows: never written inside a sandbox.</param>
/// <param name="Placeholder">What the agent holds instead (<see cref="Placeholders.For"/>).</param>
public sealed record HeldSecret(string Name, string Real, string Placeholder)
{
    /// <summary>Never the real value: a record's printed form ends up in logs and failure messages.</summary>
    public override string ToString() => $"{Name} (held as {Placeholder})";

    /// <summary>A secret held for <paramref name="name"/>, its placeholder made from the real value.</summary>
    public static HeldSecret Of(string name, string real) => new(name, real, Placeholders.For(real));

    /// <summary>
    /// Where the real value is read afresh for each request, for a credential that changes while the agent runs (an OAuth access
    /// token the server refreshes: <see cref="PocketCoder.Agents.Claude.ClaudeOAuthLogin"/>); null where <see cref="Real"/> stays as it is.
    /// </summary>
    public ILiveSecret? Live { get; init; }
}

/// <summary>A credential whose real value the server keeps current (refreshing it when it nears its end) while the placeholder stays.</summary>
public interface ILiveSecret
{
    /// <summary>The real value to put into a request now.</summary>
    Task<string> CurrentAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A plain-HTTP endpoint on the sandbox's own loopback that stands for the agent's model (the agent is pointed at it by
/// <paramref name="Variable"/>, its base-URL setting): the server reads each request's head, puts the real value of each
/// <paramref name="Secrets"/> placeholder into its credential headers, and sends it on to <paramref name="Upstream"/> over a
/// connection of its own, verifying the host's certificate as any client does. Nothing else is rewritten: bodies go as they came.
/// </summary>
/// <param name="Variable">The agent's variable that names its model's base URL (<c>ANTHROPIC_BASE_URL</c>); null where the agent is
/// told it otherwise (a Codex provider's <c>base_url</c>, on its command line: <see cref="EgressLayout.ForwardUrl"/>).</param>
/// <param name="Upstream">The real base URL: the owner's, or the provider's.</param>
public sealed record ModelForward(string? Variable, Uri Upstream, IReadOnlyList<HeldSecret> Secrets)
{
    /// <summary>The headers a credential is put into; anywhere else a placeholder stays a placeholder (a host echoing a header back would hand it in).</summary>
    public static IReadOnlySet<string> CredentialHeaders { get; } =
        new HashSet<string>(["authorization", "x-api-key", "api-key", "x-goog-api-key"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Where set, the only requests the endpoint serves, each a method and an exact path (<c>GET /backend-api/wham/accounts/check</c>;
    /// any query after it) or a folder (<c>POST /backend-api/codex/</c>): for a credential that opens more at its host than the agent's model (a ChatGPT login's token opens the
    /// owner's whole ChatGPT account, Codex's cloud tasks under the same <c>wham/</c> as the workspace check Codex needs). A dot segment,
    /// an escape or a longer path than an exact route is another path, and refused. Empty: every request.
    /// </summary>
    public IReadOnlyList<string> Routes { get; init; } = [];

    /// <summary>Whether a request (its method, and its path before the query) is one this endpoint serves: one of <see cref="Routes"/>.</summary>
    public bool Serves(string method, string target)
    {
        var request = $"{method} {target.Split('?', 2)[0]}";
        // A route ending in '/' is a folder of them (Codex's own, codex/: its model, compaction, model list, analytics), with no
        // dot segment nor escape below it; any other route is one exact path.
        return Routes.Count == 0 || Routes.Any(route => route.EndsWith('/')
            ? request.StartsWith(route, StringComparison.Ordinal) && !request.Contains("/.", StringComparison.Ordinal)
                && !request.Contains('%', StringComparison.Ordinal) && !request.Contains('\\', StringComparison.Ordinal)
            : request == route);
    }

    /// <summary>The host the credentials go to, and only there.</summary>
    public NetworkEndpoint Host => NetworkEndpoint.FromUrl(Upstream.ToString())
        ?? throw new InvalidOperationException($"{Upstream} is not an http(s) URL.");

    public override string ToString() => $"{Variable} → {Upstream} ({string.Join(", ", Secrets.Select(s => s.Name))})";

    /// <summary>This forward with each live secret's real value as it is now (<see cref="HeldSecret.Live"/>).</summary>
    public async Task<ModelForward> CurrentAsync(CancellationToken cancellationToken)
    {
        if (Secrets.All(secret => secret.Live is null))
        {
            return this;
        }

        var current = new List<HeldSecret>(Secrets.Count);
        foreach (var secret in Secrets)
        {
            current.Add(secret.Live is { } live ? secret with { Real = await live.CurrentAsync(cancellationToken).ConfigureAwait(false) } : secret);
        }

        return this with { Secrets = current };
    }

    /// <summary>
    /// For an agent whose key is in variables (<paramref name="keys"/>) and whose base URL is one (<paramref name="baseUrl"/>): each
    /// key set becomes its placeholder in <paramref name="environment"/>, and the forward to the base URL the owner set (read by
    /// <paramref name="setting"/>), else <paramref name="fallback"/>, is returned; null when no key is set or the URL is no http(s) one.
    /// </summary>
    public static ModelForward? OfVariables(Func<string, string?> setting, IEnumerable<string> keys, string baseUrl, string fallback,
        Dictionary<string, string?> environment)
    {
        var upstream = setting(baseUrl) is { Length: > 0 } given ? given.Trim() : fallback;
        if (!Uri.TryCreate(upstream, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return null;
        }

        List<HeldSecret> held = [];
        foreach (var name in keys)
        {
            if (setting(name) is { Length: > 0 } real)
            {
                var secret = HeldSecret.Of(name, real);
                environment[name] = secret.Placeholder;
                held.Add(secret);
            }
        }

        return held.Count > 0 ? new ModelForward(baseUrl, uri, held) : null;
    }
}

/// <summary>
/// Placeholders of the same shape as the real value: its public prefix kept (<c>sk-ant-api03-</c>, <c>sk-proj-</c>, <c>ghp_</c>),
/// every other letter and digit replaced by one of the same kind, punctuation and length kept, so a CLI that checks a key's
/// form accepts it. Made with a key of this server process (an HMAC of the real value), so the same value has the same
/// placeholder while the server runs and nothing of the real value can be worked out from it.
/// </summary>
public static class Placeholders
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    /// <summary>The placeholder of <paramref name="real"/>.</summary>
    public static string For(string real) => For(real, real);

    /// <summary>
    /// A placeholder of <paramref name="real"/>'s shape made from <paramref name="seed"/> instead of the value: the same for every value
    /// a credential takes while the server runs (an OAuth token rotated by a refresh), so the agent's copy never changes.
    /// </summary>
    public static string For(string real, string seed)
    {
        var prefix = PublicPrefix(real);
        var stream = Stream(seed, real.Length);
        var placeholder = new StringBuilder(prefix, real.Length);
        for (var i = prefix.Length; i < real.Length; i++)
        {
            var c = real[i];
            var pick = stream[i];
            placeholder.Append(char.IsAsciiDigit(c) ? (char)('0' + pick % 10)
                : char.IsAsciiLetterLower(c) ? (char)('a' + pick % 26)
                : char.IsAsciiLetterUpper(c) ? (char)('A' + pick % 26)
                : c);
        }

        // A value of only punctuation (or one whose every changed character came out the same) must still differ.
        return placeholder.ToString() is var made && made != real ? made : "pocketcoder-placeholder-" + Convert.ToHexString(stream.AsSpan(0, 8));
    }

    /// <summary>
    /// The leading words a provider gives every key of a kind (<c>sk-ant-api03-</c>): lower-case letters and digits up to 8 long,
    /// each ended by <c>-</c> or <c>_</c>, at most 4 of them and never more than a quarter of the value.
    /// </summary>
    private static string PublicPrefix(string real)
    {
        var end = 0;
        for (var words = 0; words < 4; words++)
        {
            var i = end;
            while (i < real.Length && i - end < 8 && (char.IsAsciiLetterLower(real[i]) || char.IsAsciiDigit(real[i])))
            {
                i++;
            }

            if (i == end || i >= real.Length || real[i] is not ('-' or '_') || (i + 1) * 4 > real.Length)
            {
                break;
            }

            end = i + 1;
        }

        return real[..end];
    }

    private static byte[] Stream(string real, int length)
    {
        var bytes = new List<byte>(length + 32);
        for (var block = 0; bytes.Count < length; block++)
        {
            bytes.AddRange(HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes($"{block}:{real}")));
        }

        return [.. bytes];
    }
}

/// <summary>A live secret could not be made current (a login gone, a refresh refused): the request is answered, never sent on.</summary>
public sealed class LiveSecretException : Exception
{
    public LiveSecretException(string message, Exception? inner) : base(message, inner)
    {
    }

    public LiveSecretException()
    {
    }

    public LiveSecretException(string message) : base(message)
    {
    }
}
