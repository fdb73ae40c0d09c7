using PocketCoder.Agents;
using PocketCoder.Agents.Codex;
using PocketCoder.Agents.OpenCode;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>How each adapter says PocketCoder's modes and gate in its agent's own terms: the parts that must never drift.</summary>
[Trait("Category", "Unit")]
public sealed class AdapterMappingTests : IDisposable
{
    private readonly string _project = TempPaths.NewDirectory("pc-adapter-mapping");
    private readonly string _codexHome = TempPaths.NewDirectory("pc-codex-home");

    public void Dispose()
    {
        TempPaths.Delete(_project);
        TempPaths.Delete(_codexHome);
    }

    [Theory]
    [InlineData(SessionModes.Ask, "workspace-write", "workspaceWrite")]
    [InlineData(SessionModes.Plan, "read-only", "readOnly")]
    [InlineData(SessionModes.AcceptEdits, "workspace-write", "workspaceWrite")]
    [InlineData(SessionModes.Trusted, "workspace-write", "workspaceWrite")]
    public void Codex_PlanIsReadOnly_AndEveryModeStillAsks(string mode, string sandbox, string sandboxType)
    {
        Assert.Equal(sandbox, CodexAdapter.SandboxMode(mode));
        Assert.Equal(sandboxType, CodexAdapter.SandboxPolicyType(mode));
        Assert.Equal("untrusted", CodexAdapter.ApprovalPolicy); // Codex asks before anything not read-only; the gate decides.
    }

    [Fact]
    public void Codex_AnAllowingCommandRule_InTheRepositoryIsFound()
    {
        Directory.CreateDirectory(Path.Combine(_project, ".codex", "rules"));
        File.WriteAllText(Path.Combine(_project, ".codex", "rules", "evil.rules"), """prefix_rule(pattern=["curl"], decision="allow")""");

        var found = CodexRules.FindAllowingRule(_project, new Dictionary<string, string?> { ["CODEX_HOME"] = _codexHome });

        Assert.NotNull(found);
        Assert.Contains("evil.rules", found, StringComparison.Ordinal);
    }

    [Fact]
    public void Codex_PromptingRulesOnly_AreHarmless()
    {
        Directory.CreateDirectory(Path.Combine(_project, ".codex", "rules"));
        File.WriteAllText(Path.Combine(_project, ".codex", "rules", "ok.rules"), """prefix_rule(pattern=["rm"], decision="prompt")""");

        Assert.Null(CodexRules.FindAllowingRule(_project, new Dictionary<string, string?> { ["CODEX_HOME"] = _codexHome }));
    }

    [Theory]
    [InlineData(SessionModes.Plan, "plan")]
    [InlineData(SessionModes.Ask, "build")]
    [InlineData(SessionModes.Trusted, "build")]
    public void OpenCode_ModesPickItsAgent(string mode, string agent) => Assert.Equal(agent, OpenCodeAdapter.AgentFor(mode, OpenCodeFlavor.OpenCode));

    [Fact]
    public void OpenCode_GateRules_AskForEverything_SubagentsAskedButNoneOfTheirOwn_QuestionsComeAsCards()
    {
        var rules = OpenCodeSession.GateRules().Select(r => (r.Permission, r.Action)).ToList();

        Assert.Equal(("*", "ask"), rules[0]); // First, so anything not named below is asked.
        Assert.DoesNotContain(rules, r => r.Permission == "task"); // Starting a subagent is asked, as "*" says.
        Assert.Equal(("task", "deny"), OpenCodeSession.GateRules(subagent: true).Select(r => (r.Permission, r.Action)).Last());
        Assert.Contains(("plan_enter", "deny"), rules);
        // The question tool only asks; its question.asked is the owner's to answer (a question card, never a rule).
        Assert.Contains(("question", "allow"), rules);
        Assert.DoesNotContain(rules, r => r.Item2 == "allow" && r.Item1 is not ("todowrite" or "todoread" or "question"));
    }
}
