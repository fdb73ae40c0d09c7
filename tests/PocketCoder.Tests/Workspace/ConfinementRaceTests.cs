using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using PocketCoder.Agents.Acp;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Workspace;

/// <summary>
/// The check-then-use race: while files are read and written, another thread keeps swapping a folder of the
/// project with a symlink to a folder outside (renameat2 RENAME_EXCHANGE, atomic). Whatever moment the swap hits,
/// no read may return the outside file and no write may land outside; and a FIFO or socket is never opened for I/O.
/// </summary>
public sealed class ConfinementRaceTests
{
    private const int Iterations = 400;
    private const string Secret = "OUTSIDE-SECRET";

    [Fact]
    public async Task FilesApi_DirectorySwappedWithOutsideSymlink_NeverReadsOrWritesOutside()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var outside = TempPaths.NewDirectory("pc-outside");
        try
        {
            var (swapped, _) = PrepareSwap(world.Repository, outside);
            using var swapping = new CancellationTokenSource();
            var swapper = Task.Run(() => SwapUntilCancelled(world.Repository, swapping.Token));
            var leaks = 0;
            for (var i = 0; i < Iterations; i++)
            {
                var read = await world.Http.GetAsync($"{world.Api}/files/content?path=dir/file.txt");
                if ((await read.Content.ReadAsStringAsync()).Contains(Secret, StringComparison.Ordinal))
                {
                    leaks++;
                }

                await world.Http.PutAsync($"{world.Api}/files/content?path=dir/written-{i}.txt", new StringContent("inside", Encoding.UTF8));
            }

            await swapping.CancelAsync();
            var swaps = await swapper;
            Assert.True(swaps > Iterations, $"The swapper made only {swaps} swaps: the race was not exercised.");
            Assert.Equal(0, leaks);
            Assert.Empty(Directory.GetFiles(outside, "written-*"));
            Assert.NotEmpty(Directory.GetFiles(swapped, "written-*"));
        }
        finally
        {
            TempPaths.Delete(outside);
        }
    }

    [Fact]
    public async Task AcpFileSystem_DirectorySwappedWithOutsideSymlink_NeverReadsOrWritesOutside()
    {
        var root = TempPaths.NewDirectory("pc-acp-race");
        var outside = TempPaths.NewDirectory("pc-outside");
        try
        {
            var real = Agents.FileSystemFor(root);
            PrepareSwap(root, outside);
            using var swapping = new CancellationTokenSource();
            var swapper = Task.Run(() => SwapUntilCancelled(root, swapping.Token));
            var leaks = 0;
            for (var i = 0; i < Iterations * 5; i++)
            {
                var read = await real.HandleAsync("fs/read_text_file", Params(new { path = Path.Combine(root, "dir", "file.txt") }), CancellationToken.None);
                if (read.Error is null && read.Result!["content"]!.GetValue<string>().Contains(Secret, StringComparison.Ordinal))
                {
                    leaks++;
                }

                await real.HandleAsync("fs/write_text_file",
                    Params(new { path = Path.Combine(root, "dir", $"written-{i}.txt"), content = "inside" }), CancellationToken.None);
            }

            await swapping.CancelAsync();
            Assert.True(await swapper > Iterations, "The race was not exercised.");
            Assert.Equal(0, leaks);
            Assert.Empty(Directory.GetFiles(outside, "written-*"));
        }
        finally
        {
            TempPaths.Delete(root);
            TempPaths.Delete(outside);
        }
    }

    [Fact]
    public async Task FilesApi_FifoAndSocket_RefusedAtOnceAndTheServerStaysResponsive()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        Assert.Equal(0, MakeFifo(Path.Combine(world.Repository, "pipe"), 0x1A4));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(world.Repository, "sock")));

        // Twenty reads of a FIFO used to hold twenty request threads for ever.
        var reads = Enumerable.Range(0, 20).Select(_ => world.Http.GetAsync($"{world.Api}/files/content?path=pipe")).ToList();
        foreach (var read in reads)
        {
            await ApiAssert.ProblemAsync(await read, HttpStatusCode.BadRequest, "NOT_A_REGULAR_FILE");
        }

        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/files/content?path=sock"), HttpStatusCode.BadRequest, "NOT_A_REGULAR_FILE");
        await ApiAssert.ProblemAsync(await world.Http.PutAsync($"{world.Api}/files/content?path=pipe", new StringContent("x")),
            HttpStatusCode.BadRequest, "NOT_A_REGULAR_FILE");
        Assert.Equal(HttpStatusCode.OK, (await world.Server.Anonymous.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task AcpFileSystem_Fifo_RefusedWithoutBlocking()
    {
        var root = TempPaths.NewDirectory("pc-acp-fifo");
        try
        {
            Assert.Equal(0, MakeFifo(Path.Combine(root, "pipe"), 0x1A4));
            var reply = await Agents.FileSystemFor(root).HandleAsync("fs/read_text_file", Params(new { path = Path.Combine(root, "pipe") }), CancellationToken.None);
            Assert.NotNull(reply.Error);
            Assert.Equal("NOT_A_REGULAR_FILE", reply.Error!.Data!["code"]!.GetValue<string>());
        }
        finally
        {
            TempPaths.Delete(root);
        }
    }

    /// <summary>Makes root/dir (with file.txt) and root/link -> outside (with the secret file.txt).</summary>
    private static (string Swapped, string Link) PrepareSwap(string root, string outside)
    {
        var dir = Directory.CreateDirectory(Path.Combine(root, "dir")).FullName;
        File.WriteAllText(Path.Combine(dir, "file.txt"), "inside");
        File.WriteAllText(Path.Combine(outside, "file.txt"), Secret);
        var link = Path.Combine(root, "link");
        File.CreateSymbolicLink(link, outside);
        return (dir, link);
    }

    private static int SwapUntilCancelled(string root, CancellationToken cancellationToken)
    {
        var swaps = 0;
        var dir = Path.Combine(root, "dir");
        var link = Path.Combine(root, "link");
        while (!cancellationToken.IsCancellationRequested)
        {
            Assert.Equal(0, RenameExchange(-100, dir, -100, link, 2));
            swaps++;
        }

        // Leave "dir" as the real folder, so the test can look at what was written into it.
        if (new FileInfo(dir).LinkTarget is not null)
        {
            RenameExchange(-100, dir, -100, link, 2);
        }

        return swaps;
    }

    private static JsonElement Params(object value) => JsonSerializer.SerializeToElement(value);

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static extern int RenameExchange(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo(string path, uint mode);

    private static class Agents
    {
        public static AcpFileSystem FileSystemFor(string root) => new(root, missingFileReadsEmpty: false);
    }
}
