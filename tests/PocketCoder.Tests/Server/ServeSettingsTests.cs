using System.Collections;
using PocketCoder.Server;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>Settings of <c>serve</c>: the file, the environment and the flags, in that order of strength, validated at once.</summary>
[Trait("Category", "Unit")]
public sealed class ServeSettingsTests : IDisposable
{
    private static readonly Dictionary<string, string?> NoFlags = [];
    private readonly string _data = TempPaths.NewDirectory("pc-settings");

    public void Dispose() => TempPaths.Delete(_data);

    [Fact]
    public void Nothing_Given_TheDefaults()
    {
        var options = ServeSettings.Load(_data, NoFlags, new Hashtable()).ToOptions(_data);
        Assert.Equal(PocketCoderOptions.DefaultListen, options.Listen);
        Assert.Equal(TimeSpan.FromSeconds(180), options.StallAfter);
        Assert.Equal("claude", options.AgentCommands["claude-code"].Command);
    }

    [Fact]
    public void FileThenEnvironmentThenFlags_LaterWins()
    {
        File.WriteAllText(Path.Combine(_data, ServeSettings.FileName),
            """{"StallSeconds": 30, "SuspendIdleMinutes": 5, "GeminiModel": "gemini-from-file", "AllowedHosts": "box.lan"}""");
        var environment = new Hashtable { ["POCKETCODER_STALL_SECONDS"] = "60", ["POCKETCODER_SUSPEND_IDLE_MINUTES"] = "7", ["POCKETCODER_CLAUDE_PATH"] = "/opt/claude" };
        var flags = new Dictionary<string, string?> { ["stall-seconds"] = "90", ["ledger-terminal-text"] = "true" };

        var options = ServeSettings.Load(_data, flags, environment).ToOptions(_data);

        Assert.Equal(TimeSpan.FromSeconds(90), options.StallAfter);
        Assert.Equal(TimeSpan.FromMinutes(7), options.SuspendIdleAfter);
        Assert.Equal("gemini-from-file", options.GeminiDefaultModel);
        Assert.Equal(["box.lan"], options.AllowedHosts);
        Assert.True(options.LedgerTerminalText);
        Assert.Equal("/opt/claude", options.AgentCommands["claude-code"].Command);
    }

    [Fact]
    public void BadValues_StartUpRefused_NamingEveryProblem()
    {
        var environment = new Hashtable { ["POCKETCODER_STALL_SECONDS"] = "-1", ["POCKETCODER_GEMINI_MODEL"] = "--yolo" };
        var flags = new Dictionary<string, string?> { ["listen"] = "ftp://0.0.0.0:1", ["public-url"] = "https://box.example.net/app" };

        var problem = Assert.Throws<InvalidDataException>(() => ServeSettings.Load(_data, flags, environment));

        Assert.Contains("StallSeconds", problem.Message, StringComparison.Ordinal);
        Assert.Contains("GeminiModel", problem.Message, StringComparison.Ordinal);
        Assert.Contains("Listen must be an http:// or https:// URL", problem.Message, StringComparison.Ordinal);
        Assert.Contains("PublicUrl must be an http:// or https:// URL with no path", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://0.0.0.0:7420", null, "Listen is https://, so Cert and Key")]
    [InlineData("https://0.0.0.0:7420", "/c.pem", "Listen is https://, so Cert and Key")]
    [InlineData("http://0.0.0.0:7420", "/c.pem", "used only with an https:// Listen")]
    [InlineData("http://0.0.0.0:7420", "acme", "Acme without a hub needs an https:// Listen")]
    [InlineData("https://0.0.0.0:443", "acme", "Acme without a hub needs an https:// Listen and an https:// PublicUrl")]
    public void Https_NeedsCertAndKey_AndOnlyItUsesThem(string listen, string? cert, string expected)
    {
        var flags = new Dictionary<string, string?> { ["listen"] = listen };
        if (cert == "acme")
        {
            flags["acme"] = "https://acme.example.test/directory";
        }
        else if (cert is not null)
        {
            flags["cert"] = cert;
        }

        var problem = Assert.Throws<InvalidDataException>(() => ServeSettings.Load(_data, flags, new Hashtable()));
        Assert.Contains(expected, problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"StalSeconds": 30}""", "StalSeconds")]
    [InlineData("""{"StallSeconds": "soon"}""", "StallSeconds")]
    public void FileWithATypoOrAWrongType_Refused(string json, string named)
    {
        File.WriteAllText(Path.Combine(_data, ServeSettings.FileName), json);
        var problem = Assert.Throws<InvalidDataException>(() => ServeSettings.Load(_data, NoFlags, new Hashtable()));
        Assert.Contains(named, problem.Message, StringComparison.Ordinal);
        Assert.Contains(ServeSettings.FileName, problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EverySetting_HasAVariable_AndEveryPropertyIsASetting()
    {
        var properties = typeof(ServeSettings).GetProperties().Select(p => p.Name).Order(StringComparer.Ordinal);
        Assert.Equal(properties, ServeSettings.Sources.Select(s => s.Key).Order(StringComparer.Ordinal));
        Assert.All(ServeSettings.Sources, s => Assert.StartsWith("POCKETCODER_", s.Variable, StringComparison.Ordinal));
    }
}
