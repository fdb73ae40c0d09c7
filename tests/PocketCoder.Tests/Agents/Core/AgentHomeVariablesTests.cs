using Microsoft.Extensions.Logging.Abstractions;
using PocketCoder.Agents;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// Where each ACP agent keeps its state when the owner names a folder of their own with the variable the agent reads (read in
/// each CLI's source: docs/agents-acp.md), and the clear refusal where the agent would take it relative to each project. The
/// real CLIs, sandboxed, in <c>EndToEnd/AgentHomeVariablesTests</c>.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AgentHomeVariablesTests : IDisposable
{
    private readonly string _home = TempPaths.NewDirectory("pc-vars-home");

    public void Dispose() => TempPaths.Delete(_home);

    [Theory]
    [InlineData(null, null, ".qwen")]
    [InlineData("/srv/qwen", null, "/srv/qwen")]
    [InlineData("~/q", null, "q")]
    [InlineData("~", null, "")]
    // Qwen Code 0.24 reads QWEN_HOME from ~/.qwen/.env or ~/.env when the environment has none.
    [InlineData(null, "export QWEN_HOME='/srv/from-env-file' # mine", "/srv/from-env-file")]
    [InlineData(null, "QWEN_HOME: ~/colon\nOTHER=1", "colon")]
    [InlineData("/srv/wins", "QWEN_HOME=/srv/loses", "/srv/wins")]
    public void Qwen_ItsHome_AsQwenCodeFindsIt(string? variable, string? envFile, string expected)
    {
        if (envFile is not null)
        {
            File.WriteAllText(Path.Combine(_home, ".env"), envFile);
        }

        var qwen = AcpAgentDefinition.Qwen(Command(("QWEN_HOME", variable)), Path.Combine(_home, "data"));

        var folder = Path.IsPathRooted(expected) ? expected : Path.Combine(_home, expected);
        Assert.Equal(Path.TrimEndingDirectorySeparator(folder), qwen.State.Folders[0]);
        Assert.Equal(qwen.State.Folders[0], qwen.Command.Environment["QWEN_HOME"]);
        Assert.Contains(qwen.State.Config, config => config.Path == Path.Combine(qwen.State.Folders[0], "settings.json"));
        Assert.Equal(qwen.State.Folders[0], qwen.SandboxedEnvironment["QWEN_RUNTIME_DIR"]);
    }

    [Fact]
    public void Copilot_ItsHomeAndCache_NamedWhenItStarts()
    {
        var copilot = AcpAgentDefinition.Copilot(Command(("COPILOT_HOME", "/srv/copilot"), ("XDG_CACHE_HOME", "/srv/cache"), ("COPILOT_CACHE_HOME", null)));

        Assert.Equal(["/srv/copilot", "/srv/cache/copilot"], copilot.State.Folders);
        Assert.Equal("/srv/copilot", copilot.Command.Environment["COPILOT_HOME"]);
        Assert.Equal("/srv/cache/copilot", copilot.Command.Environment["COPILOT_CACHE_HOME"]);
        Assert.Equal("/srv/copilot/config.json", Assert.Single(copilot.State.Logins));
    }

    [Fact]
    public void Gemini_ItsFolderUnderGeminiCliHome()
    {
        var gemini = AcpAgentDefinition.Gemini(Command(("GEMINI_CLI_HOME", "/srv/g")), Path.Combine(_home, "policy.toml"));

        Assert.Equal("/srv/g/.gemini", gemini.State.Folders[0]);
        Assert.Contains(gemini.State.Config, config => config.Path == "/srv/g/.gemini/settings.json");
    }

    [Theory]
    [InlineData("qwen", "QWEN_HOME")]
    [InlineData("qwen", "QWEN_RUNTIME_DIR")]
    [InlineData("copilot", "COPILOT_HOME")]
    [InlineData("gemini", "GEMINI_CLI_HOME")]
    public void ARelativeFolder_IsRefusedWithWhy(string agent, string variable)
    {
        var command = Command((variable, "relative/folder"), ("COPILOT_CACHE_HOME", null));
        var definition = agent switch
        {
            "qwen" => AcpAgentDefinition.Qwen(command, Path.Combine(_home, "data")),
            "copilot" => AcpAgentDefinition.Copilot(command),
            _ => AcpAgentDefinition.Gemini(command, Path.Combine(_home, "policy.toml")),
        };
        var project = Directory.CreateDirectory(Path.Combine(_home, "project")).FullName;

        var refused = Assert.Throws<AgentUnavailableException>(() => definition.Prepare!(
            new AgentStartOptions(project, null, null, "s", "ask", _home, NullLogger.Instance)));

        Assert.Contains($"{variable} is 'relative/folder', a relative path", refused.Message, StringComparison.Ordinal);
    }

    private AgentCommand Command(params (string Name, string? Value)[] variables)
    {
        var environment = new Dictionary<string, string?> { ["HOME"] = _home, ["QWEN_HOME"] = null, ["QWEN_RUNTIME_DIR"] = null, ["COPILOT_HOME"] = null,
            ["GEMINI_CLI_HOME"] = null, ["XDG_CACHE_HOME"] = null, ["COPILOT_CACHE_HOME"] = null };
        foreach (var (name, value) in variables)
        {
            environment[name] = value;
        }

        return new AgentCommand("agent", environment);
    }
}
