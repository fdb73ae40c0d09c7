using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PocketCoder.Auth;
using PocketCoder.Bridges;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Bridges;

/// <summary>A chat user linked again: the device of their old link is revoked as any other revocation is, told to everything that lent it reach.</summary>
[Trait("Category", "Unit")]
public sealed class BridgeRelinkTests : IDisposable
{
    private readonly string _data = TempPaths.NewDirectory("pc-relink");
    private readonly Database _database;

    public BridgeRelinkTests()
    {
        _database = new Database(_data);
        _database.Migrate();
    }

    [Fact]
    public void LinkedAgain_TheOldDeviceIsRevoked_AndEverySubscriberHearsIt()
    {
        var heard = new Recorder();
        var services = new ServiceCollection().AddSingleton<IAccessSubscriber>(heard).BuildServiceProvider();
        var access = new AccessChanges(services, NullLogger<AccessChanges>.Instance);
        var ledger = new PocketCoder.Ledger.LedgerStore(_database, TimeProvider.System);
        var devices = new Devices(_database, ledger, TimeProvider.System);
        var bridges = new BridgeStore(_database, ledger, TimeProvider.System, access);
        var first = devices.CreateLocalDevice("telegram: ana").Device;
        var second = devices.CreateLocalDevice("telegram: ana").Device;

        bridges.Link("telegram", "telegram", "42", "ana", first);
        Assert.Empty(heard.Changes);
        bridges.Link("telegram", "telegram", "42", "ana", second);

        var revoked = Assert.IsType<DevicesRevoked>(Assert.Single(heard.Changes));
        Assert.Equal([first.Id], revoked.DeviceIds);
        Assert.NotNull(devices.List().Single(d => d.Id == first.Id).RevokedAt);

        // The same link again changes nobody's access.
        bridges.Link("telegram", "telegram", "42", "ana", second);
        Assert.Single(heard.Changes);
    }

    private sealed class Recorder : IAccessSubscriber
    {
        public List<AccessChange> Changes { get; } = [];

        public void Changed(AccessChange change) => Changes.Add(change);
    }

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
    }
}
