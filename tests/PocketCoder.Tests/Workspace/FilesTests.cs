using System.Net;
using System.Text;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Workspace;

public sealed class FilesTests
{
    [Fact]
    public async Task ListReadWrite_InsideProject_WorkAndWriteIsLedgeredWithDevice()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        Directory.CreateDirectory(Path.Combine(world.Repository, "src"));
        File.WriteAllText(Path.Combine(world.Repository, "src", "b.txt"), "bee");
        File.WriteAllText(Path.Combine(world.Repository, "a.txt"), "ay");

        var root = await world.Http.GetOkAsync($"{world.Api}/files");
        var src = root.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "src");
        Assert.Equal("directory", src.GetProperty("type").GetString());
        Assert.False(root.GetProperty("truncated").GetBoolean());

        var sub = await world.Http.GetOkAsync($"{world.Api}/files?path=src");
        var b = Assert.Single(sub.GetProperty("entries").EnumerateArray());
        Assert.Equal("src/b.txt", b.GetProperty("path").GetString());
        Assert.Equal(3, b.GetProperty("size").GetInt64());

        var read = await world.Http.GetOkAsync($"{world.Api}/files/content?path=src/b.txt");
        Assert.Equal("bee", read.GetProperty("content").GetString());

        var put = await world.Http.PutAsync($"{world.Api}/files/content?path=src/new.txt", new StringContent("héllo\n", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal("héllo\n", File.ReadAllText(Path.Combine(world.Repository, "src", "new.txt")));
        var replaced = await world.Http.PutAsync($"{world.Api}/files/content?path=src/new.txt", new ByteArrayContent("again"u8.ToArray()));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("again", File.ReadAllText(Path.Combine(world.Repository, "src", "new.txt")));

        var ledger = await world.LedgerAsync("file.written");
        Assert.Equal(2, ledger.Count);
        Assert.Equal("src/new.txt", ledger[0].GetProperty("detail").GetProperty("path").GetString());
        Assert.Equal(world.Phone.DeviceId, ledger[0].GetProperty("detail").GetProperty("deviceId").GetString());
        Assert.Equal(world.ProjectId, ledger[0].GetProperty("subject").GetString());
    }

    [Fact]
    public async Task Write_IfMatchAnOlderVersion_RefusedWithFileChanged_AndTheAgentsWriteIsKept()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var file = Path.Combine(world.Repository, "notes.txt");
        File.WriteAllText(file, "v1\n");
        var opened = await world.Http.GetOkAsync($"{world.Api}/files/content?path=notes.txt");
        var version = opened.GetProperty("sha256").GetString()!;

        File.WriteAllText(file, "the agent wrote this\n");
        var stale = Conditional(HttpMethod.Put, $"{world.Api}/files/content?path=notes.txt", "mine\n", "If-Match", $"\"{version}\"");
        var refused = await world.Http.SendAsync(stale);
        var problem = await ApiAssert.ProblemAsync(refused, HttpStatusCode.PreconditionFailed, "FILE_CHANGED");
        Assert.Equal("the agent wrote this\n", File.ReadAllText(file));
        var current = problem.GetProperty("currentSha256").GetString()!;

        var saved = await world.Http.SendAsync(Conditional(HttpMethod.Put, $"{world.Api}/files/content?path=notes.txt", "mine\n", "If-Match", current));
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        Assert.Equal("mine\n", File.ReadAllText(file));

        // Create-only: an existing file is not replaced; a new one is made.
        await ApiAssert.ProblemAsync(await world.Http.SendAsync(Conditional(HttpMethod.Put, $"{world.Api}/files/content?path=notes.txt", "x", "If-None-Match", "*")),
            HttpStatusCode.PreconditionFailed, "FILE_CHANGED");
        var created = await world.Http.SendAsync(Conditional(HttpMethod.Put, $"{world.Api}/files/content?path=fresh.txt", "x", "If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        File.Delete(file);
        await ApiAssert.ProblemAsync(await world.Http.SendAsync(Conditional(HttpMethod.Put, $"{world.Api}/files/content?path=notes.txt", "y", "If-Match", current)),
            HttpStatusCode.PreconditionFailed, "FILE_CHANGED");
        Assert.False(File.Exists(file));

        // A folder is no version of a file: a clear refusal, never a 500.
        Directory.CreateDirectory(Path.Combine(world.Repository, "folder"));
        await ApiAssert.ProblemAsync(await world.Http.SendAsync(Conditional(HttpMethod.Put, $"{world.Api}/files/content?path=folder", "z", "If-Match", current)),
            HttpStatusCode.BadRequest, "NOT_A_FILE");
    }

    [Fact]
    public async Task Read_NotUtf8_SaysSo_SoTheEditorDoesNotRewriteIt()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await File.WriteAllBytesAsync(Path.Combine(world.Repository, "latin1.txt"), [(byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)'\n']);
        await File.WriteAllTextAsync(Path.Combine(world.Repository, "crlf.txt"), "a\r\nb\r\n");
        var latin1 = await world.Http.GetOkAsync($"{world.Api}/files/content?path=latin1.txt");
        Assert.False(latin1.GetProperty("utf8").GetBoolean());
        Assert.Equal("caf\uFFFD\n", latin1.GetProperty("content").GetString());
        var crlf = await world.Http.GetOkAsync($"{world.Api}/files/content?path=crlf.txt");
        Assert.True(crlf.GetProperty("utf8").GetBoolean());
        Assert.Equal("a\r\nb\r\n", crlf.GetProperty("content").GetString());
    }

    private static HttpRequestMessage Conditional(HttpMethod method, string url, string body, string header, string value)
    {
        var request = new HttpRequestMessage(method, url) { Content = new StringContent(body, Encoding.UTF8, "text/plain") };
        request.Headers.TryAddWithoutValidation(header, value);
        return request;
    }

    [Fact]
    public async Task Listing_DirectoriesFirstThenByName_Sorted()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        File.WriteAllText(Path.Combine(world.Repository, "b.txt"), "");
        Directory.CreateDirectory(Path.Combine(world.Repository, "zdir"));
        var listing = await world.Http.GetOkAsync($"{world.Api}/files");
        var names = listing.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList();
        Assert.Equal([".git", "zdir", "README.md", "b.txt"], names);
    }

    [Fact]
    public async Task Listing_MoreThanTenThousandEntries_IsTruncatedAndSaysSo()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var many = Path.Combine(world.Repository, "many");
        Directory.CreateDirectory(many);
        for (var i = 0; i < 10_005; i++)
        {
            File.WriteAllBytes(Path.Combine(many, $"f{i:D5}"), []);
        }

        var listing = await world.Http.GetOkAsync($"{world.Api}/files?path=many");
        Assert.True(listing.GetProperty("truncated").GetBoolean());
        Assert.Equal(10_000, listing.GetProperty("entries").GetArrayLength());
        Assert.Equal(10_000, listing.GetProperty("limit").GetInt32());
    }

    [Fact]
    public async Task Read_BinaryFile_RefusedWithBinaryFile()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        File.WriteAllBytes(Path.Combine(world.Repository, "image.bin"), [0x89, 0x50, 0x00, 0x47]);
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/files/content?path=image.bin"), HttpStatusCode.UnprocessableEntity, "BINARY_FILE");
    }

    [Fact]
    public async Task Read_OverTenMegabytes_RefusedWithFileTooLarge()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await using (var stream = File.Create(Path.Combine(world.Repository, "big.txt")))
        {
            stream.SetLength(10 * 1024 * 1024 + 1);
        }

        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/files/content?path=big.txt"), HttpStatusCode.RequestEntityTooLarge, "FILE_TOO_LARGE");
    }

    [Fact]
    public async Task Write_OverOneMegabyte_RefusedAndNothingWritten()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var body = new ByteArrayContent(new byte[1024 * 1024 + 1]);
        await ApiAssert.ProblemAsync(await world.Http.PutAsync($"{world.Api}/files/content?path=big.txt", body), HttpStatusCode.RequestEntityTooLarge, "FILE_TOO_LARGE");
        Assert.False(File.Exists(Path.Combine(world.Repository, "big.txt")));
        var exact = new ByteArrayContent(Encoding.ASCII.GetBytes(new string('x', 1024 * 1024)));
        Assert.Equal(HttpStatusCode.Created, (await world.Http.PutAsync($"{world.Api}/files/content?path=exact.txt", exact)).StatusCode);
    }

    [Fact]
    public async Task Errors_MissingFileFileAsDirectoryMissingParent_HaveStableCodes()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/files/content?path=nope.txt"), HttpStatusCode.NotFound, "FILE_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/files?path=README.md"), HttpStatusCode.BadRequest, "NOT_A_DIRECTORY");
        await ApiAssert.ProblemAsync(await world.Http.PutAsync($"{world.Api}/files/content?path=no/such/dir/x.txt", new StringContent("x")),
            HttpStatusCode.NotFound, "FILE_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync("/api/projects/nope/files"), HttpStatusCode.NotFound, "PROJECT_NOT_FOUND");
        Assert.False(Directory.Exists(Path.Combine(world.Repository, "no")));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Write_ExecutableFile_KeepsItsMode()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var script = Path.Combine(world.Repository, "run.sh");
        File.WriteAllText(script, "#!/bin/sh\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await ApiAssert.OkJsonAsync(await world.Http.PutAsync($"{world.Api}/files/content?path=run.sh", new StringContent("#!/bin/sh\necho hi\n")));
        Assert.True(File.GetUnixFileMode(script).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal("#!/bin/sh\necho hi\n", File.ReadAllText(script));
    }
}
