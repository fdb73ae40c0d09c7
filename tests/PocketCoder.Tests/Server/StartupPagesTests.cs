using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Server;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>
/// Once start-up is over the server lets go of the program pages it read (issue #40): only pages a file holds every byte of,
/// so that nothing is lost, and the server goes on answering with them gone.
/// </summary>
public sealed class StartupPagesTests
{
    private const string Smaps = """
        55d0a0000000-55d0a0100000 r--p 00000000 08:01 1001                       /opt/pocketcoder/pocketcoder
        Size:               1024 kB
        Rss:                 512 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me dw sd
        55d0a0100000-55d0a0300000 r-xp 00100000 08:01 1001                       /opt/pocketcoder/pocketcoder
        Size:               2048 kB
        Rss:                2000 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me dw sd
        55d0a0300000-55d0a0310000 r--p 00300000 08:01 1001                       /opt/pocketcoder/pocketcoder
        Size:                 64 kB
        Rss:                  64 kB
        Anonymous:            16 kB
        VmFlags: rd mr mw me dw ac sd
        55d0a0310000-55d0a0320000 rw-p 00310000 08:01 1001                       /opt/pocketcoder/pocketcoder
        Size:                 64 kB
        Rss:                  64 kB
        Anonymous:             0 kB
        VmFlags: rd wr mr mw me dw ac sd
        55d0a0320000-55d0a1320000 rw-p 00000000 00:00 0
        Size:              16384 kB
        Rss:               16000 kB
        Anonymous:         16000 kB
        VmFlags: rd wr mr mw me ac sd
        7f0000000000-7f0000100000 r-xs 00000000 00:01 77                         /memfd:doublemapper (deleted)
        Size:               1024 kB
        Rss:                 900 kB
        Anonymous:             0 kB
        VmFlags: rd ex sh mr mw me ms sd
        7f0000200000-7f0000300000 r--p 00000000 08:01 2002                       /usr/lib/x86_64-linux-gnu/libcrypto.so.3
        Size:               1024 kB
        Rss:                   0 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me sd
        7f0000400000-7f0000402000 r--p 00000000 00:00 0                          [vvar]
        Size:                  8 kB
        Rss:                   0 kB
        Anonymous:             0 kB
        VmFlags: rd mr pf io de dd sd
        7f0000500000-7f0000600000 r-xp 00000000 08:01 3003                       /usr/lib/x86_64-linux-gnu/libc.so.6
        Size:               1024 kB
        Rss:                 800 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me sd
        """;

    [Theory]
    [InlineData(1 << 16)]
    [InlineData(128)] // Lines carried over from one read to the next.
    public void OnlyPrivateReadOnlyFileMappingsWithNoPageOfTheirOwn_AreDropped(int bufferSize)
    {
        using var smaps = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Smaps));
        var picked = StartupPages.ReadOnlyFileMappings(smaps, bufferSize);

        // The executable's read-only data and code, and libc's code: every byte of them is in the file.
        Assert.Equal(
            [
                (0x55d0a0000000L, 1024L * 1024, 512L * 1024),
                (0x55d0a0100000L, 2048L * 1024, 2000L * 1024),
                (0x7f0000500000L, 1024L * 1024, 800L * 1024),
            ],
            picked.Select(mapping => ((long)mapping.Start, (long)mapping.Length, mapping.ResidentBytes)));
        // Left alone: relocated read-only data (a page of its own), writable data, the heap, a shared memfd (the JIT's code),
        // a mapping with nothing resident, the kernel's [vvar].
    }

    [Fact]
    public void AFileThatIsNotSmaps_DropsNothing()
    {
        using var garbage = new MemoryStream(new byte[4096]);
        Assert.Empty(StartupPages.ReadOnlyFileMappings(garbage, 128));
        using var text = new MemoryStream(System.Text.Encoding.UTF8.GetBytes("55d0a0000000-55d0a0100000 r--p 0 08:01 1 /x\nRss: lots kB\nAnonymous: 0 kB\n"));
        Assert.Empty(StartupPages.ReadOnlyFileMappings(text));
    }

    [Fact]
    public async Task OnceStartUpIsOver_TheProgramPagesAreLetGo_AndTheServerGoesOnAnswering()
    {
        await using var server = await TestServer.StartAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var released = await server.Services.GetRequiredService<StartupPages>().Released.WaitAsync(cancel.Token);

        Assert.True(released > 1024 * 1024, $"only {released} bytes of program pages were let go");
        // What is resident in those mappings now is what has been touched since: far less than what was let go.
        using var smaps = File.OpenRead(StartupPages.SmapsPath);
        var residentNow = StartupPages.ReadOnlyFileMappings(smaps).Sum(mapping => mapping.ResidentBytes);
        Assert.True(residentNow < released, $"{residentNow} bytes resident again after {released} were let go");
        var paired = await server.PairAsync();
        await ApiAssert.OkJsonAsync(await paired.Http.GetAsync("/api/sessions"));
    }
}
