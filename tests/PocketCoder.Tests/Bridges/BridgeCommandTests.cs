using PocketCoder.Bridges;
using PocketCoder.Cli;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Bridges;

/// <summary><c>pocketcoder bridge</c>: the token goes into bridges.json, 0600, and never comes back out.</summary>
public sealed class BridgeCommandTests
{
    [Fact]
    public async Task AddListRemove_TokenStaysInThePrivateFile()
    {
        var data = TempPaths.NewDirectory("pc-data");
        try
        {
            var tokenFile = Path.Combine(data, "token.txt");
            await File.WriteAllTextAsync(tokenFile, "123456:AbC-def_ghi\n");
            var (status, output, _) = await RunAsync("bridge", "add", "telegram", "--data", data, "--token-file", tokenFile, "--api-base", "http://127.0.0.1:9/");
            Assert.Equal(0, status);
            Assert.Contains("Added bridge 'telegram'", output);

            var path = BridgesFile.PathIn(data);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            var bridge = Assert.Single(BridgesFile.Load(data));
            Assert.Equal("123456:AbC-def_ghi", bridge.Secret);
            Assert.Equal("http://127.0.0.1:9/", bridge.ApiBase.ToString());

            (status, output, _) = await RunAsync("bridge", "list", "--data", data);
            Assert.Equal(0, status);
            Assert.Contains("telegram\ttelegram", output);
            Assert.DoesNotContain("AbC-def", output);

            (status, output, _) = await RunAsync("bridge", "remove", "telegram", "--data", data);
            Assert.Equal(0, status);
            Assert.Empty(BridgesFile.Load(data));
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    [Theory]
    [InlineData("telegram", "t", "bad token", null, "token")]
    [InlineData("telegram", "Bad/Name", "1:a", null, "name")]
    [InlineData("telegram", "t", "1:a/../../x", null, "token")]
    [InlineData("telegram", "t", "1:a", "https://user:pw@example.test/", "API address")]
    [InlineData("whatsapp", "t", "1:a", null, "unknown platform")]
    public void Check_RefusesWhatCouldLeakOrMisroute(string platform, string id, string secret, string? apiBase, string says) =>
        Assert.Contains(says, BridgesFile.Check(id, platform, secret, apiBase) ?? "accepted", StringComparison.Ordinal);

    private static async Task<(int Status, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var status = await CommandLine.RunAsync(args, output, error);
        return (status, output.ToString(), error.ToString());
    }
}
