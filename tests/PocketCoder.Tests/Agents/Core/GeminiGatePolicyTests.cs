using PocketCoder.Agents;
using PocketCoder.Agents.Acp;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// How Gemini CLI gets its gate policy (GeminiGate): written afresh at every start, and no start where Gemini would ignore it.
/// What the policy does is proven with the real CLI by <see cref="GeminiBypassTests"/>.
/// </summary>
[Trait("Category", "Unit")]
public sealed class GeminiGatePolicyTests : IDisposable
{
    private readonly string _folder = TempPaths.NewDirectory("pc-gemini-gate");

    public void Dispose() => TempPaths.Delete(_folder);

    [Fact]
    public void MachineHasAGeminiPolicy_StartRefusedNamingIt()
    {
        // Gemini CLI 0.61 ignores every --admin-policy while its system policy folder holds a .toml file.
        var machine = Directory.CreateDirectory(Path.Combine(_folder, "etc-policies")).FullName;
        File.WriteAllText(Path.Combine(machine, "README"), "not a policy");
        var policy = Path.Combine(_folder, "data", "gate-policy.toml");
        Assert.Equal(["--admin-policy", policy], GeminiGate.Arguments("gemini", policy, machine));

        File.WriteAllText(Path.Combine(machine, "org.toml"), "");
        var refused = Assert.Throws<AgentUnavailableException>(() => GeminiGate.Arguments("gemini", policy, machine));
        Assert.Contains(Path.Combine(machine, "org.toml"), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PolicyPathWithAComma_StartRefused()
    {
        // Gemini splits --admin-policy at commas: the gate would be a path that does not exist, and silently absent.
        var policy = Path.Combine(_folder, "a,b", "gate-policy.toml");
        Assert.Throws<AgentUnavailableException>(() => GeminiGate.Arguments("gemini", policy, Path.Combine(_folder, "none")));
        Assert.False(File.Exists(policy));
    }

    [Fact]
    public void PolicyChangedSinceTheLastStart_WrittenAgain()
    {
        // An unsandboxed session's allowed command can write the data folder: what it left there must not reach the next start.
        var policy = Path.Combine(_folder, "data", "gate-policy.toml");
        Directory.CreateDirectory(Path.GetDirectoryName(policy)!);
        File.WriteAllText(policy, "[[rule]]\ntoolName = \"*\"\ndecision = \"allow\"\npriority = 999\n");

        GeminiGate.Arguments("gemini", policy, Path.Combine(_folder, "none"));

        Assert.Equal(GeminiGate.Policy, File.ReadAllText(policy));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(policy));
    }
}
