using FakeLlm;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The REAL Gemini CLI, installed (pinned) in tests/agents by the test command, pointed at a
/// <see cref="FakeModelServer"/> with a private HOME so nothing of the machine's own setup leaks in.
/// </summary>
public static class GeminiCli
{
    public static string Executable { get; } = Locate();

    /// <summary>Writes what Gemini CLI needs to run offline with an API key into <paramref name="home"/>.</summary>
    public static IReadOnlyDictionary<string, AgentCommand> Against(FakeModelServer model, string home)
    {
        var settings = Path.Combine(home, ".gemini", "settings.json");
        if (!File.Exists(settings))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(settings)!);
            // Without selectedType Gemini CLI asks how to sign in; without the statistics switch it tries to report usage.
            File.WriteAllText(settings, """
                {"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false}}
                """);
        }

        return new Dictionary<string, AgentCommand>
        {
            ["gemini"] = new AgentCommand(Executable, new Dictionary<string, string?>
            {
                ["HOME"] = home,
                ["GOOGLE_GEMINI_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
                ["GEMINI_API_KEY"] = "fake-key",
                // Settings of the machine running the tests must not change what the agent does.
                ["GOOGLE_API_KEY"] = null,
                ["GOOGLE_CLOUD_PROJECT"] = null,
                ["GOOGLE_GENAI_USE_VERTEXAI"] = null,
                ["GOOGLE_APPLICATION_CREDENTIALS"] = null,
                ["GEMINI_MODEL"] = null,
                ["GEMINI_CLI_HOME"] = null,
            }),
        };
    }

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_TEST_GEMINI") is { Length: > 0 } configured)
        {
            return configured;
        }

        var candidate = AgentPackages.File(".bin", "gemini");
        return File.Exists(candidate)
            ? candidate
            : throw new InvalidOperationException(
                "The Gemini CLI is not installed for the tests. Run the README's test command (scripts/test.sh), which installs tests/agents.");
    }
}
