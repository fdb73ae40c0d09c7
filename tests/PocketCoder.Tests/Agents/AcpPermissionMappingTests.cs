using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Acp;

namespace PocketCoder.Tests.Agents;

/// <summary>The owner approves exactly the call that will run, whatever the agent announced while it was still streaming.</summary>
[Trait("Category", "Unit")]
public sealed class AcpPermissionMappingTests
{
    [Fact]
    public void PermissionFor_AnnouncedAsEmptyTerminal_ShowsTheRequestsCommand()
    {
        // claude-agent-acp announces "Terminal" with {} while the input streams, then asks with the real command.
        var announced = new AcpUpdates.ToolState("toolu_1", "Terminal", ToolKind.Execute, "Terminal", JsonElement.Parse("{}"), null, null, InputGiven: false);
        var asked = Asked("""
            {"toolCallId":"toolu_1","title":"rm -rf build","kind":"execute","rawInput":{"command":"rm -rf build","description":"Clean"}}
            """);

        var request = AcpUpdates.PermissionFor(asked, announced);

        Assert.Equal("rm -rf build", request.Title);
        Assert.Equal("rm -rf build", request.Command);
        Assert.Equal("rm -rf build", request.Input.GetProperty("command").GetString());
        Assert.Equal(ToolKind.Execute, request.Kind);
        Assert.Equal("toolu_1", request.ToolCallId);
    }

    [Fact]
    public void PermissionFor_RequestWithoutDetails_KeepsWhatWasAnnounced()
    {
        // Gemini CLI asks with a bare toolCall id after announcing the call in full.
        var announced = new AcpUpdates.ToolState("t2", "run_shell_command", ToolKind.Execute, "ls -la", JsonElement.Parse("""{"command":"ls -la"}"""), "ls -la", null, InputGiven: true);

        var request = AcpUpdates.PermissionFor(Asked("""{"toolCallId":"t2"}"""), announced);

        Assert.Equal("ls -la", request.Title);
        Assert.Equal("ls -la", request.Command);
        Assert.Equal("ls -la", request.Input.GetProperty("command").GetString());
    }

    [Theory]
    [InlineData("bypassPermissions", "default,acceptEdits,plan,bypassPermissions", "default")]
    [InlineData("yolo", "autoEdit,yolo,ask", "ask")]
    [InlineData("default", "default,plan", "default")]
    [InlineData(null, "", null)]
    // Qwen Code starts in "auto" (a model approves what it deems safe).
    [InlineData("auto", "plan,default,auto-edit,auto,yolo", "default")]
    // Copilot CLI names its modes by URL; autopilot turns allow-all on.
    [InlineData("https://agentclientprotocol.com/protocol/session-modes#autopilot",
        "https://agentclientprotocol.com/protocol/session-modes#agent,https://agentclientprotocol.com/protocol/session-modes#plan,https://agentclientprotocol.com/protocol/session-modes#autopilot",
        "https://agentclientprotocol.com/protocol/session-modes#agent")]
    [InlineData("https://agentclientprotocol.com/protocol/session-modes#agent", "https://agentclientprotocol.com/protocol/session-modes#agent",
        "https://agentclientprotocol.com/protocol/session-modes#agent")]
    public void SafeDefaultMode_AgentStartsInAModeThatSkipsAsking_SwitchesToOneThatAsks(string? current, string available, string? expected) =>
        Assert.Equal(expected, AcpSession.SafeDefaultMode(current, available.Split(',', StringSplitOptions.RemoveEmptyEntries)));

    [Fact]
    public void SafeDefaultMode_OnlyModesThatSkipAsking_None() =>
        Assert.Null(AcpSession.SafeDefaultMode("bypassPermissions", ["bypassPermissions", "acceptEdits", "plan"]));

    // Copilot CLI 1.0.102's session/new config options, as it answers them (its "model" option appears when signed in to GitHub).
    private const string CopilotOptions = """
        {"id":"mode","name":"Mode","category":"mode","type":"select","currentValue":"https://agentclientprotocol.com/protocol/session-modes#agent",
         "options":[{"value":"https://agentclientprotocol.com/protocol/session-modes#agent","name":"Agent"},
                    {"value":"https://agentclientprotocol.com/protocol/session-modes#autopilot","name":"Autopilot"}]},
        {"id":"allow_all","name":"Allow all","category":"permissions","type":"select","currentValue":"off",
         "options":[{"value":"on","name":"On"},{"value":"off","name":"Off"}]}
        """;

    [Fact]
    public void ConfigOptions_OnlyTheModelCategoryIsEverSet_NeverCopilotsAllowAllOrMode()
    {
        // Without a model option nothing is chosen through session/set_config_option: "on" or "autopilot" is no model.
        Assert.Null(AcpModels.Read(AcpJson.Read<NewSessionResponse>(JsonElement.Parse($$"""{"sessionId":"s","configOptions":[{{CopilotOptions}}]}"""))));

        var withModel = AcpModels.Read(AcpJson.Read<NewSessionResponse>(JsonElement.Parse($$"""
            {"sessionId":"s","configOptions":[{{CopilotOptions}},
              {"id":"model","name":"Model","category":"model","type":"select","currentValue":"gpt-5","options":[{"value":"gpt-5","name":"GPT-5"}]}]}
            """)))!;
        Assert.Equal(["gpt-5"], withModel.Offered.Models.Select(m => m.Id));
        Assert.Null(withModel.Offered.Find("on"));
        Assert.Null(withModel.Offered.Find("https://agentclientprotocol.com/protocol/session-modes#autopilot"));
        var (method, parameters) = withModel.Select("s", withModel.Offered.Models[0]);
        Assert.Equal("session/set_config_option", method);
        Assert.Equal("model", parameters["configId"]!.GetValue<string>());
    }

    private static ToolCallUpdate Asked(string json) => AcpJson.Read<ToolCallUpdate>(JsonElement.Parse(json))!;
}
