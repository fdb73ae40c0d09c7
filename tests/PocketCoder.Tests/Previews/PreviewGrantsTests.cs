using System.Net;
using PocketCoder.Previews;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Previews;

/// <summary>The preview grants (docs/security.md, "Previews"): one-time codes, expiry, closing, the cookie's scope, and the ports found.</summary>
[Trait("Category", "Unit")]
public sealed class PreviewGrantsTests
{
    [Fact]
    public void Exchange_TheCodeWorksOnce_TheCookieSecretFindsTheGrant()
    {
        var grants = new PreviewGrants(new ManualClock());
        var (grant, code) = grants.Open("s1", "p1", 5173, "Ada");

        var exchanged = grants.Exchange(code);
        Assert.NotNull(exchanged);
        Assert.Equal(grant.Id, exchanged.Value.Grant.Id);
        Assert.Null(grants.Exchange(code));
        Assert.Equal(grant.Id, grants.Find(exchanged.Value.Secret)?.Grant.Id);
        Assert.Null(grants.Find(code));
        Assert.Null(grants.Exchange("not-a-code"));
    }

    [Fact]
    public void Code_AfterAMinute_IsRefused_AndTheGrantEndsAfterAnHour()
    {
        var clock = new ManualClock();
        var grants = new PreviewGrants(clock);
        var (_, late) = grants.Open("s1", "p1", 3000, "Ada");
        var (_, code) = grants.Open("s1", "p1", 3000, "Ada");
        var secret = grants.Exchange(code)!.Value.Secret;

        clock.Advance(PreviewGrants.CodeLifetime + TimeSpan.FromSeconds(1));
        Assert.Null(grants.Exchange(late));
        Assert.NotNull(grants.Find(secret));

        clock.Advance(PreviewGrants.GrantLifetime);
        Assert.Null(grants.Find(secret));
        Assert.Empty(grants.List());
    }

    [Fact]
    public void Close_VoidsCodeAndCookie_AndEndsItsConnections_ClosingASessionClosesOnlyItsOwn()
    {
        var grants = new PreviewGrants(new ManualClock());
        var (first, firstCode) = grants.Open("s1", "p1", 3000, "Ada");
        var (_, unused) = grants.Open("s1", "p1", 3001, "Ada");
        var (other, otherCode) = grants.Open("s2", "p1", 3000, "Ada");
        var secret = grants.Exchange(firstCode)!.Value.Secret;
        var otherSecret = grants.Exchange(otherCode)!.Value.Secret;
        var closing = grants.Find(secret)!.Value.Closing;
        var closed = new List<string>();
        grants.Closed += grant => closed.Add(grant.Id);

        Assert.Equal(first.Id, grants.Close(first.Id)?.Id);
        Assert.True(closing.IsCancellationRequested);
        Assert.Null(grants.Find(secret));
        Assert.Null(grants.Close(first.Id));

        Assert.Single(grants.CloseSession("s1"));
        Assert.Null(grants.Exchange(unused));
        Assert.Equal(other.Id, grants.Find(otherSecret)?.Grant.Id);
        Assert.Equal(2, closed.Count);
    }

    [Fact]
    public void Cookie_IsHttpOnlyAndHostOnly_PrefixedAndSecureOverHttps_AndPocketCodersCookiesNeverPassOn()
    {
        var plain = PreviewCookie.SetCookie("abc", https: false, TimeSpan.FromMinutes(60));
        Assert.Equal("pocketcoder_preview=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax", plain);
        var secure = PreviewCookie.SetCookie("abc", https: true, TimeSpan.FromMinutes(60));
        Assert.StartsWith("__Host-pocketcoder_preview=abc; Path=/;", secure);
        Assert.EndsWith("; Secure", secure);
        Assert.DoesNotContain("Domain", secure + plain, StringComparison.OrdinalIgnoreCase);

        Assert.Equal("theme=dark; a=b=c",
            PreviewCookie.Strip("pocketcoder_session=dev; theme=dark; __Host-pocketcoder_session=x; pocketcoder_preview=g; a=b=c; __Host-pocketcoder_preview=h"));
        Assert.Null(PreviewCookie.Strip("pocketcoder_session=dev"));
    }

    [Fact]
    public void RevokingTheDeviceThatOpenedIt_ClosesThePreview()
    {
        var grants = new PreviewGrants(TimeProvider.System);
        var devices = new PocketCoder.Auth.DeviceConnections();
        var (grant, code) = grants.Open("s1", "p1", 5173, "Ada", devices.For("ada-phone"));
        var (other, otherCode) = grants.Open("s1", "p1", 3000, "Olu", devices.For("olu-phone"));
        var secret = grants.Exchange(code)!.Value.Secret;
        grants.Exchange(otherCode);

        devices.Revoke("ada-phone");

        Assert.Null(grants.Find(secret));
        Assert.Null(grants.Get(grant.Id));
        Assert.NotNull(grants.Get(other.Id));
    }

    [Fact]
    public void TheServersAnswer_NeverSetsOrClearsPocketCodersCookies_AndThePageTalksOnlyToItsOrigin()
    {
        // Cookies are shared by a host's ports: the previewed server must not log the owner out, nor plant a session.
        Assert.False(PreviewHeaders.Relayed("Set-Cookie", "__Host-pocketcoder_session=x; Path=/; Secure; HttpOnly"));
        Assert.False(PreviewHeaders.Relayed("set-cookie", "POCKETCODER_SESSION=x; Path=/"));
        Assert.False(PreviewHeaders.Relayed("Set-Cookie", " pocketcoder_preview =x"));
        Assert.False(PreviewHeaders.Relayed("Clear-Site-Data", "\"cookies\""));
        Assert.True(PreviewHeaders.Relayed("Set-Cookie", "vite_session=abc; Path=/"));
        Assert.True(PreviewHeaders.Relayed("Content-Type", "text/html"));

        var headers = new Microsoft.AspNetCore.Http.HeaderDictionary { ["Referrer-Policy"] = "unsafe-url", ["Content-Security-Policy"] = "script-src 'self'" };
        PreviewHeaders.Add(headers);
        Assert.Equal("no-referrer", headers["Referrer-Policy"].ToString());
        // Beside the server's own policy (a browser enforces both), never in its place.
        Assert.Equal($"script-src 'self'|{PreviewHeaders.ContentSecurityPolicy}", string.Join('|', headers["Content-Security-Policy"].ToArray()));
        Assert.Contains("connect-src 'self'", PreviewHeaders.ContentSecurityPolicy, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ListeningSocketsOnly_IPv4AndIPv6_AddressesInHostOrder()
    {
        string[] tcp =
        [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 41234 1 0000000000000000 100 0 0 10 0",
            "   1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 41235 1 0000000000000000 100 0 0 10 0",
            "   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000 65534        0 41236 1 0000000000000000 20 4 30 10 -1",
        ];
        string[] tcp6 =
        [
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 51234 1 0000000000000000 100 0 0 10 0",
        ];

        Assert.Equal([(IPAddress.Loopback, 8080, "41234"), (IPAddress.Any, 3000, "41235")], ListeningPorts.Parse(tcp).ToList());
        Assert.Equal([(IPAddress.IPv6Loopback, 5173, "51234")], ListeningPorts.Parse(tcp6).ToList());
    }

    [Fact]
    public void OpenPreview_OperatorsAndAbove_NotAViewer_NorSomeoneRevoked()
    {
        foreach (var role in new[] { Role.Operator, Role.Approver, Role.Owner })
        {
            Assert.True(DecisionRights.Check(new Decider("p", "P", role, Active: true), new OpenPreview(), TeamPolicy.Default).Allowed);
        }

        var viewer = DecisionRights.Check(new Decider("p", "Vi", Role.Viewer, Active: true), new OpenPreview(), TeamPolicy.Default);
        Assert.Equal((403, "ROLE_FORBIDDEN"), (viewer.Status, viewer.Code));
        Assert.False(DecisionRights.Check(new Decider("p", "Op", Role.Operator, Active: false), new OpenPreview(), TeamPolicy.Default).Allowed);
    }
}
