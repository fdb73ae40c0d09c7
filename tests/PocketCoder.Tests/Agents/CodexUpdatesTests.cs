using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Codex;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// Codex's notifications (in the shapes of codex-rs/app-server-protocol v2, as Codex 0.169 sends them) read as records and
/// mapped to the events every agent produces, one row per case.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CodexUpdatesTests
{
    public static TheoryData<string, string, bool, string> Rows => new()
    {
        { "item/agentMessage/delta", """{"threadId":"t1","turnId":"u1","itemId":"m1","delta":"Hel"}""", false, "delta Hel" },
        { "item/agentMessage/delta", """{"threadId":"t1","turnId":"u1","itemId":"m1","delta":""}""", false, "" },
        {
            "item/started",
            """{"threadId":"t1","turnId":"u1","startedAtMs":1,"item":{"type":"commandExecution","id":"c1","command":"/bin/bash -lc 'echo hi > a.txt'","cwd":"/repo","processId":null,"source":"agent","status":"inProgress","commandActions":[],"aggregatedOutput":null,"exitCode":null,"durationMs":null}}""",
            false, """call c1 exec_command Execute "echo hi > a.txt" {"command":"echo hi > a.txt","cwd":"/repo"}"""
        },
        {
            "item/completed",
            """{"threadId":"t1","turnId":"u1","item":{"type":"commandExecution","id":"c1","command":"/bin/bash -lc ls","cwd":"/repo","status":"completed","commandActions":[],"aggregatedOutput":"a.txt\n","exitCode":0,"durationMs":5}}""",
            true, "result c1 ok a.txt\n"
        },
        {
            "item/completed",
            """{"threadId":"t1","turnId":"u1","item":{"type":"commandExecution","id":"c2","command":"touch never.txt","cwd":"/repo","status":"declined","commandActions":[],"aggregatedOutput":null,"exitCode":null}}""",
            false, """call c2 exec_command Execute "touch never.txt" {"command":"touch never.txt","cwd":"/repo"} | result c2 failed Declined."""
        },
        {
            "item/completed",
            """{"threadId":"t1","turnId":"u1","item":{"type":"commandExecution","id":"c3","command":"false","cwd":"/repo","status":"completed","commandActions":[],"aggregatedOutput":"","exitCode":1}}""",
            true, "result c3 failed "
        },
        {
            "item/started",
            """{"threadId":"t1","turnId":"u1","item":{"type":"fileChange","id":"p1","status":"inProgress","changes":[{"path":"/repo/a.html","kind":{"type":"add"},"diff":"+<b>x</b>\n"},{"path":"/repo/b.cs","kind":{"type":"update","move_path":null},"diff":"-a\n+b\n"}]}}""",
            false,
            """call p1 apply_patch Edit "Edit /repo/a.html, /repo/b.cs" {"changes":[{"path":"/repo/a.html","kind":{"type":"add"},"diff":"+<b>x</b>\n"},{"path":"/repo/b.cs","kind":{"type":"update","move_path":null},"diff":"-a\n+b\n"}]}"""
        },
        {
            "item/completed", """{"threadId":"t1","turnId":"u1","item":{"type":"fileChange","id":"p2","status":"completed","changes":[]}}""",
            false, """call p2 apply_patch Edit "Change files" {"changes":[]} | result p2 ok """
        },
        {
            "item/completed",
            """{"threadId":"t1","turnId":"u1","item":{"type":"mcpToolCall","id":"m1","server":"docs","tool":"search","status":"completed","arguments":{"q":"x"},"result":{"content":[{"type":"text","text":"found"}],"structuredContent":null},"error":null,"durationMs":3}}""",
            false,
            """call m1 mcp__docs__search Other "mcp__docs__search" {"q":"x"} | result m1 ok {"content":[{"type":"text","text":"found"}],"structuredContent":null}"""
        },
        {
            "item/completed",
            """{"threadId":"t1","turnId":"u1","item":{"type":"mcpToolCall","id":"m2","server":"docs","tool":"search","status":"failed","arguments":null,"result":null,"error":{"message":"boom"}}}""",
            true, """result m2 failed {"message":"boom"}"""
        },
        {
            "item/started", """{"threadId":"t1","turnId":"u1","item":{"type":"mcpToolCall","id":"m3","server":"docs","tool":"list","status":"inProgress"}}""",
            false, """call m3 mcp__docs__list Other "mcp__docs__list" {}"""
        },
        {
            "item/completed",
            """{"threadId":"t1","turnId":"u1","item":{"type":"dynamicToolCall","id":"d1","tool":"lookup","arguments":{"a":1},"status":"completed","success":false,"contentItems":null}}""",
            true, "result d1 failed "
        },
        {
            "item/started", """{"threadId":"t1","turnId":"u1","item":{"type":"webSearch","id":"w1","query":"codex app-server","action":null}}""",
            false, """call w1 web_search Fetch "Search the web: codex app-server" {"query":"codex app-server"}"""
        },
        {
            "item/completed", """{"threadId":"t1","turnId":"u1","item":{"type":"reasoning","id":"r1","summary":["Looking at files"],"content":["ls first"]}}""",
            false, "thinking Looking at files\nls first"
        },
        { "item/completed", """{"threadId":"t1","turnId":"u1","item":{"type":"reasoning","id":"r2","summary":[],"content":[]}}""", false, "" },
        {
            "item/completed", """{"threadId":"t1","turnId":"u1","item":{"type":"agentMessage","id":"a1","text":"The file is written.","phase":null}}""",
            false, "message The file is written."
        },
        {
            "item/completed", """{"threadId":"t1","turnId":"u1","item":{"type":"userMessage","id":"u1","content":[{"type":"text","text":"hi","text_elements":[]}]}}""",
            false, ""
        },
        { "item/completed", """{"threadId":"t1","turnId":"u1","item":{"type":"contextCompaction","id":"x1"}}""", false, "" },
        {
            "turn/plan/updated",
            """{"threadId":"t1","turnId":"u1","explanation":null,"plan":[{"step":"Read","status":"completed"},{"step":"Write","status":"inProgress"},{"step":"Test","status":"pending"}]}""",
            false, "plan Read=completed, Write=in_progress, Test=pending"
        },
        { "error", """{"threadId":"t1","turnId":"u1","willRetry":true,"error":{"message":"Reconnecting... 1/5","codexErrorInfo":null}}""", false, "" },
        {
            "error", """{"threadId":"t1","turnId":"u1","willRetry":false,"error":{"message":"stream disconnected","codexErrorInfo":"other"}}""",
            false, "error stream disconnected"
        },
        {
            "mcpServer/startupStatus/updated", """{"name":"docs","status":"failed","error":"spawn docs-mcp ENOENT","threadId":null}""",
            false, "error The MCP server 'docs' did not start: spawn docs-mcp ENOENT."
        },
        { "mcpServer/startupStatus/updated", """{"name":"docs","status":"failed"}""", false, "error The MCP server 'docs' did not start: no reason given." },
        { "mcpServer/startupStatus/updated", """{"name":"docs","status":"ready","error":null}""", false, "" },
        {
            "turn/completed",
            """{"threadId":"t1","turn":{"id":"u1","status":"completed","error":null,"items":[{"type":"agentMessage","id":"a1","text":"First."},{"type":"agentMessage","id":"a2","text":"Done."}]}}""",
            false, "turn completed ok Done."
        },
        {
            "turn/completed", """{"threadId":"t1","turn":{"id":"u1","status":"failed","error":{"message":"quota exceeded"},"items":[]}}""",
            false, "turn failed failed quota exceeded"
        },
        { "turn/completed", """{"threadId":"t1","turn":{"id":"u1","items":[]}}""", false, "turn completed ok " },
        { "turn/started", """{"threadId":"t1","turn":{"id":"u1","status":"inProgress","items":[]}}""", false, "" },
        { "thread/tokenUsage/updated", """{"threadId":"t1","turnId":"u1","tokenUsage":{"total":{"inputTokens":9},"last":{"inputTokens":9}}}""", false, "" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Notification_MapsToTheEvents(string method, string parameters, bool itemWasStarted, string expected)
    {
        var notification = CodexWire.Notification(method, JsonElement.Parse(parameters));

        Assert.NotNull(notification);
        Assert.Equal(expected, Show(CodexUpdates.Map(notification, itemWasStarted)));
    }

    [Fact]
    public void TurnCompleted_ReportsTheTurnsShareOfTheThreadsTokens()
    {
        var before = new TokenUsageBreakdown(InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 50, CacheWriteInputTokens: 0);
        var after = new TokenUsageBreakdown(InputTokens: 1600, CachedInputTokens: 900, OutputTokens: 80, CacheWriteInputTokens: 10);
        var completed = CodexWire.Notification("turn/completed", JsonElement.Parse("""{"threadId":"t1","turn":{"id":"u1","status":"interrupted","items":[]}}"""))!;

        Assert.Equal("usage 100/30/500/10 | turn interrupted ok ", Show(CodexUpdates.Map(completed, turnUsage: after - before)));
        Assert.Equal("turn interrupted ok ", Show(CodexUpdates.Map(completed, turnUsage: after - after)));
    }

    [Fact]
    public void TokenUsage_ReadsTheThreadsTotals()
    {
        var updated = CodexWire.Notification("thread/tokenUsage/updated", JsonElement.Parse("""
            {"threadId":"t1","turnId":"u1","tokenUsage":{"total":{"totalTokens":130,"inputTokens":100,"cachedInputTokens":40,"outputTokens":30,
            "reasoningOutputTokens":5},"last":{"totalTokens":1,"inputTokens":1,"cachedInputTokens":0,"outputTokens":0,"reasoningOutputTokens":0},
            "modelContextWindow":null}}
            """));

        Assert.Equal(new TokenUsageBreakdown(100, 40, 30, 0), Assert.IsType<ThreadTokenUsageUpdatedNotification>(updated).TokenUsage?.Total);
    }

    [Theory]
    [InlineData("thread/status/changed", """{"threadId":"t1","status":{"type":"active","activeFlags":[]}}""")]
    [InlineData("item/completed", """{"threadId":"t1","turnId":"u1","item":"not an item"}""")]
    [InlineData("item/agentMessage/delta", "[]")]
    public void OtherOrMalformedNotifications_AreNotRead_NorThrow(string method, string parameters)
    {
        Assert.Null(CodexWire.Notification(method, JsonElement.Parse(parameters)));
    }

    [Fact]
    public void ServerRequestResolved_KeepsTheIdAsCodexWroteIt()
    {
        var number = CodexWire.Notification("serverRequest/resolved", JsonElement.Parse("""{"threadId":"t1","requestId":7}"""));
        var text = CodexWire.Notification("serverRequest/resolved", JsonElement.Parse("""{"threadId":"t1","requestId":"r-7"}"""));

        Assert.Equal("7", Assert.IsType<ServerRequestResolvedNotification>(number).RequestId.GetRawText());
        Assert.Equal("\"r-7\"", Assert.IsType<ServerRequestResolvedNotification>(text).RequestId.GetRawText());
    }

    /// <summary>What PocketCoder sends: camelCase, and an optional field it has no value for left out.</summary>
    [Fact]
    public void Requests_AreWrittenAsCodexReadsThem()
    {
        UserInput[] input = [new("text", "hi"), new("image", Url: "data:image/png;base64,AA==")];

        Assert.Equal(
            """{"threadId":"t1","input":[{"type":"text","text":"hi"},{"type":"image","url":"data:image/png;base64,AA=="}],"approvalPolicy":"untrusted","sandboxPolicy":{"type":"workspaceWrite"}}""",
            CodexWire.Node(new TurnStartParams("t1", input, "untrusted", new SandboxPolicy("workspaceWrite"), null)).ToJsonString());
        Assert.Equal("""{"cwd":"/repo","approvalPolicy":"untrusted","sandbox":"read-only","model":"gpt-5"}""",
            CodexWire.Node(new ThreadParams(null, "/repo", "untrusted", "read-only", "gpt-5", null)).ToJsonString());
        Assert.Equal("""{"threadId":"t1","cwd":"/repo","approvalPolicy":"untrusted","sandbox":"workspace-write","developerInstructions":"Be brief."}""",
            CodexWire.Node(new ThreadParams("t1", "/repo", "untrusted", "workspace-write", null, "Be brief.")).ToJsonString());
        Assert.Equal("""{"threadId":"t1","expectedTurnId":"u1","input":[{"type":"text","text":"(The owner declined: no)"}]}""",
            CodexWire.Node(new TurnSteerParams("t1", "u1", [new UserInput("text", "(The owner declined: no)")])).ToJsonString());
        Assert.Equal("""{"clientInfo":{"name":"pocketcoder","title":"PocketCoder","version":"1"}}""",
            CodexWire.Node(new InitializeParams(new ClientInfo("pocketcoder", "PocketCoder", "1"))).ToJsonString());
        Assert.Equal("""{"decision":"accept"}""", CodexWire.Node(new ApprovalResponse("accept")).ToJsonString());
        Assert.Equal("""{"action":"decline"}""", CodexWire.Node(new McpServerElicitationRequestResponse("decline")).ToJsonString());
    }

    [Fact]
    public void Answers_ReadTheFieldsPocketCoderUses()
    {
        var thread = CodexWire.Read<ThreadResponse>(JsonElement.Parse("""
            {"thread":{"id":"0199a213-81c0-7800-8aa1-bbab2a035a53","preview":"hi","modelProvider":"fake","createdAt":1,"updatedAt":2,"path":null,
            "cwd":"/repo","cliVersion":"0.169.0","source":"appServer","turns":[]},"model":"fake-model","modelProvider":"fake","cwd":"/repo",
            "approvalPolicy":"untrusted","sandbox":{"type":"workspaceWrite"},"reasoningEffort":null}
            """));

        Assert.Equal("0199a213-81c0-7800-8aa1-bbab2a035a53", thread?.Thread?.Id);
        Assert.Equal("fake-model", thread?.Model);
        Assert.Equal("codex_cli_rs/0.169.0 (Debian 13; x86_64)", CodexWire.Read<InitializeResponse>(JsonElement.Parse(
            """{"userAgent":"codex_cli_rs/0.169.0 (Debian 13; x86_64)","codexHome":"/x"}"""))?.UserAgent);
        Assert.Equal("u1", CodexWire.Read<TurnStartResponse>(JsonElement.Parse("""{"turn":{"id":"u1","items":[],"status":"inProgress","error":null}}"""))?.Turn?.Id);
    }

    private static string Show(IReadOnlyList<AgentEvent> events) => string.Join(" | ", events.Select(e => e switch
    {
        MessageDelta delta => $"delta {delta.Text}",
        AssistantMessage message => $"message {message.Text}",
        Thinking thinking => $"thinking {thinking.Text}",
        ToolCall call => $"call {call.ToolCallId} {call.Tool} {call.Kind} \"{call.Title}\" {call.Input.GetRawText()}",
        ToolResult result => $"result {result.ToolCallId} {(result.IsError ? "failed" : "ok")} {result.Content}",
        PlanUpdate plan => "plan " + string.Join(", ", plan.Entries.Select(entry => $"{entry.Content}={entry.Status}")),
        UsageReport usage => $"usage {usage.InputTokens}/{usage.OutputTokens}/{usage.CacheReadTokens}/{usage.CacheWriteTokens}",
        TurnCompleted turn => $"turn {turn.StopReason} {(turn.IsError ? "failed" : "ok")} {turn.Result}",
        AgentError error => $"error {error.Message}",
        _ => e.ToString(),
    }));
}
