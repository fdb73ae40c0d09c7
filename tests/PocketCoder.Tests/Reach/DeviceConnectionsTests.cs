using PocketCoder.Auth;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// The open-request registry's one race (an attacker review of #68): a request that authenticated just before its device was
/// revoked asks for its cancellation token only after the revocation ran. It must get one already cancelled, not a new one
/// nothing would ever cancel (its stream stayed open in 18 lockdowns of 40).
/// </summary>
[Trait("Category", "Unit")]
public sealed class DeviceConnectionsTests
{
    [Fact]
    public void ATokenAskedAfterItsDeviceWasRevoked_IsAlreadyCancelled_AndAnotherDevicesIsNot()
    {
        var connections = new DeviceConnections();
        var before = connections.For("phone");
        connections.Revoke("phone");
        Assert.True(before.IsCancellationRequested);
        Assert.True(connections.For("phone").IsCancellationRequested);
        Assert.False(connections.For("desk").IsCancellationRequested);
    }

    [Fact]
    public async Task RevocationsRacingTokenRequests_NeverLeaveAnUncancelledTokenOfARevokedDevice()
    {
        var connections = new DeviceConnections();
        for (var round = 0; round < 2_000; round++)
        {
            var device = $"d{round}";
            var asked = Task.Run(() => connections.For(device));
            var revoked = Task.Run(() => connections.Revoke(device));
            await Task.WhenAll(asked, revoked);
            Assert.True((await asked).IsCancellationRequested, $"round {round}: a token of a revoked device was left uncancelled");
        }
    }
}
