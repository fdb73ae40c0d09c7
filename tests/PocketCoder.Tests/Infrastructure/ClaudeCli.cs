using FakeLlm;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The REAL Claude Code CLI, installed (pinned) in tests/agents by the test command, pointed at a
/// <see cref="FakeModelServer"/> with a private HOME so nothing of the machine's own setup leaks in.
/// </summary>
public static class ClaudeCli
{
    public static string Executable { get; } = Locate();

    public static IReadOnlyDictionary<string, AgentCommand> Against(FakeModelServer model, string home) =>
        new Dictionary<string, AgentCommand>
        {
            ["claude-code"] = new AgentCommand(Executable, new Dictionary<string, string?>
            {
                ["HOME"] = home,
                ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
                ["ANTHROPIC_API_KEY"] = "fake-key",
                ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
                ["DISABLE_AUTOUPDATER"] = "1",
                // Settings of the machine running the tests must not change what the agent does.
                ["CLAUDE_CONFIG_DIR"] = null,
                ["ANTHROPIC_AUTH_TOKEN"] = null,
            }),
        };

    /// <summary>Runs the CLI itself, as an owner would in a terminal (`claude -p …`), in <paramref name="directory"/>.</summary>
    public static Task RunInTerminalAsync(FakeModelServer model, string home, string directory, params string[] arguments) =>
        AgentClis.RunInTerminalAsync(Against(model, home)["claude-code"], directory, arguments);

    /// <summary>
    /// Waits until a Claude transcript under <paramref name="config"/> (a Claude config folder: a sandboxed agent's is in its home
    /// of PocketCoder's own) holds <paramref name="text"/>. Claude writes it a moment after it reports a turn: an agent killed
    /// before that leaves no conversation to resume ("No conversation found").
    /// </summary>
    public static async Task TranscriptHoldsAsync(string config, string text)
    {
        var projects = Path.Combine(config, "projects");
        using var timeout = new CancellationTokenSource(SseClient.DefaultWait);
        while (!Directory.Exists(projects) || !Directory.EnumerateFiles(projects, "*.jsonl", SearchOption.AllDirectories)
                   .Any(file => File.ReadAllText(file).Contains(text, StringComparison.Ordinal)))
        {
            // Claude's file offers nothing to await: read it again shortly.
            await Task.Delay(50, timeout.Token);
        }
    }

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_TEST_CLAUDE") is { Length: > 0 } configured)
        {
            return configured;
        }

        string[] candidates =
        [
            AgentPackages.File("@anthropic-ai", "claude-code-linux-x64", "claude"),
            AgentPackages.File(".bin", "claude"),
        ];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                "The Claude Code CLI is not installed for the tests. Run the README's test command (scripts/test.sh), which installs tests/agents.");
    }

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "PocketCoder.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (PocketCoder.slnx).");
    }
}
