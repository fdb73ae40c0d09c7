using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Mcp;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The enabled MCP servers in each agent's format (#19), without any agent: secrets never on a command line, TOML values
/// that cannot break out of their key, and the servers a file declares read as written.
/// </summary>
[Trait("Category", "Unit")]
public sealed class McpFormatsTests
{
    private static readonly McpServer Command = new("probe", "node", ["/opt/probe.mjs", "--say", "\"quoted\"\n] = evil"],
        new Dictionary<string, string> { ["TOKEN"] = "s3cret" }, null, new Dictionary<string, string>());

    private static readonly McpServer Remote = new("remote", null, [], new Dictionary<string, string>(), "https://mcp.example.test/v1",
        new Dictionary<string, string> { ["Authorization"] = "Bearer t0ken" });

    [Fact]
    public void Claude_NamesEachSecretByAVariable_TheValuesGoOnlyToTheEnvironment()
    {
        var (json, environment) = McpFormats.Claude([Command, Remote]);
        Assert.DoesNotContain("s3cret", json, StringComparison.Ordinal);
        Assert.DoesNotContain("t0ken", json, StringComparison.Ordinal);
        using var config = JsonDocument.Parse(json);
        var servers = config.RootElement.GetProperty("mcpServers");
        var token = servers.GetProperty("probe").GetProperty("env").GetProperty("TOKEN").GetString()!;
        Assert.StartsWith("${POCKETCODER_MCP_", token, StringComparison.Ordinal);
        Assert.Equal("s3cret", environment[token[2..^1]]);
        Assert.Equal("\"quoted\"\n] = evil", servers.GetProperty("probe").GetProperty("args")[2].GetString());
        var header = servers.GetProperty("remote").GetProperty("headers").GetProperty("Authorization").GetString()!;
        Assert.Equal("Bearer t0ken", environment[header[2..^1]]);
        Assert.Equal("http", servers.GetProperty("remote").GetProperty("type").GetString());
    }

    [Fact]
    public void Codex_OverridesHoldNoSecret_ValuesStayInsideTheirKey_OwnServersTurnedOff_ClashesRefused()
    {
        var (arguments, environment) = McpFormats.Codex(new AgentMcp([Command, Remote], ["mine", "not-codex's"]), ["mine"], _ => null);
        var overrides = arguments.Where((_, i) => i % 2 == 1).ToList();
        Assert.All(arguments.Where((_, i) => i % 2 == 0), flag => Assert.Equal("-c", flag));
        Assert.DoesNotContain(overrides, o => o.Contains("s3cret", StringComparison.Ordinal) || o.Contains("t0ken", StringComparison.Ordinal));
        // Each value is one TOML string or array: the quote and the newline are escaped, never a new key.
        var args = overrides.Single(o => o.StartsWith("mcp_servers.probe.args=", StringComparison.Ordinal));
        Assert.DoesNotContain('\n', args);
        Assert.Equal("\"quoted\"\n] = evil", JsonSerializer.Deserialize<string[]>(args["mcp_servers.probe.args=".Length..])![2]);
        Assert.Contains("mcp_servers.probe.env_vars=[\"TOKEN\"]", overrides);
        Assert.Equal("s3cret", environment["TOKEN"]);
        Assert.Contains("mcp_servers.probe.default_tools_approval_mode=\"prompt\"", overrides);
        Assert.Contains("mcp_servers.remote.url=\"https://mcp.example.test/v1\"", overrides);
        var header = overrides.Single(o => o.StartsWith("mcp_servers.remote.env_http_headers=", StringComparison.Ordinal));
        Assert.Equal("Bearer t0ken", environment[header.Split('"')[3]]);
        Assert.Contains("mcp_servers.mine.enabled=false", overrides);
        Assert.DoesNotContain(overrides, o => o.Contains("not-codex's", StringComparison.Ordinal));

        Assert.Throws<AgentUnavailableException>(() => McpFormats.Codex(new AgentMcp([Command], []), ["probe"], _ => null));
        var other = Command with { Name = "other", Env = new Dictionary<string, string> { ["TOKEN"] = "another" } };
        Assert.Throws<AgentUnavailableException>(() => McpFormats.Codex(new AgentMcp([Command, other], []), [], _ => null));
    }

    [Fact]
    public void Codex_ASecretVariableThatWouldChangeCodexItself_Refused_ARepositorysValuesGoAsTheyAre()
    {
        // Codex finds a secret in its own environment: one that Codex (or every command it runs) reads must never go there.
        foreach (var name in (string[])["LD_PRELOAD", "NODE_OPTIONS", "PATH", "CODEX_HOME", "OPENAI_BASE_URL", "BASH_ENV"])
        {
            var loader = Command with { Env = new Dictionary<string, string> { [name] = "/tmp/evil" } };
            Assert.Throws<AgentUnavailableException>(() => McpFormats.Codex(new AgentMcp([loader], []), [], _ => null));
        }

        // ...nor one Codex has with another value; the same value is no change.
        Assert.Throws<AgentUnavailableException>(() => McpFormats.Codex(new AgentMcp([Command], []), [], n => n == "TOKEN" ? "mine" : null));
        Assert.Equal("s3cret", McpFormats.Codex(new AgentMcp([Command], []), [], n => n == "TOKEN" ? "s3cret" : null).Environment["TOKEN"]);

        // A repository's values are public: they go in the server's own env table, never into Codex's environment.
        var declared = Command with { Env = new Dictionary<string, string> { ["NODE_OPTIONS"] = "--max-old-space-size=64" }, ValuesArePublic = true };
        var (arguments, environment) = McpFormats.Codex(new AgentMcp([declared], []), [], _ => null);
        Assert.Empty(environment);
        Assert.Contains("mcp_servers.probe.env={\"NODE_OPTIONS\"=\"--max-old-space-size=64\"}", arguments);
        Assert.DoesNotContain(arguments, a => a.Contains("env_vars", StringComparison.Ordinal));
    }

    [Fact]
    public void AVariableReferenceInACommandArgumentOrUrl_IsAProblem_AgentsWouldExpandIt()
    {
        Assert.Null(Command.Problem);
        Assert.NotNull((Command with { Args = ["--key", "${ANTHROPIC_API_KEY}"] }).Problem);
        Assert.NotNull((Remote with { Url = "https://x.test/${HOME}" }).Problem);
        using var file = JsonDocument.Parse("""{ "leak": { "command": "node", "args": ["${OPENAI_API_KEY}"] } }""");
        var read = McpJson.Read(file.RootElement).Single();
        Assert.Null(read.Server);
        Assert.Contains("${", read.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Acp_SendsStdioServers_AndHttpOnesOnlyToAnAgentThatTakesThem()
    {
        Assert.Single(McpFormats.Acp([Command, Remote], takesHttp: false));
        var both = McpFormats.Acp([Command, Remote], takesHttp: true);
        Assert.Equal("s3cret", both[0]!["env"]![0]!["value"]!.GetValue<string>());
        Assert.Equal("http", both[1]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void Json_ReadsWhatAFileDeclares_AndSaysWhyAnEntryCannotBeUsed()
    {
        using var file = JsonDocument.Parse("""
            {
              "ok": { "command": "npx", "args": ["-y", "server"], "env": { "KEY": "$HOME as written" } },
              "web": { "type": "http", "url": "https://x.test/mcp", "headers": { "Authorization": "Bearer x" } },
              "old": { "type": "sse", "url": "https://x.test/sse" },
              "bad__name": { "command": "x" },
              "creds": { "url": "https://user:pw@x.test/mcp" },
              "numbers": { "command": "x", "args": [1] }
            }
            """);
        var read = McpJson.Read(file.RootElement);
        Assert.Equal("$HOME as written", read.Single(r => r.Name == "ok").Server!.Env["KEY"]);
        Assert.Equal("https://x.test/mcp", read.Single(r => r.Name == "web").Server!.Url);
        Assert.All(read.Where(r => r.Name is not ("ok" or "web")), r => Assert.Null(r.Server));
        Assert.Contains("SSE", read.Single(r => r.Name == "old").Problem, StringComparison.Ordinal);
        Assert.Contains("name", read.Single(r => r.Name == "bad__name").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Fingerprint_ChangesWithAnyPartOfTheDefinition_AndTheScriptItRuns_AndIsKeyed()
    {
        var key = new byte[32];
        var folder = Directory.CreateTempSubdirectory("pc-mcp-").FullName;
        try
        {
            var fingerprint = Command.Fingerprint(key, folder);
            Assert.Equal(fingerprint, (Command with { }).Fingerprint(key, folder));
            Assert.NotEqual(fingerprint, (Command with { Args = ["/opt/probe.mjs"] }).Fingerprint(key, folder));
            Assert.NotEqual(fingerprint, (Command with { Env = new Dictionary<string, string> { ["TOKEN"] = "other" } }).Fingerprint(key, folder));
            Assert.NotEqual(fingerprint, (Command with { Command = "nodejs" }).Fingerprint(key, folder));
            // Keyed: without the install's key nobody can check a guessed secret against it.
            Assert.NotEqual(fingerprint, Command.Fingerprint([1, 2, 3], folder));

            // The script a server runs is part of what was approved: rewritten, it is another server.
            File.WriteAllText(Path.Combine(folder, "srv.mjs"), "console.log('approved')");
            var script = Command with { Args = ["./srv.mjs"] };
            var approved = script.Fingerprint(key, folder);
            File.WriteAllText(Path.Combine(folder, "srv.mjs"), "console.log('rewritten')");
            Assert.NotEqual(approved, script.Fingerprint(key, folder));

            // Rewritten to the same length with its time set back (touch -d): still another server (digests are cached by
            // the status-change time, which nothing sets back).
            var written = File.GetLastWriteTimeUtc(Path.Combine(folder, "srv.mjs"));
            var rewritten = script.Fingerprint(key, folder);
            File.WriteAllText(Path.Combine(folder, "srv.mjs"), "console.log('sneakily!')");
            File.SetLastWriteTimeUtc(Path.Combine(folder, "srv.mjs"), written);
            Assert.NotEqual(rewritten, script.Fingerprint(key, folder));

            // A FIFO is never read (that would wait for a writer for ever).
            Assert.Equal(0, MakeFifo(Path.Combine(folder, "fifo"), 0x180));
            _ = (Command with { Args = ["./fifo"] }).Fingerprint(key, folder);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo(string path, uint mode);

    [Theory]
    [InlineData("probe_")]
    [InlineData("_probe")]
    [InlineData("a__b")]
    [InlineData("probe\n")]
    [InlineData("")]
    public void Names_ThatWouldReadAsAnotherServer_Refused(string name) => Assert.False(McpServer.IsName(name));

    [Theory]
    [InlineData("probe_touch_file", "probe", "mcp__probe__touch_file")]
    [InlineData("a_b_c", "a,a_b", "mcp__a_b__c")]
    [InlineData("external_directory", "external", null)]
    [InlineData("probe_", "probe", null)]
    [InlineData("other_tool", "probe", null)]
    public void OpenCode_AnMcpToolIsOnlyOneOfTheServersItWasGiven_NeverItsOwnPermission(string tool, string servers, string? expected) =>
        Assert.Equal(expected, PocketCoder.Agents.OpenCode.OpenCodeUpdates.McpTool(tool, servers.Split(','))?.Name);

    [Fact]
    public void OpenCode_AValueSubstitutedIntoTheConfigText_StaysInsideItsString()
    {
        // OpenCode replaces {env:VAR} in the config's text before parsing it: do the same, and the value must come back whole.
        const string hostile = "x\"}},\"evil\":{\"type\":\"local\",\"command\":[\"sh\"]} \\ {file:/etc/passwd} {env:HOME}";
        var server = Remote with { Headers = new Dictionary<string, string> { ["X-Client"] = hostile }, ValuesArePublic = true };
        var (config, environment) = McpFormats.OpenCode([server]);
        var text = System.Text.RegularExpressions.Regex.Replace(config, @"\{env:([^}]+)\}", m => environment[m.Groups[1].Value]);
        Assert.DoesNotContain("{file:", text, StringComparison.Ordinal);
        Assert.DoesNotContain("{env:", text, StringComparison.Ordinal);
        using var parsed = JsonDocument.Parse(text);
        var mcp = parsed.RootElement.GetProperty("mcp");
        Assert.Equal(["remote"], mcp.EnumerateObject().Select(p => p.Name));
        Assert.Equal(hostile, mcp.GetProperty("remote").GetProperty("headers").GetProperty("X-Client").GetString());
    }

    [Theory]
    [InlineData("read_mcp_resource", "mcp:probe:attack://private", "mcp__probe__read_mcp_resource", "mcp")]
    [InlineData("list_mcp_resources", "mcp:probe:*", "mcp__probe__list_mcp_resources", "mcp")]
    [InlineData("list_mcp_resources", "mcp:a:*,mcp:b:*", "list_mcp_resources", "other")]
    [InlineData("bash", "mcp:probe:x; touch pwned.txt", null, null)]
    [InlineData("read", "mcp:probe:x", null, null)]
    [InlineData(null, "mcp:probe:x", null, null)]
    public void OpenCode_OnlyItsOwnResourceToolsAreMcpCalls_NeverACommandOrAFileNamedLikeOne(string? tool, string patterns, string? expected, string? kind)
    {
        var resource = PocketCoder.Agents.OpenCode.OpenCodeUpdates.McpResource(tool, patterns.Split(','), new System.Text.Json.Nodes.JsonObject());
        Assert.Equal(expected, resource?.Name);
        Assert.Equal(kind, resource is { } r ? ToolKinds.ToWire(r.Kind) : null);
    }
}
