using FakeLlm;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The REAL agent CLIs other than Claude Code, installed (pinned) in tests/agents by the test command, each
/// pointed at a <see cref="FakeModelServer"/> with a private HOME so nothing of the machine's own set-up leaks in.
/// </summary>
public static class AgentClis
{
    /// <summary>
    /// Codex with <c>CODEX_HOME</c> in the test's home: config.toml points a "fake" provider at the fake model
    /// on the Responses wire (the only wire Codex 0.169 accepts).
    /// </summary>
    public static IReadOnlyDictionary<string, AgentCommand> Codex(FakeModelServer model, string home)
    {
        var codexHome = Path.Combine(home, ".codex");
        Directory.CreateDirectory(codexHome);
        File.WriteAllText(Path.Combine(codexHome, "config.toml"), $"""
            model = "fake-model"
            model_provider = "fake"

            [model_providers.fake]
            name = "Fake"
            base_url = "{model.BaseUrl.ToString().TrimEnd('/')}/v1"
            env_key = "FAKE_API_KEY"
            wire_api = "responses"
            """);
        return new Dictionary<string, AgentCommand>
        {
            ["codex"] = new AgentCommand(Locate("POCKETCODER_TEST_CODEX", Path.Combine("node_modules", ".bin", "codex")), new Dictionary<string, string?>
            {
                ["HOME"] = home,
                ["CODEX_HOME"] = codexHome,
                ["FAKE_API_KEY"] = "fake-key",
                ["OPENAI_API_KEY"] = null,
                ["OPENAI_BASE_URL"] = null,
            }),
        };
    }

    private static string Locate(string variable, string relative)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } configured)
        {
            return configured;
        }

        var path = Path.Combine(ClaudeCli.RepositoryRoot(), "tests", "agents", relative);
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"{path} is not installed for the tests. Run the README's test command (scripts/test.sh), which installs tests/agents.");
    }
}
