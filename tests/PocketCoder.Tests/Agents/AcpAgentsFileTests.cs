using System.Net;
using System.Net.Http.Json;
using PocketCoder.Agents.Acp;
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
            var problem = await ApiAssert.ProblemAsync(response, HttpStatusCode.ServiceUnavailable, "AGENT_UNAVAILABLE");
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
            await ApiAssert.ProblemAsync(response, HttpStatusCode.ServiceUnavailable, "AGENT_UNAVAILABLE");
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }
}
