using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Watch;

/// <summary>One opening of a watch link: when, from which address, in which browser (what the phone lists as "who opened it").</summary>
public sealed record WatchOpening(string Id, DateTimeOffset OpenedAt, string? Address, string? UserAgent);

/// <summary>A link to watch one session, as the phone lists it.</summary>
public sealed record WatchLink(string Id, string SessionId, string ProjectId, string? SessionTitle, string CreatedBy, DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt, IReadOnlyList<WatchOpening> Openings);

/// <summary>The watcher an opening's cookie stands for, while its link is live.</summary>
public sealed record Watcher(string OpeningId, string LinkId, string SessionId, DateTimeOffset ExpiresAt)
{
    /// <summary>How it is named where a device would be (the ledger, the connections cut when the link ends).</summary>
    public string DeviceId => "watch:" + OpeningId;
}

/// <summary>
/// Read-only links to one session (issue #55, docs/security.md "A link to watch"). A link carries a secret in its fragment
/// (never sent in a request line, so never in a log or a Referer); the page trades it by POST for a cookie of its own opening,
/// HttpOnly, which <see cref="DeviceAuthentication"/> turns into a watcher that <see cref="RouteAccess.WatcherMay"/> lets
/// reach that session's read routes only. Only SHA-256 hashes of the secret and the cookies are kept. A link ends when it
/// expires or is revoked: every opening's cookie stops working at once, and its open streams are cut.
/// </summary>
/// <remarks>A link lends its maker's right to watch: once they could no longer make it (their device or person revoked, their
/// role narrowed), it ends as if they had revoked it (<see cref="Changed"/>).</remarks>
public sealed class WatchLinks(Database database, Ledger.LedgerStore ledger, DeviceConnections connections, Teams.Authority authority, TimeProvider clock)
    : IAccessSubscriber
{
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(24);

    private readonly ConcurrentDictionary<string, ITimer> _expiries = new(StringComparer.Ordinal);

    /// <summary>Makes a link to <paramref name="sessionId"/>: the link's id and the secret its address carries (shown once).</summary>
    public (WatchLink Link, string Secret) Create(string sessionId, string projectId, TimeSpan lifetime, Actor actor)
    {
        var now = clock.GetUtcNow();
        var id = Guid.NewGuid().ToString("N")[..16];
        var secret = Secret();
        var expires = now + lifetime;
        database.Write(write =>
        {
            write.Execute(
                "INSERT INTO watch_links (id, session_id, project_id, secret_hash, created_by, created_by_device, created_at, expires_at) "
                + "VALUES ($id, $session, $project, $hash, $by, $device, $at, $expires)",
                ("$id", id), ("$session", sessionId), ("$project", projectId), ("$hash", Hash(secret)), ("$by", actor.Name), ("$device", actor.Id),
                ("$at", now.ToDb()), ("$expires", expires.ToDb()));
            ledger.Append(write, actor.Name, "watch.created", sessionId, new JsonObject
            {
                ["link"] = id, ["expiresAt"] = expires.ToString("O", CultureInfo.InvariantCulture), ["deviceId"] = actor.Id,
            });
        });
        return (Get(id)!, secret);
    }

    /// <summary>
    /// Trades a link's token (<c>id.secret</c>, from its fragment) for a new opening's cookie secret, ledgered; null for a token
    /// that names no live link (unknown, revoked or expired: the answer does not say which).
    /// </summary>
    public (Watcher Watcher, string CookieSecret)? Open(string token, string? address, string? userAgent)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == token.Length - 1)
        {
            return null;
        }

        var (id, secret) = (token[..dot], token[(dot + 1)..]);
        var now = clock.GetUtcNow();
        return database.Write(write =>
        {
            var link = write.Query(
                "SELECT session_id, expires_at, secret_hash, project_id, created_by, created_by_device FROM watch_links WHERE id = $id AND revoked_at IS NULL",
                r => (Session: r.GetString(0), Expires: r.Time(1), Hash: r.GetString(2), Project: r.GetString(3), By: r.GetString(4), Device: r.GetString(5)),
                ("$id", id)).FirstOrDefault();
            if (link.Session is null || link.Expires <= now
                || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(link.Hash), Encoding.ASCII.GetBytes(Hash(secret)))
                || !MakerMayShare(link.Device, link.By, link.Project))
            {
                return ((Watcher, string)?)null;
            }

            var opening = Guid.NewGuid().ToString("N")[..16];
            var cookie = Secret();
            var agent = userAgent is { Length: > 200 } ? userAgent[..200] : userAgent;
            write.Execute("INSERT INTO watch_openings (id, link_id, cookie_hash, opened_at, address, user_agent) VALUES ($id, $link, $hash, $at, $address, $agent)",
                ("$id", opening), ("$link", id), ("$hash", Hash(cookie)), ("$at", now.ToDb()), ("$address", address), ("$agent", agent));
            ledger.Append(write, "watch:" + id, "watch.opened", link.Session, new JsonObject
            {
                ["link"] = id, ["opening"] = opening, ["address"] = address, ["userAgent"] = agent,
            });
            return (new Watcher(opening, id, link.Session, link.Expires), cookie);
        });
    }

    /// <summary>The watcher an opening's cookie stands for, or null once its link is revoked or expired.</summary>
    public Watcher? Find(string cookieSecret)
    {
        var row = database.Read(connection => connection.Query(
            "SELECT o.id, l.id, l.session_id, l.expires_at, l.project_id, l.created_by, l.created_by_device FROM watch_openings o "
            + "JOIN watch_links l ON l.id = o.link_id WHERE o.cookie_hash = $hash AND l.revoked_at IS NULL",
            r => (Watcher: new Watcher(r.GetString(0), r.GetString(1), r.GetString(2), r.Time(3)), Project: r.GetString(4), By: r.GetString(5),
                Device: r.GetString(6)),
            ("$hash", Hash(cookieSecret)))).FirstOrDefault();
        if (row.Watcher is not { } found || found.ExpiresAt <= clock.GetUtcNow() || !MakerMayShare(row.Device, row.By, row.Project))
        {
            return null;
        }

        // A stream open when the link expires is cut then, as one open when it is revoked is.
        _expiries.GetOrAdd(found.OpeningId, _ => clock.CreateTimer(_ => End([found.OpeningId]), null, found.ExpiresAt - clock.GetUtcNow(), Timeout.InfiniteTimeSpan));
        return found;
    }

    /// <summary>The links still live (not revoked, not expired), newest first, each with who opened it.</summary>
    public IReadOnlyList<WatchLink> List() => database.Read(connection => connection.Query(
            "SELECT id FROM watch_links WHERE revoked_at IS NULL AND expires_at > $now ORDER BY created_at DESC", r => r.GetString(0),
            ("$now", clock.GetUtcNow().ToDb())))
        .Select(Get).OfType<WatchLink>().ToList();

    /// <summary>A live link, or null.</summary>
    public WatchLink? Get(string id) => database.Read(connection =>
    {
        var link = connection.Query(
            "SELECT l.id, l.session_id, l.project_id, COALESCE(s.short_title, s.title), l.created_by, l.created_at, l.expires_at "
            + "FROM watch_links l LEFT JOIN sessions s ON s.id = l.session_id WHERE l.id = $id AND l.revoked_at IS NULL AND l.expires_at > $now",
            r => new WatchLink(r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.GetString(4), r.Time(5), r.Time(6), []),
            ("$id", id), ("$now", clock.GetUtcNow().ToDb())).FirstOrDefault();
        return link is null ? null : link with
        {
            Openings = connection.Query("SELECT id, opened_at, address, user_agent FROM watch_openings WHERE link_id = $id ORDER BY opened_at",
                r => new WatchOpening(r.GetString(0), r.Time(1), r.NullableString(2), r.NullableString(3)), ("$id", id)),
        };
    });

    /// <summary>Revokes a link: its cookies stop working and its open streams are cut, at once. Ledgered.</summary>
    public WatchLink Revoke(string id, Actor actor)
    {
        var link = Get(id) ?? throw ApiProblem.NotFound(ErrorCodes.WatchLinkNotFound, $"No live watch link '{id}'.");
        database.Write(write =>
        {
            write.Execute("UPDATE watch_links SET revoked_at = $at, revoked_by = $by WHERE id = $id AND revoked_at IS NULL",
                ("$at", clock.GetUtcNow().ToDb()), ("$by", actor.Name), ("$id", id));
            ledger.Append(write, actor.Name, "watch.revoked", link.SessionId, new JsonObject { ["link"] = id, ["deviceId"] = actor.Id });
        });
        End(link.Openings.Select(o => o.Id));
        return link;
    }

    /// <summary>Ends every live link at once (a lockdown), each ledgered: their cookies stop working, their streams are cut.</summary>
    /// <returns>How many links ended.</returns>
    public int RevokeAll(Actor actor)
    {
        var live = database.Read(connection => connection.Query(
            "SELECT id FROM watch_links WHERE revoked_at IS NULL AND expires_at > $now", r => r.GetString(0), ("$now", clock.GetUtcNow().ToDb())));
        var ended = 0;
        foreach (var id in live)
        {
            try
            {
                Revoke(id, actor);
                ended++;
            }
            catch (ApiProblem problem) when (problem.Code == ErrorCodes.WatchLinkNotFound)
            {
                // It expired or was revoked since the list was read: ended already.
            }
        }

        return ended;
    }

    /// <summary>
    /// Whether a link's maker could make it now. Asked again at every opening and every request of a watcher as well as on each
    /// access change: a change heard by nobody (the server stopped between a revocation's write and its event) never leaves a
    /// link alive that its maker could no longer make.
    /// </summary>
    private bool MakerMayShare(string device, string by, string project) =>
        authority.Check(new Actor(device, by), project, new Teams.ShareWatch()).Allowed;

    public void Changed(AccessChange change)
    {
        var live = database.Read(connection => connection.Query(
            "SELECT id, project_id, created_by, created_by_device FROM watch_links WHERE revoked_at IS NULL AND expires_at > $now",
            r => (Id: r.GetString(0), Project: r.GetString(1), By: r.GetString(2), Device: r.GetString(3)), ("$now", clock.GetUtcNow().ToDb())));
        foreach (var link in live.Where(l => !MakerMayShare(l.Device, l.By, l.Project)))
        {
            if (Get(link.Id) is not { } ending)
            {
                continue;
            }

            database.Write(write =>
            {
                write.Execute("UPDATE watch_links SET revoked_at = $at, revoked_by = $by WHERE id = $id AND revoked_at IS NULL",
                    ("$at", clock.GetUtcNow().ToDb()), ("$by", Actor.System.Name), ("$id", link.Id));
                ledger.Append(write, Actor.System.Name, "watch.revoked", ending.SessionId, new JsonObject
                {
                    ["link"] = link.Id, ["reason"] = "its maker may no longer share the session", ["madeBy"] = link.By,
                });
            });
            End(ending.Openings.Select(o => o.Id));
        }
    }

    private void End(IEnumerable<string> openings)
    {
        foreach (var opening in openings)
        {
            connections.Revoke("watch:" + opening);
            if (_expiries.TryRemove(opening, out var timer))
            {
                timer.Dispose();
            }
        }
    }

    private static string Secret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Hash(string value) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
