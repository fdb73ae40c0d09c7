namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// Where the REAL agent CLIs the tests drive are installed: the pinned ones in tests/agents/node_modules (scripts/test.sh
/// installs them), or, with <c>POCKETCODER_TEST_AGENTS</c> naming another folder, the ones there: scripts/check-newest-agents.sh
/// installs the newest published versions in tests/agents-newest and runs the agent matrix and the bypass tests against them.
/// Inside the repository either way: a sandboxed agent sees a folder under /tmp only when it is named.
/// </summary>
public static class AgentPackages
{
    public static string NodeModules { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("POCKETCODER_TEST_AGENTS") is { Length: > 0 } other ? other : Path.Combine(ClaudeCli.RepositoryRoot(), "tests", "agents"),
        "node_modules");

    /// <summary>A file of an installed package (or of node_modules/.bin).</summary>
    public static string File(params string[] relative) => Path.Combine([NodeModules, .. relative]);
}
