using System.Text.Json;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Sessions;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The client-side fs/* methods an ACP agent calls: whatever path it sends, nothing outside the project root is
/// read or written, and the refusal is a JSON-RPC error the agent can show.
/// </summary>
public sealed class AcpFileSystemTests : IDisposable
{
    private readonly string _root = TempPaths.NewDirectory("pc-acp-root");
    private readonly string _outside = TempPaths.NewDirectory("pc-acp-outside");

    public AcpFileSystemTests()
    {
        File.WriteAllText(Path.Combine(_root, "inside.txt"), "one\ntwo\nthree\n");
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "secret");
    }

    public void Dispose()
    {
        TempPaths.Delete(_root);
        TempPaths.Delete(_outside);
    }

    [Fact]
    public async Task Read_InsideTheRoot_ReturnsTheRequestedLines()
    {
        var reply = await Files().HandleAsync("fs/read_text_file", Params(new { path = Path.Combine(_root, "inside.txt"), line = 2, limit = 1 }), CancellationToken.None);
        Assert.Null(reply.Error?.Message);
        Assert.Equal("two", reply.Result!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Read_OutsideTheRoot_IsRefused()
    {
        var reply = await Files().HandleAsync("fs/read_text_file", Params(new { path = Path.Combine(_outside, "secret.txt") }), CancellationToken.None);
        AssertOutside(reply);
    }

    [Fact]
    public async Task Read_DotDotOutOfTheRoot_IsRefused()
    {
        var sneaky = $"{_root}/../{Path.GetFileName(_outside)}/secret.txt";
        var reply = await Files().HandleAsync("fs/read_text_file", Params(new { path = sneaky }), CancellationToken.None);
        AssertOutside(reply);
    }

    [Fact]
    public async Task ReadAndWrite_ThroughASymlinkOut_AreRefusedAndNothingIsWritten()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "secret-link.txt"), Path.Combine(_outside, "secret.txt"));

        AssertOutside(await Files().HandleAsync("fs/read_text_file", Params(new { path = Path.Combine(_root, "escape", "secret.txt") }), CancellationToken.None));
        AssertOutside(await Files().HandleAsync("fs/read_text_file", Params(new { path = Path.Combine(_root, "secret-link.txt") }), CancellationToken.None));
        AssertOutside(await Files().HandleAsync("fs/write_text_file",
            Params(new { path = Path.Combine(_root, "escape", "planted.txt"), content = "x" }), CancellationToken.None));
        AssertOutside(await Files().HandleAsync("fs/write_text_file",
            Params(new { path = Path.Combine(_root, "secret-link.txt"), content = "overwritten" }), CancellationToken.None));

        Assert.False(File.Exists(Path.Combine(_outside, "planted.txt")));
        Assert.Equal("secret", await File.ReadAllTextAsync(Path.Combine(_outside, "secret.txt")));
    }

    [Fact]
    public async Task Write_InsideTheRoot_CreatesTheFileAndItsFolders()
    {
        var target = Path.Combine(_root, "src", "deep", "new.cs");
        var reply = await Files().HandleAsync("fs/write_text_file", Params(new { path = target, content = "class A {}\n" }), CancellationToken.None);
        Assert.Null(reply.Error?.Message);
        Assert.Equal("class A {}\n", await File.ReadAllTextAsync(target));
    }

    [Fact]
    public async Task Read_RelativePath_IsRefused()
    {
        var reply = await Files().HandleAsync("fs/read_text_file", Params(new { path = "inside.txt" }), CancellationToken.None);
        Assert.NotNull(reply.Error);
        Assert.Equal(-32602, reply.Error?.Code);
    }

    [Fact]
    public async Task Read_MissingFile_IsResourceNotFoundUnlessTheAgentNeedsEmptyContent()
    {
        var missing = Params(new { path = Path.Combine(_root, "missing.txt") });
        var strict = await Files().HandleAsync("fs/read_text_file", missing, CancellationToken.None);
        Assert.Equal(-32002, strict.Error?.Code);

        var lenient = await new AcpFileSystem(_root, missingFileReadsEmpty: true).HandleAsync("fs/read_text_file", missing, CancellationToken.None);
        Assert.Equal("", lenient.Result!["content"]!.GetValue<string>());

        // Lenient only inside: outside it is still a refusal, never an empty file.
        AssertOutside(await new AcpFileSystem(_root, missingFileReadsEmpty: true).HandleAsync("fs/read_text_file",
            Params(new { path = Path.Combine(_outside, "missing.txt") }), CancellationToken.None));
    }

    private AcpFileSystem Files() => new(_root, missingFileReadsEmpty: false);

    private static JsonElement Params(object value) => JsonSerializer.SerializeToElement(value);

    private static void AssertOutside(JsonRpcReply reply)
    {
        Assert.True(reply.Error is not null, "A path outside the project root was served.");
        Assert.Equal(-32602, reply.Error?.Code);
        Assert.Equal("OUTSIDE_PROJECT_ROOT", reply.Error!.Data!["code"]!.GetValue<string>());
    }
}
