using System.Net;
using PocketCoder.Hub;

namespace PocketCoder.Tests.Reach;

/// <summary>What the hub counts connections under, for its per-address cap.</summary>
[Trait("Category", "Unit")]
public sealed class HubAddressTests
{
    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::9:8:7", true)] // one /64: what one subscriber is given, its host picks freely in it
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7", true)] // an IPv4 peer on a dual-stack socket is that IPv4 address
    [InlineData("192.0.2.7", "192.0.2.8", false)]
    public void Connections_AreCountedByAddress_IPv6ByItsSlash64(string one, string other, bool same)
    {
        var first = Admissions.AddressOf(new IPEndPoint(IPAddress.Parse(one), 40_000));
        var second = Admissions.AddressOf(new IPEndPoint(IPAddress.Parse(other), 40_001));
        Assert.Equal(same, first == second);
    }
}
