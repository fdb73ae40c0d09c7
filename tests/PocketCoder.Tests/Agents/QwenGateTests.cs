using System.Text.Json;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// What the files of Qwen Code's gate say, as Qwen Code 0.24 reads them (its settings schema: <c>privacy.usageStatisticsEnabled</c>,
/// <c>ui.enableFollowupSuggestions</c>), and which ACP agents are prompted as soon as they answer session/load. That the real CLI
/// obeys the file is in Gate/QwenBypassTests and EndToEnd/PausedWaitMatrixTests.
/// </summary>
[Trait("Category", "Unit")]
public sealed class QwenGateTests
{
    [Fact]
    public void Write_SystemSettings_TurnOffWhatRunsUnaskedOrCallsOut_TrustNothing()
    {
        var folder = TempPaths.NewDirectory("pc-qwen-gate");
        try
        {
            QwenGate.Write(folder);
            var (settingsPath, trustedPath) = QwenGate.Paths(folder);
            using var settings = JsonDocument.Parse(File.ReadAllText(settingsPath));
            var root = settings.RootElement;
            Assert.Equal("default", root.GetProperty("tools").GetProperty("approvalMode").GetString());
            Assert.True(root.GetProperty("disableAllHooks").GetBoolean());
            Assert.Equal(["*"], root.GetProperty("mcp").GetProperty("excluded").EnumerateArray().Select(e => e.GetString()));
            Assert.False(root.GetProperty("ui").GetProperty("enableFollowupSuggestions").GetBoolean());
            Assert.True(root.GetProperty("security").GetProperty("folderTrust").GetProperty("enabled").GetBoolean());
            // Its usage statistics go to its own host at every start, which a sandbox refuses (a ledger line each time).
            Assert.False(root.GetProperty("privacy").GetProperty("usageStatisticsEnabled").GetBoolean());
            Assert.Equal("{}", File.ReadAllText(trustedPath).Trim());
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    [Fact]
    public void ReplaysAfterLoad_OnlyGeminiCli_OfTheNamedAgents()
    {
        var command = new AgentCommand("agent", new Dictionary<string, string?>());
        // Gemini CLI 0.61 streams the replay after its answer; Qwen Code 0.24 and Copilot CLI 1.0.102 send it before.
        Assert.True(AcpAgentDefinition.Gemini(command, "/srv/data/agents/gemini/policy.toml").ReplaysAfterLoad);
        Assert.False(AcpAgentDefinition.Qwen(command, "/srv/data/agents/qwen").ReplaysAfterLoad);
        Assert.False(AcpAgentDefinition.Copilot(command).ReplaysAfterLoad);
    }
}
