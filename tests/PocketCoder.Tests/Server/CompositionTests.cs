using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Server;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>What the composed server does not carry: pieces that cost start-up time and memory for nothing.</summary>
[Trait("Category", "Unit")]
public sealed class CompositionTests : IDisposable
{
    private readonly string _data = TempPaths.NewDirectory("pc-composition");

    public void Dispose() => TempPaths.Delete(_data);

    [Fact]
    public async Task Server_HasNoDataProtection_NorAKeysFolder()
    {
        // Device tokens are PocketCoder's own (hashed in the database); DataProtection's key ring was loaded at every
        // start (~30 ms, ~10 MiB) and protected nothing.
        await using var app = PocketCoderServer.Build(new PocketCoderOptions { DataDirectory = _data, ConsoleLogging = false });

        Assert.Null(app.Services.GetService<IDataProtectionProvider>());
        Assert.False(Directory.Exists(Path.Combine(_data, "keys")));
    }
}
