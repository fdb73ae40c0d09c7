using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Ledger;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Watch;

namespace PocketCoder.Tests.Watch;

/// <summary>
/// A watch link's life on a clock the test moves: it works until it expires (24 hours unless chosen), and then its token
/// opens nothing and its cookies stand for no one; revoked, the same at once. What a watcher may reach is one table.
/// </summary>
[Trait("Category", "Unit")]
public sealed class WatchLinksTests : IDisposable
{
    private readonly string _data = TempPaths.NewDirectory("pc-watch");
    private readonly Database _database;
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private readonly WatchLinks _links;

    public WatchLinksTests()
    {
        _database = new Database(_data);
        _database.Migrate();
        _database.Write(write => write.Execute(
            "INSERT INTO projects (id, name, path, created_at) VALUES ('p', 'demo', '/tmp/demo', '2026-01-01');"
            + "INSERT INTO sessions (id, project_id, agent, status, agent_session_id, created_at, updated_at) VALUES ('s', 'p', 'fake', 'idle', 'a', '2026-01-01', '2026-01-01');"
            // The links' maker: an owner's device (a link serves only while its maker may share the session).
            + "INSERT INTO people (id, name, role, created_at) VALUES ('o', 'Owner', 'owner', '2026-01-01');"
            + "INSERT INTO devices (id, name, token_hash, created_at, person_id) VALUES ('d', 'Owner''s phone', 'h', '2026-01-01', 'o');"));
        var ledger = new LedgerStore(_database, _clock);
        _links = new WatchLinks(_database, ledger, new DeviceConnections(), new PocketCoder.Teams.Authority(_database, new PocketCoder.Teams.TeamPolicies(_database, ledger)), _clock);
    }

    [Fact]
    public void ALink_WorksUntilItExpires_ThenNeitherItsTokenNorItsCookieDoes()
    {
        var (link, secret) = _links.Create("s", "p", WatchLinks.DefaultLifetime, new Actor("d", "Owner's phone"));
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromHours(24), link.ExpiresAt);
        var opened = _links.Open($"{link.Id}.{secret}", "127.0.0.1", "test browser");
        Assert.NotNull(opened);
        Assert.Equal("s", _links.Find(opened.Value.CookieSecret)?.SessionId);
        Assert.Null(_links.Open($"{link.Id}.{secret}x", null, null));
        Assert.Single(Assert.Single(_links.List()).Openings);

        _clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        Assert.NotNull(_links.Find(opened.Value.CookieSecret));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(_links.Find(opened.Value.CookieSecret));
        Assert.Null(_links.Open($"{link.Id}.{secret}", null, null));
        Assert.Empty(_links.List());
    }

    [Fact]
    public void ARevokedLink_StopsAtOnce_AndTheLedgerHasEachStep()
    {
        var (link, secret) = _links.Create("s", "p", TimeSpan.FromHours(1), new Actor("d", "Owner's phone"));
        var opened = _links.Open($"{link.Id}.{secret}", null, null)!.Value;
        _links.Revoke(link.Id, new Actor("d", "Owner's phone"));
        Assert.Null(_links.Find(opened.CookieSecret));
        Assert.Null(_links.Open($"{link.Id}.{secret}", null, null));
        var actions = _database.Read(connection => connection.Query("SELECT action FROM ledger ORDER BY seq", r => r.GetString(0)));
        Assert.Equal(["watch.created", "watch.opened", "watch.revoked"], actions);
    }

    /// <summary>Every route there is, for a watcher of session "s": only its read routes of "s" (and what it watches) pass.</summary>
    [Fact]
    public void AWatcher_ReachesItsSessionsReadRoutesOnly()
    {
        var reached = RouteAccess.ByRoute.Keys.Where(route => RouteAccess.WatcherMay(route, "s", "s")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["GetTurnChanges", "GetWatchedSession", "GetWorktreeDiff", "SessionEventPage", "SessionEvents"], reached);
        Assert.Equal(["GetWatchedSession"], RouteAccess.ByRoute.Keys.Where(route => RouteAccess.WatcherMay(route, "other", "s")));
        Assert.DoesNotContain(RouteAccess.ByRoute.Keys, route => route != "GetWatchedSession" && RouteAccess.WatcherMay(route, null, "s"));
    }

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
    }
}
