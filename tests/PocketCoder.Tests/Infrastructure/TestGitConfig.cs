using System.Runtime.CompilerServices;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// Every git the tests run — their own, the server's under test, the browser test's — reads this file as its global
/// configuration and no system one, so the suite behaves the same on a fresh machine with no identity (or an empty
/// HOME) as on a developer's, and never reads or writes the developer's own ~/.gitconfig.
/// </summary>
internal static class TestGitConfig
{
    public static string GlobalFile { get; } = Path.Combine(Path.GetTempPath(), $"pc-gitconfig-{Environment.ProcessId}");

    [ModuleInitializer]
    internal static void Apply()
    {
        File.WriteAllText(GlobalFile, """
            [user]
            	name = PocketCoder Tests
            	email = tests@pocketcoder.invalid
            [init]
            	defaultBranch = main
            """);
        Environment.SetEnvironmentVariable("GIT_CONFIG_GLOBAL", GlobalFile);
        Environment.SetEnvironmentVariable("GIT_CONFIG_NOSYSTEM", "1");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(GlobalFile);
    }
}
