using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace PocketCoder.Previews;

/// <summary>An open preview: who opened which port of which session, until when.</summary>
public sealed record PreviewGrant(string Id, string SessionId, string ProjectId, int Port, string OpenedBy, DateTimeOffset OpenedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// The grants that let a browser see a session's port on the preview origin (docs/security.md, "Previews"). Opening one gives a
/// one-time exchange code, good for <see cref="CodeLifetime"/>; the preview origin trades it once for a cookie secret of its own,
/// good until the grant expires (<see cref="GrantLifetime"/>), is closed, or its session's sandbox ends. Only SHA-256 hashes of
/// codes and secrets are kept, in memory: a restart closes every preview.
/// </summary>
public sealed class PreviewGrants(TimeProvider clock)
{
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan GrantLifetime = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, Entry> _grants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string GrantId, DateTimeOffset Until)> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _secrets = new(StringComparer.Ordinal);

    private sealed record Entry(PreviewGrant Grant, CancellationTokenSource Closing);

    /// <summary>Raised with each grant closed (by hand, by expiry found, or with its session).</summary>
    public event Action<PreviewGrant>? Closed;

    /// <summary>Opens a preview of <paramref name="port"/>: the grant, and the one-time code the preview origin takes for it.</summary>
    /// <param name="openerRevoked">Cancelled when the device that opens it is revoked (<c>DeviceConnections.For</c>): its
    /// previews close with it, rather than living out their hour on a lost phone.</param>
    public (PreviewGrant Grant, string Code) Open(string sessionId, string projectId, int port, string openedBy, CancellationToken openerRevoked = default)
    {
        var now = clock.GetUtcNow();
        var grant = new PreviewGrant(Guid.NewGuid().ToString("N"), sessionId, projectId, port, openedBy, now, now + GrantLifetime);
        _grants[grant.Id] = new Entry(grant, new CancellationTokenSource());
        if (openerRevoked.CanBeCanceled)
        {
            openerRevoked.Register(() => Close(grant.Id));
        }

        var code = Secret();
        _codes[Hash(code)] = (grant.Id, now + CodeLifetime);
        return (grant, code);
    }

    /// <summary>Trades a code for the grant's cookie secret, once; null for a code unknown, used, expired, or whose grant closed.</summary>
    public (PreviewGrant Grant, string Secret)? Exchange(string code)
    {
        if (!_codes.TryRemove(Hash(code), out var issued) || clock.GetUtcNow() > issued.Until || Live(issued.GrantId) is not { } grant)
        {
            return null;
        }

        var secret = Secret();
        _secrets[Hash(secret)] = grant.Id;
        return (grant, secret);
    }

    /// <summary>The live grant a cookie secret stands for, with a token that ends when the grant does; null when it is none.</summary>
    public (PreviewGrant Grant, CancellationToken Closing)? Find(string secret) =>
        _secrets.TryGetValue(Hash(secret), out var id) && Live(id) is { } grant && _grants.TryGetValue(id, out var entry)
            ? (grant, entry.Closing.Token)
            : null;

    /// <summary>The previews open now, newest first.</summary>
    public IReadOnlyList<PreviewGrant> List() =>
        [.. _grants.Keys.Select(Live).OfType<PreviewGrant>().OrderByDescending(g => g.OpenedAt)];

    public PreviewGrant? Get(string id) => Live(id);

    /// <summary>Closes a grant: its code and cookie stop working, and its connections end. Null when no such grant is open.</summary>
    public PreviewGrant? Close(string id)
    {
        if (!_grants.TryRemove(id, out var entry))
        {
            return null;
        }

        foreach (var secret in _secrets.Where(s => s.Value == id).Select(s => s.Key).ToList())
        {
            _secrets.TryRemove(secret, out _);
        }

        foreach (var code in _codes.Where(c => c.Value.GrantId == id).Select(c => c.Key).ToList())
        {
            _codes.TryRemove(code, out _);
        }

        entry.Closing.Cancel();
        entry.Closing.Dispose();
        Closed?.Invoke(entry.Grant);
        return entry.Grant;
    }

    /// <summary>Closes every grant of the session (its sandbox ended).</summary>
    public IReadOnlyList<PreviewGrant> CloseSession(string sessionId) =>
        [.. _grants.Values.Where(e => e.Grant.SessionId == sessionId).Select(e => Close(e.Grant.Id)).OfType<PreviewGrant>()];

    /// <summary>The grant if it is open and unexpired; an expired one is closed on sight.</summary>
    private PreviewGrant? Live(string id)
    {
        if (!_grants.TryGetValue(id, out var entry))
        {
            return null;
        }

        if (clock.GetUtcNow() < entry.Grant.ExpiresAt)
        {
            return entry.Grant;
        }

        Close(id);
        return null;
    }

    private static string Secret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Hash(string value) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
