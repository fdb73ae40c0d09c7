using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Processes;
using PocketCoder.Cli;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>The owner registers their own ACP agents in agents.json; mistakes stop the server with a clear reason.</summary>
public sealed class AcpAgentsFileTests
{
    [Fact]
    public async Task Server_WithARegisteredAgent_ListsItInHealth()
    {
        var data = TempPaths.NewDirectory("pc-data");
        await File.WriteAllTextAsync(Path.Combine(data, "agents.json"), """
            [{"id":"claude-acp","name":"Claude (ACP)","command":"/nonexistent/claude-agent-acp","args":["--stdio"]}]
            """);
        await using var server = await TestServer.StartAsync(data);
        try
        {
            var health = await server.Anonymous.GetOkAsync("/api/health");
            var agent = Assert.Single(health.GetProperty("agents").EnumerateArray(), a => a.GetProperty("id").GetString() == "claude-acp");
            Assert.False(agent.GetProperty("available").GetBoolean());
            Assert.Contains("/nonexistent/claude-agent-acp", agent.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await server.StopAsync();
            TempPaths.Delete(data);
        }
    }

    [Theory]
    [InlineData("""{"id":"x"}""", "JSON array")]
    [InlineData("""[{"id":"Bad Id","command":"a"}]""", "id 'Bad Id'")]
    [InlineData("""[{"id":"gemini","command":"a"}]""", "already taken")]
    [InlineData("""[{"id":"one","command":"a"},{"id":"one","command":"b"}]""", "already taken")]
    [InlineData("""[{"id":"one"}]""", "no 'command'")]
    [InlineData("""[{"id":"one","command":"a","args":"--acp"}]""", "array of strings")]
    [InlineData("""[{"id":"one","command":"a","env":{}}]""", "unknown field 'env'")]
    [InlineData("""[{"id":"one","command":"a",""", "not valid JSON")]
    public async Task Serve_WithABrokenAgentsFile_RefusesToStartAndSaysWhy(string content, string reason)
    {
        var data = TempPaths.NewDirectory("pc-data");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(data, AcpAgentsFile.FileName), content);
            var error = new StringWriter();
            var exitCode = await CommandLine.RunAsync(["serve", "--listen", "http://127.0.0.1:0", "--data", data], new StringWriter(), error);
            Assert.Equal(2, exitCode);
            Assert.Contains(reason, error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    [Fact]
    public async Task StartSession_AgentDiesDuringTheHandshake_Is503WithItsStderr()
    {
        var data = TempPaths.NewDirectory("pc-data");
        await File.WriteAllTextAsync(Path.Combine(data, "agents.json"), """
            [{"id":"broken-acp","command":"/bin/sh","args":["-c","echo 'boom: missing credentials' >&2; exit 3"]}]
            """);
        await using var server = await TestServer.StartAsync(data);
        var repository = TempPaths.NewGitRepository();
        try
        {
            var phone = await server.PairAsync();
            var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
            var response = await phone.Http.PostAsJsonAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions",
                new { agent = "broken-acp", prompt = "hello" });
            var problem = await ApiAssert.StartFailsAsync(phone.Http, response, "AGENT_UNAVAILABLE");
            Assert.Contains("boom: missing credentials", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await server.StopAsync();
            TempPaths.Delete(data);
            TempPaths.Delete(repository);
        }
    }

    [Fact]
    public async Task StartSession_GeminiNotInstalled_Is503AndHealthSaysHowToInstall()
    {
        await using var server = await TestServer.StartAsync(agents: new Dictionary<string, PocketCoder.Agents.Processes.AgentCommand>
        {
            ["gemini"] = new("/nonexistent/gemini", new Dictionary<string, string?>()),
        });
        var repository = TempPaths.NewGitRepository();
        try
        {
            var phone = await server.PairAsync();
            var health = await server.Anonymous.GetOkAsync("/api/health");
            var gemini = Assert.Single(health.GetProperty("agents").EnumerateArray(), a => a.GetProperty("id").GetString() == "gemini");
            Assert.False(gemini.GetProperty("available").GetBoolean());
            Assert.Contains("@google/gemini-cli", gemini.GetProperty("detail").GetString(), StringComparison.Ordinal);

            var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
            var response = await phone.Http.PostAsJsonAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions",
                new { agent = "gemini", prompt = "hello" });
            await ApiAssert.StartFailsAsync(phone.Http, response, "AGENT_UNAVAILABLE");
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("""{"id":"claude-acp","command":"claude-agent-acp"}""")]
    [InlineData("""{"id":"claude-acp","command":"npx","args":["-y","@agentclientprotocol/claude-agent-acp"]}""")]
    [InlineData("""{"id":"claude-acp","command":"node","args":["/opt/claude-code-acp/dist/index.js"]}""")]
    public void Parse_ClaudeAgentAcpWithoutState_GetsClaudeCodesStateItsConfigReadOnlyAndItsLogin(string entry)
    {
        // Without its conversations in its sandbox's state it can never load one again: "Resource not found".
        var agent = Assert.Single(AcpAgentsFile.Parse(JsonElement.Parse($"[{entry}]"), "agents.json", ["gemini"]));
        var home = agent.Command.Home;
        var config = Environment.GetEnvironmentVariable("CLAUDE_CONFIG_DIR") is { Length: > 0 } configured ? configured : Path.Combine(home, ".claude");
        Assert.Equal([config], agent.State.Folders);
        Assert.Contains(agent.State.Config, c => c.Path == Path.Combine(config, "settings.json") && c.Placeholder == Placeholder.JsonObject);
        Assert.Contains(agent.State.Config, c => c.Path == Path.Combine(config, "plugins") && c.Placeholder == Placeholder.Folder);
        Assert.Equal([Path.Combine(config, ".credentials.json")], agent.State.Logins);
        // Its state file moves into that folder, which is its home's in a sandbox.
        Assert.Equal(config, agent.SandboxedEnvironment["CLAUDE_CONFIG_DIR"]);
        // Claude Code's update checks, telemetry and error reports off: from a sandbox each is a refused connection at every start.
        Assert.Equal("1", agent.Command.Environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"]);
        // It replays a loaded conversation before it answers session/load: a resumed prompt goes at once.
        Assert.False(agent.ReplaysAfterLoad);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Parse_StateGiven_KeptAsGiven_ClaudesConfigThere_OtherAgentsGetNone()
    {
        var agents = AcpAgentsFile.Parse(JsonElement.Parse("""
            [{"id":"claude-acp","command":"claude-agent-acp","state":["/srv/claude-home/.claude"]},
             {"id":"other","command":"opencode","args":["acp"],"config":["x/settings.json","x/plugins/"],"logins":["x/auth.json"]}]
            """), "agents.json", ["gemini"]);
        Assert.Equal(["/srv/claude-home/.claude"], agents[0].State.Folders);
        Assert.Contains(agents[0].State.Config, c => c.Path == "/srv/claude-home/.claude/settings.json");
        Assert.Empty(agents[1].State.Folders);
        var home = agents[1].Command.Home;
        Assert.Equal([new AgentConfig(Path.Combine(home, "x/settings.json"), Placeholder.JsonObject), new AgentConfig(Path.Combine(home, "x/plugins"), Placeholder.Folder)],
            agents[1].State.Config);
        Assert.Equal([Path.Combine(home, "x/auth.json")], agents[1].State.Logins);
        Assert.Empty(agents[1].SandboxedEnvironment);
        // Of an agent PocketCoder does not know: nothing added to its environment, and a resumed prompt waits out any replay.
        Assert.Empty(agents[1].Command.Environment);
        Assert.True(agents[1].ReplaysAfterLoad);
    }
}
