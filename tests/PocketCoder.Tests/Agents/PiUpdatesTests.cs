using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Pi;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// What the owner sees of pi's RPC events, and how its gate's dialogs become questions for the gatekeeper and its decisions
/// answers: lines as pi 0.73.1 printed them against the fake model.
/// </summary>
[Trait("Category", "Unit")]
public sealed class PiUpdatesTests
{
    [Fact]
    public void Map_ARunWithACall_TextCallResultUsageAndItsEnd()
    {
        var updates = new PiUpdates();
        string[] lines =
        [
            """{"type":"agent_start"}""",
            """{"type":"message_update","message":{},"assistantMessageEvent":{"type":"toolcall_delta","contentIndex":0,"delta":"{\"command\":"}}""",
            """{"type":"message_end","message":{"role":"assistant","content":[{"type":"toolCall","id":"call_1","name":"bash","arguments":{"command":"echo hi > made.txt"}}],"usage":{"input":1379,"output":8,"cacheRead":0,"cacheWrite":0,"totalTokens":1387,"cost":{"total":0}},"stopReason":"toolUse"}}""",
            """{"type":"tool_execution_start","toolCallId":"call_1","toolName":"bash","args":{"command":"echo hi > made.txt"}}""",
            """{"type":"tool_execution_end","toolCallId":"call_1","toolName":"bash","result":{"content":[{"type":"text","text":"(no output)"}]},"isError":false}""",
            """{"type":"message_update","message":{},"assistantMessageEvent":{"type":"text_delta","contentIndex":0,"delta":"Do"}}""",
            """{"type":"message_update","message":{},"assistantMessageEvent":{"type":"thinking_end","contentIndex":0,"content":"Why not."}}""",
            """{"type":"message_end","message":{"role":"assistant","content":[{"type":"text","text":"Done."}],"usage":{"input":1438,"output":1,"cacheRead":5,"cacheWrite":2,"cost":{"total":0.25}},"stopReason":"stop"}}""",
            """{"type":"agent_end","messages":[]}""",
        ];

        Assert.Equal(
            "call call_1 bash Execute 'echo hi > made.txt' | result call_1 ok (no output) | delta Do | thinking Why not. | message Done. | " +
            "usage 2817/9 cache 5/2 $0.25 | turn end_turn ok Done.",
            Describe(lines.SelectMany(line => updates.Map(PiJson.Read<PiLine>(line)!))));
    }

    [Theory]
    [InlineData("""{"role":"assistant","content":[],"stopReason":"aborted"}""", "turn cancelled ok -")]
    [InlineData("""{"role":"assistant","content":[],"stopReason":"error","errorMessage":"Connection error."}""", "error pi: Connection error. | turn error error Connection error.")]
    public void Map_ARunThatEndsEarly_SaysHow(string message, string expected)
    {
        var updates = new PiUpdates();
        updates.Map(PiJson.Read<PiLine>($$"""{"type":"message_end","message":{{message}}}""")!);
        Assert.Equal(expected, Describe(updates.Map(PiJson.Read<PiLine>("""{"type":"agent_end"}""")!)));
    }

    [Fact]
    public void Map_ARetriedModelRequest_SaidOnceATurn()
    {
        var updates = new PiUpdates();
        var retry = PiJson.Read<PiLine>("""{"type":"auto_retry_start","attempt":1,"maxAttempts":3,"delayMs":2000,"errorMessage":"529 overloaded"}""")!;
        Assert.Equal("error pi: the model request failed and is being retried (529 overloaded).", Describe(updates.Map(retry)));
        Assert.Empty(updates.Map(retry));
        updates.Map(PiJson.Read<PiLine>("""{"type":"agent_end"}""")!);
        Assert.Single(updates.Map(retry));
    }

    [Fact]
    public void Ask_TheGatesDialog_IsTheCallWithItsInput_WhichPiRunsEdited()
    {
        var dialog = PiJson.Read<PiLine>("""
            {"type":"extension_ui_request","id":"d1","method":"editor","title":"pocketcoder:gate","prefill":"{\"toolCallId\":\"call_1\",\"toolName\":\"bash\",\"input\":{\"command\":\"rm -rf build\"}}"}
            """);

        var request = PiUpdates.Ask(Assert.IsType<PiUiRequest>(dialog))!;

        Assert.Equal(("call_1", "bash", ToolKind.Execute, "rm -rf build", "rm -rf build", true),
            (request.ToolCallId, request.Tool, request.Kind, request.Title, request.Command, request.CanEditInput));
        Assert.Equal("""{"allow":true,"input":{"command":"make clean"}}""",
            PiUpdates.Answer(new PermissionDecision(true, UpdatedInput: JsonElement.Parse("""{"command":"make clean"}"""))));
        Assert.Equal("""{"allow":false,"reason":"The owner denied this call: not now"}""", PiUpdates.Answer(PermissionDecision.Deny("not now")));
    }

    [Theory]
    // Another title, another method, or a question that names no call is no question about a call.
    [InlineData("""{"type":"extension_ui_request","id":"d","method":"editor","title":"Edit some text","prefill":"{\"toolCallId\":\"c\",\"toolName\":\"bash\"}"}""")]
    [InlineData("""{"type":"extension_ui_request","id":"d","method":"confirm","title":"pocketcoder:gate","message":"{\"toolCallId\":\"c\",\"toolName\":\"bash\"}"}""")]
    [InlineData("""{"type":"extension_ui_request","id":"d","method":"editor","title":"pocketcoder:gate","prefill":"not json"}""")]
    public void Ask_AnyOtherDialog_IsNotAQuestionAboutACall(string line) =>
        Assert.Null(PiUpdates.Ask(Assert.IsType<PiUiRequest>(PiJson.Read<PiLine>(line))));

    [Theory]
    [InlineData("read", """{"path":"src/a.cs"}""", ToolKind.Read, "src/a.cs")]
    [InlineData("edit", """{"path":"a.cs","oldText":"x","newText":"y"}""", ToolKind.Edit, "a.cs")]
    [InlineData("write", """{"path":"b.txt","content":"z"}""", ToolKind.Edit, "b.txt")]
    [InlineData("grep", """{"pattern":"TODO"}""", ToolKind.Read, "TODO")]
    [InlineData("my_tool", "{}", ToolKind.Other, "my_tool")]
    public void KindAndTitle_OfPisTools(string tool, string input, ToolKind kind, string title)
    {
        Assert.Equal(kind, PiUpdates.KindOf(tool));
        Assert.Equal(title, PiUpdates.TitleOf(tool, JsonElement.Parse(input)));
    }

    private static string Describe(IEnumerable<AgentEvent> events) => string.Join(" | ", events.Select(e => e switch
    {
        MessageDelta d => $"delta {d.Text}",
        AssistantMessage m => $"message {m.Text}",
        Thinking t => $"thinking {t.Text}",
        ToolCall c => $"call {c.ToolCallId} {c.Tool} {c.Kind} '{c.Title}'",
        ToolResult r => $"result {r.ToolCallId} {(r.IsError ? "error" : "ok")} {r.Content}",
        UsageReport u => $"usage {u.InputTokens}/{u.OutputTokens} cache {u.CacheReadTokens}/{u.CacheWriteTokens}{(u.CostUsd is { } cost ? $" ${cost}" : "")}",
        TurnCompleted t => $"turn {t.StopReason} {(t.IsError ? "error" : "ok")} {t.Result ?? "-"}",
        AgentError error => $"error {error.Message}",
        _ => e.ToString(),
    }));
}
