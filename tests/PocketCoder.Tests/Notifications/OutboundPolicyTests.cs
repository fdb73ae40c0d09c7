using System.Net;
using CsCheck;
using PocketCoder.Auth;
using PocketCoder.Notifications;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Notifications;

/// <summary>The one table of where the server's own requests may go (<see cref="OutboundPolicy"/>): its answers and its laws.</summary>
[Trait("Category", "Unit")]
public sealed class OutboundPolicyTests
{
    private static readonly Gen<Role> Roles_ = Gen.OneOf(Role.Viewer, Role.Operator, Role.Approver, Role.Owner);
    private static readonly Gen<Sender> Senders = Gen.OneOf(Sender.WebPush, Sender.PushRelay, Sender.Ntfy, Sender.ChatApi);
    private static readonly Gen<byte> Byte = Gen.Byte;

    /// <summary>IPv4 addresses that are not on the internet: this machine, private and shared networks, link-local, and the rest.</summary>
    private static readonly Gen<IPAddress> NotPublicV4 = Gen.OneOf(
        Gen.Select(Byte, Byte, Byte, (b, c, d) => V4(127, b, c, d)),
        Gen.Select(Byte, Byte, Byte, (b, c, d) => V4(10, b, c, d)),
        Gen.Select(Gen.Int[16, 31], Byte, Byte, (b, c, d) => V4(172, (byte)b, c, d)),
        Gen.Select(Byte, Byte, (c, d) => V4(192, 168, c, d)),
        Gen.Select(Byte, Byte, (c, d) => V4(169, 254, c, d)),
        Gen.Select(Gen.Int[64, 127], Byte, Byte, (b, c, d) => V4(100, (byte)b, c, d)),
        Gen.Select(Byte, Byte, Byte, (b, c, d) => V4(0, b, c, d)),
        Gen.Select(Gen.Int[224, 255], Byte, Byte, Byte, (a, b, c, d) => V4((byte)a, b, c, d)));

    /// <summary>The same, in each IPv6 form that carries an IPv4 address, and IPv6's own loopback, link-local and unique-local.</summary>
    private static readonly Gen<IPAddress> NotPublic = Gen.OneOf(
        NotPublicV4,
        NotPublicV4.Select(a => a.MapToIPv6()),
        NotPublicV4.Select(a => V6([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, .. a.GetAddressBytes()])),
        NotPublicV4.Select(a => V6([0x20, 0x02, .. a.GetAddressBytes(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
        Gen.Const(IPAddress.IPv6Loopback),
        Gen.Select(Byte, Byte, (x, y) => V6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, x, y])),
        Gen.Select(Byte, Byte, (x, y) => V6([0xfd, x, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, y])));

    private static IPAddress V4(byte a, byte b, byte c, byte d) => new([a, b, c, d]);

    private static IPAddress V6(byte[] bytes) => new(bytes);

    private static Decider As(Role role) => new("p1", "Vic", role, Active: true);

    private static string Host(IPAddress address) => address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    [Fact]
    public void AddressesOffTheInternet_AreNeverPublic_InAnyForm() =>
        NotPublic.Sample(address => !OutboundPolicy.IsPublic(address));

    [Fact]
    public void AnIPv4Address_IsPublicExactlyWhenItsIPv6FormsAre() =>
        Gen.Select(Byte, Byte, Byte, Byte).Sample((a, b, c, d) =>
        {
            var v4 = V4(a, b, c, d);
            var nat64 = V6([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, a, b, c, d]);
            return OutboundPolicy.IsPublic(v4) == OutboundPolicy.IsPublic(v4.MapToIPv6()) && OutboundPolicy.IsPublic(v4) == OutboundPolicy.IsPublic(nat64);
        });

    [Fact]
    public void PushServicesAddresses_ArePublic()
    {
        Assert.True(OutboundPolicy.IsPublic(IPAddress.Parse("142.250.74.42")));
        Assert.True(OutboundPolicy.IsPublic(IPAddress.Parse("2a00:1450:4001:82f::200a")));
        Assert.False(OutboundPolicy.IsPublic(IPAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void AWebPushEndpointOnANonPublicAddress_IsRefusedToEveryone_UnlessTheOwnerListedItsHost() =>
        Gen.Select(NotPublic, Roles_, Gen.Bool).Sample((address, role, https) =>
        {
            var url = new Uri($"{(https ? "https" : "http")}://{Host(address)}:7420/x");
            var refused = OutboundPolicy.Check(new OutboundRequest(Sender.WebPush, url, As(role)), OutboundRules.None);
            var listed = OutboundPolicy.Check(new OutboundRequest(Sender.WebPush, url, As(role)), new([OutboundPolicy.HostOf(url.Host)]));
            return !refused.Allowed && refused.Right.Code == "PUSH_ENDPOINT_NOT_ALLOWED" && refused.Right.Status == 422
                && (listed.Allowed == (https || IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address))) && (!listed.Allowed || listed.AnyAddress);
        });

    [Fact]
    public void APushServiceByName_IsAllowedToAnyone_ButOnlyToPublicAddresses()
    {
        foreach (var role in Enum.GetValues<Role>())
        {
            var verdict = OutboundPolicy.Check(new OutboundRequest(Sender.WebPush, new Uri("https://fcm.googleapis.com/fcm/send/abc"), As(role)), OutboundRules.None);
            Assert.True(verdict.Allowed);
            Assert.False(verdict.AnyAddress);
        }

        foreach (var host in new[] { "localhost", "push.localhost", "LOCALHOST." })
        {
            Assert.False(OutboundPolicy.Check(new OutboundRequest(Sender.WebPush, new Uri($"https://{host}/x"), As(Role.Owner)), OutboundRules.None).Allowed);
        }

        Assert.False(OutboundPolicy.Check(new OutboundRequest(Sender.WebPush, new Uri("http://push.example/x"), As(Role.Owner)), new(["push.example"])).Allowed);
    }

    [Fact]
    public void NtfyAndChatAPIs_AreOwnersOnly_AsTheRightsTableSays() =>
        Gen.Select(Roles_, Gen.OneOf(Sender.Ntfy, Sender.ChatApi), Gen.OneOf("https://ntfy.example/t", "http://127.0.0.1:9/t", "https://10.0.0.5/t")).Sample((role, sender, url) =>
        {
            var verdict = OutboundPolicy.Check(new OutboundRequest(sender, new Uri(url), As(role)), OutboundRules.None);
            var table = DecisionRights.Check(As(role), new Manage("x"), TeamPolicy.Default);
            return verdict.Allowed == table.Allowed && (verdict.Allowed ? verdict.AnyAddress : verdict.Right.Code == table.Code);
        });

    /// <summary>
    /// An attacker review: plain http was allowed to any <c>.localhost</c> name, but this machine's resolver asks DNS for one (no
    /// hosts entry, no nss-myhostname), so an owner's ntfy or chat URL on <c>http://push.localhost</c> sent its token in clear text
    /// wherever DNS pointed. Plain http now goes only to <c>localhost</c> or a loopback address.
    /// </summary>
    [Theory]
    [InlineData("http://push.localhost:9/t", false)]
    [InlineData("http://a.b.localhost./t", false)]
    [InlineData("http://localhost:9/t", true)]
    [InlineData("http://LOCALHOST.:9/t", true)]
    [InlineData("http://127.0.0.2:9/t", true)]
    [InlineData("http://[::1]:9/t", true)]
    [InlineData("http://[::ffff:127.0.0.1]:9/t", true)]
    public void PlainHttp_GoesOnlyToLocalhostOrALoopbackAddress_NeverToAnotherLocalhostName(string url, bool allowed)
    {
        foreach (var sender in new[] { Sender.Ntfy, Sender.ChatApi })
        {
            Assert.Equal(allowed, OutboundPolicy.Check(new OutboundRequest(sender, new Uri(url), As(Role.Owner)), OutboundRules.None).Allowed);
        }
    }

    [Fact]
    public void ARelayedSubscription_GoesOnlyToTheRelayOfTheMachineWhoseAppAddedThisOne()
    {
        const string a = "https://a.example";
        OutboundVerdict Check(string url, string? addedBy) =>
            OutboundPolicy.Check(new OutboundRequest(Sender.PushRelay, new Uri(url), As(Role.Viewer), addedBy), OutboundRules.None);

        Assert.True(Check($"{a}/api/push/relays/r1", a).Allowed);
        Assert.False(Check($"{a}/api/push/relays/r1", null).Allowed);
        Assert.False(Check($"{a}/api/push/relays/r1", "https://b.example").Allowed);
        Assert.False(Check($"{a}:8443/api/push/relays/r1", a).Allowed);
        Assert.False(Check($"{a}/api/sessions", a).Allowed);
        Assert.False(Check($"{a}/api/push/relays/r1?x=1", a).Allowed);
        // Even an app origin on loopback (a pairing can claim any Origin) is reached only where the owner listed it.
        Assert.False(Check("http://127.0.0.1:6379/api/push/relays/r1", "http://127.0.0.1:6379").Allowed);
        Assert.True(OutboundPolicy.Check(new OutboundRequest(Sender.PushRelay, new Uri("http://127.0.0.1:6379/api/push/relays/r1"), As(Role.Viewer),
            "http://127.0.0.1:6379"), new(["127.0.0.1"])).Allowed);
    }

    [Fact]
    public void SomeoneRevoked_SetsNothing_ForAnySender() =>
        Gen.Select(Senders, Gen.OneOf("https://push.example/x", "https://a.example/api/push/relays/r")).Sample((sender, url) =>
            !OutboundPolicy.Check(new OutboundRequest(sender, new Uri(url), Decider.Nobody("gone"), "https://a.example"), new(["push.example", "a.example"])).Allowed);

    [Fact]
    public void WhatMayGoToAnyAddress_IsAlwaysAnOwnersWord() =>
        Gen.Select(Senders, Roles_, Gen.OneOf("https://push.example/x", "https://10.1.2.3/x", "http://127.0.0.1:80/api/push/relays/r", "https://a.example/api/push/relays/r"),
            Gen.OneOf<IReadOnlyCollection<string>>([], ["push.example"], ["127.0.0.1"])).Sample((sender, role, url, hosts) =>
        {
            var uri = new Uri(url);
            var verdict = OutboundPolicy.Check(new OutboundRequest(sender, uri, As(role), uri.GetLeftPart(UriPartial.Authority)), new(hosts));
            return !verdict.AnyAddress || hosts.Contains(uri.Host) || (role == Role.Owner && sender is Sender.Ntfy or Sender.ChatApi);
        });
    /// <summary>
    /// An attacker review: a listed loopback host opened every port of it to a viewer's subscription, and an unlisted host on
    /// the internet any port (a probe with the server's address). Now an entry with a port opens that port only, and a push
    /// service is reached on 443 alone.
    /// </summary>
    [Fact]
    public void APort_IsOpenOnlyWhereTheOwnerListedIt_AndPushServicesAnswerOn443()
    {
        OutboundVerdict WebPush(string url, params string[] hosts) =>
            OutboundPolicy.Check(new OutboundRequest(Sender.WebPush, new Uri(url), As(Role.Viewer)), new([.. hosts.Select(OutboundRules.Entry)]));

        Assert.True(WebPush("https://push.example/x").Allowed);
        Assert.False(WebPush("https://push.example:8443/x").Allowed);
        Assert.False(WebPush("https://push.example:22/x").Allowed);
        Assert.True(WebPush("http://127.0.0.1:8080/x", "127.0.0.1:8080").Allowed);
        Assert.False(WebPush("http://127.0.0.1:6379/x", "127.0.0.1:8080").Allowed);
        Assert.True(WebPush("https://push.example:8443/x", "PUSH.example:8443").Allowed);
        Assert.True(WebPush("http://[::1]:8080/x", "[::1]:8080").Allowed);
        Assert.False(WebPush("http://[::1]:6379/x", "[::1]:8080").Allowed);
        // A bare host is every port of it: the owner's choice, as docs/notifications.md says.
        Assert.True(WebPush("http://127.0.0.1:6379/x", "127.0.0.1").Allowed);
        Assert.Equal(["push.example", "push.example:8443", "[::1]:8080", "::1"], new[] { "Push.Example.", "push.example:8443", "[::1]:8080", "[::1]" }.Select(OutboundRules.Entry));
    }

    [Theory]
    [InlineData("/api/push/relays/r1/x")]
    [InlineData("/api/push/relays/%2e%2e/api/sessions")]
    [InlineData("/api/push/relays/r1%2fx")]
    [InlineData("/api/push/relays/")]
    public void ARelaysUrl_IsExactlyItsPathAndId(string path) =>
        Assert.False(OutboundPolicy.Check(new OutboundRequest(Sender.PushRelay, new Uri("https://a.example" + path), As(Role.Viewer), "https://a.example"),
            OutboundRules.None).Allowed);
}
