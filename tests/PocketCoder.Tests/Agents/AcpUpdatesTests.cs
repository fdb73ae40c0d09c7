using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Acp;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// What the owner sees of an ACP agent's session/update stream: each row is the updates an agent sends (one JSON
/// object a line, the <c>update</c> of a session/update) and the events they make, in order.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AcpUpdatesTests
{
    [Theory]
    [InlineData("""{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Hi"}}""", "delta Hi")]
    [InlineData("""{"sessionUpdate":"agent_message_chunk","content":{"type":"image","data":"AA=="}}""", "")]
    [InlineData("""{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":""}}""", "")]
    [InlineData("""{"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"Hmm"}}""", "thinking Hmm")]
    [InlineData("""{"content":{"type":"text","text":"no kind"},"sessionUpdate":"agent_thought_chunk","_meta":{"x":1}}""", "thinking no kind")]
    [InlineData("""{"sessionUpdate":"available_commands_update","availableCommands":[]}""", "")]
    [InlineData("""{"sessionUpdate":"current_mode_update","currentModeId":"plan"}""", "")]
    [InlineData("""{"sessionUpdate":"plan","entries":[{"content":"Read","status":"completed","priority":"high"},{"content":"Fix"},null]}""",
        "plan Read:completed,Fix:pending,:pending")]
    [InlineData("""{"sessionUpdate":"plan"}""", "")]
    [InlineData("""{"sessionUpdate":"usage_update","used":1200,"size":200000,"cost":{"amount":0.25,"currency":"USD"}}""", "usage 1200/0 $0.25 running")]
    [InlineData("""{"sessionUpdate":"usage_update","used":5,"cost":{"amount":3,"currency":"EUR"}}""", "usage 5/0 $- running")]
    public void Map_OneUpdate_MakesTheseEvents(string updates, string expected) => Assert.Equal(expected, Run(updates));

    [Theory]
    // Gemini CLI: announced in full, finished by an update; its tool's name is the part of the id before "__".
    [InlineData("""
        {"sessionUpdate":"tool_call","toolCallId":"run_shell_command__1","title":"ls -la","kind":"execute","status":"pending"}
        {"sessionUpdate":"tool_call_update","toolCallId":"run_shell_command__1","status":"completed","content":[{"type":"content","content":{"type":"text","text":"a.txt"}}]}
        """, "call run_shell_command__1 run_shell_command Execute 'ls -la' | result run_shell_command__1 ok a.txt")]
    // Text before a call is one whole message ahead of it; the call is announced once, whatever repeats it.
    [InlineData("""
        {"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Let me "}}
        {"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"look."}}
        {"sessionUpdate":"tool_call","toolCallId":"t1","title":"Read a.txt","kind":"read","locations":[{"path":"/p/a.txt"}]}
        {"sessionUpdate":"tool_call_update","toolCallId":"t1","title":"Read a.txt","kind":"read"}
        """, "delta Let me  | delta look. | message Let me look. | call t1 read Read 'Read a.txt'")]
    // A call first seen in an update is announced by it; a failed one is an error, and a result comes once.
    [InlineData("""
        {"sessionUpdate":"tool_call_update","toolCallId":"t2","title":"Edit b.cs","kind":"edit","status":"failed","rawOutput":{"error":"nope"}}
        {"sessionUpdate":"tool_call_update","toolCallId":"t2","status":"failed","rawOutput":"again"}
        """, """call t2 edit Edit 'Edit b.cs' | result t2 error {"error":"nope"}""")]
    // An update without title or kind does not announce; diffs are named by path.
    [InlineData("""
        {"sessionUpdate":"tool_call_update","toolCallId":"t3","status":"completed","content":[{"type":"diff","path":"/p/c.cs","oldText":null,"newText":"x"},{"type":"terminal","terminalId":"9"}]}
        """, "result t3 ok (edited /p/c.cs)")]
    // claude-agent-acp names its tools in _meta: an MCP tool is of kind Mcp whatever kind the agent says.
    [InlineData("""
        {"sessionUpdate":"tool_call","toolCallId":"toolu_9","title":"search","kind":"other","_meta":{"claudeCode":{"toolName":"mcp__docs__search"}}}
        """, "call toolu_9 mcp__docs__search Mcp 'search'")]
    public void Map_AStreamOfUpdates_MakesTheseEvents(string updates, string expected) => Assert.Equal(expected, Run(updates));

    /// <summary>claude-agent-acp, told the client takes subagent transcripts: a subagent's updates name the Agent call that started it.</summary>
    [Fact]
    public void Map_ASubagentsUpdates_CarryTheirParent_ItsWordsAWholeMessage_NeverTheReply()
    {
        var updates = new AcpUpdates();
        const string Parent = """ "_meta":{"claudeCode":{"toolName":"Bash","parentToolUseId":"toolu_agent"}}""";
        var events = new[]
        {
            """{"sessionUpdate":"tool_call","toolCallId":"toolu_agent","title":"Write the file","kind":"think","_meta":{"claudeCode":{"toolName":"Agent"}}}""",
            $$"""{"sessionUpdate":"tool_call","toolCallId":"toolu_sub","title":"Terminal","kind":"execute","rawInput":{},{{Parent}}}""",
            """{"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"Hmm"},"_meta":{"claudeCode":{"parentToolUseId":"toolu_agent"}}}""",
            """{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"The subagent wrote the file."},"_meta":{"claudeCode":{"parentToolUseId":"toolu_agent"}}}""",
            """{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Mine."}}""",
        }.SelectMany(line => updates.Map(Update(line))).ToList();
        var asked = updates.Ask(ToolCallOf("""{"toolCallId":"toolu_sub","title":"echo sub","kind":"execute","rawInput":{"command":"echo sub"}}"""), events);

        Assert.Equal([null, "toolu_agent"], events.OfType<ToolCall>().Select(c => c.ParentToolCallId));
        Assert.Equal("toolu_agent", events.OfType<Thinking>().Single().ParentToolCallId);
        Assert.Equal(["The subagent wrote the file.|toolu_agent", "Mine.|"], events.OfType<AssistantMessage>().Select(m => $"{m.Text}|{m.ParentToolCallId}"));
        Assert.Equal(["Mine."], events.OfType<MessageDelta>().Select(d => d.Text));
        Assert.Equal(("echo sub", "toolu_agent"), (asked.Command, asked.ParentToolCallId));
        Assert.Null(updates.Ask(ToolCallOf("""{"toolCallId":"toolu_agent","title":"Write the file","kind":"think"}"""), events).ParentToolCallId);
    }

    [Fact]
    public void Map_CallWithoutRawInput_ShowsWhatTheCallShowsAsItsInput()
    {
        var updates = new AcpUpdates();
        var call = Assert.IsType<ToolCall>(Assert.Single(updates.Map(Update("""
            {"sessionUpdate":"tool_call","toolCallId":"t","title":"Write a","kind":"edit","locations":[{"path":"/p/a","line":3}],
             "content":[{"type":"diff","path":"/p/a","newText":"x"}]}
            """))));

        Assert.Equal("""{"title":"Write a","kind":"edit","locations":[{"path":"/p/a","line":3}],"content":[{"type":"diff","path":"/p/a","newText":"x"}]}""",
            call.Input.GetRawText());
    }

    [Theory]
    [InlineData("""{"stopReason":"end_turn","usage":{"inputTokens":10,"outputTokens":4,"cachedReadTokens":2,"cachedWriteTokens":1,"totalTokens":17}}""",
        null, "message Done. | usage 10/4 cache 2/1 | turn end_turn ok Done.")]
    [InlineData("""{"stopReason":"refusal","_meta":{"quota":{"token_count":{"input_tokens":7,"output_tokens":3}}}}""",
        null, "message Done. | usage 7/3 cache 0/0 | turn refusal error Done.")]
    [InlineData("null", null, "message Done. | turn end_turn ok Done.")]
    [InlineData("null", "Internal error", "message Done. | error Gemini CLI: Internal error | turn error error Internal error")]
    public void EndTurn_FlushesTheTextAndReportsTheAnswer(string answer, string? error, string expected)
    {
        var updates = new AcpUpdates();
        updates.Map(Update("""{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Done."}}"""));

        var events = updates.EndTurn(JsonSerializer.Deserialize(answer, AcpJson.Default.PromptResponse), error, "Gemini CLI");

        Assert.Equal(expected, Describe(events));
        Assert.Equal("turn end_turn ok -", Describe(updates.EndTurn(null, null, "Gemini CLI")));
    }

    [Fact]
    public void EndTurn_QwenCodesCountsOnMessageChunks_SummedOverTheTurnsAnswers()
    {
        // Qwen Code 0.24 gives each model answer's tokens in the _meta of a (often empty) message chunk, none in session/prompt's answer.
        var updates = new AcpUpdates();
        updates.Map(Update("""{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":""},"_meta":{"usage":{"inputTokens":10,"outputTokens":3,"totalTokens":13,"thoughtTokens":0,"cachedReadTokens":1}}}"""));
        updates.Map(Update("""{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Done."},"_meta":{"usage":{"inputTokens":20,"outputTokens":4,"cachedReadTokens":2}}}"""));

        var events = updates.EndTurn(JsonSerializer.Deserialize("""{"stopReason":"end_turn","_meta":{"qwen.branchPoint":{}}}""", AcpJson.Default.PromptResponse), null, "Qwen Code");

        Assert.Equal("message Done. | usage 30/7 cache 3/0 | turn end_turn ok Done.", Describe(events));
        // The next turn counts afresh.
        Assert.Equal("turn end_turn ok -", Describe(updates.EndTurn(null, null, "Qwen Code")));
    }

    [Fact]
    public void Ask_UnannouncedCall_AnnouncesItBeforeTheQuestion_AndFinishesItOnce()
    {
        // Gemini CLI asks before it announces.
        var updates = new AcpUpdates();
        var events = new List<AgentEvent>();

        var request = updates.Ask(ToolCallOf("""{"toolCallId":"w1","title":"rm -rf build","kind":"execute"}"""), events);

        Assert.Equal("call w1 execute Execute 'rm -rf build'", Describe(events));
        Assert.Equal("rm -rf build", request.Command);
        Assert.IsType<ToolResult>(Assert.Single(updates.Finish("w1", "Denied.", true)));
        Assert.Empty(updates.Finish("w1", "Denied.", true));
        Assert.Equal("", Run("""{"sessionUpdate":"tool_call_update","toolCallId":"w1","status":"failed"}""", updates));
    }

    [Fact]
    public void Ask_CallAnnouncedBeforeItsInput_IsCompletedFromThePermissionRequest()
    {
        // Qwen Code 0.24: "Shell" with rawInput {} while the model's arguments stream; the permission request has the command.
        var updates = new AcpUpdates();
        var announced = Run("""
            {"sessionUpdate":"tool_call","toolCallId":"call_1","status":"pending","title":"Shell","kind":"execute","rawInput":{},"_meta":{"toolName":"run_shell_command"}}
            """, updates);
        var events = new List<AgentEvent>();

        var request = updates.Ask(ToolCallOf("""
            {"toolCallId":"call_1","status":"pending","title":"echo hi > made.txt (run it)","kind":"execute",
             "rawInput":{"command":"echo hi > made.txt","description":"run it"},"_meta":{"toolName":"run_shell_command"}}
            """), events);

        Assert.Equal("call call_1 run_shell_command Execute 'Shell'", announced);
        Assert.Equal("""updated call_1 'echo hi > made.txt (run it)' {"command":"echo hi > made.txt","description":"run it"}""", Describe(events));
        Assert.Equal("echo hi > made.txt", request.Command);
        // Finished, it says nothing more about its input.
        Assert.Equal("result call_1 ok done", Run("""
            {"sessionUpdate":"tool_call_update","toolCallId":"call_1","status":"completed","content":[{"type":"content","content":{"type":"text","text":"done"}}]}
            """, updates));
    }

    [Theory]
    // claude-agent-acp: "Terminal" with rawInput {}, then an update with the command as the model streamed it.
    [InlineData("""
        {"sessionUpdate":"tool_call","toolCallId":"toolu_1","title":"Terminal","kind":"execute","rawInput":{},"_meta":{"claudeCode":{"toolName":"Bash"}}}
        {"sessionUpdate":"tool_call_update","toolCallId":"toolu_1","title":"`ls -la`","kind":"execute","rawInput":{"command":"ls -la"},"_meta":{"claudeCode":{"toolName":"Bash"}}}
        {"sessionUpdate":"tool_call_update","toolCallId":"toolu_1","status":"completed","content":[]}
        """, """call toolu_1 Bash Execute 'Terminal' | updated toolu_1 '`ls -la`' {"command":"ls -la"} | result toolu_1 ok """)]
    // Whichever knows more: what each update adds is kept, what it repeats changes nothing.
    [InlineData("""
        {"sessionUpdate":"tool_call","toolCallId":"c","title":"run it","kind":"execute","rawInput":{"command":"make"}}
        {"sessionUpdate":"tool_call_update","toolCallId":"c","title":"run it","rawInput":{"command":"make"}}
        {"sessionUpdate":"tool_call_update","toolCallId":"c","rawInput":{"commands":["make"]}}
        """, """call c execute Execute 'run it' | updated c 'run it' {"command":"make","commands":["make"]}""")]
    // A call that never gets its input says so when it ends.
    [InlineData("""
        {"sessionUpdate":"tool_call","toolCallId":"q","title":"Shell","kind":"execute","rawInput":{}}
        {"sessionUpdate":"tool_call_update","toolCallId":"q","status":"failed","rawOutput":"boom"}
        """, "call q execute Execute 'Shell' | missing q 'Shell' | result q error boom")]
    public void Map_CallAnnouncedBeforeItsInput_IsUpdatedInPlace(string updates, string expected) => Assert.Equal(expected, Run(updates));

    [Fact]
    public void EndTurn_ACallStillWithoutItsInput_SaysSo()
    {
        var updates = new AcpUpdates();
        Run("""{"sessionUpdate":"tool_call","toolCallId":"q","title":"Shell","kind":"execute","rawInput":{}}""", updates);

        Assert.Equal("missing q 'Shell' | turn cancelled ok -", Describe(updates.EndTurn(
            JsonSerializer.Deserialize("""{"stopReason":"cancelled"}""", AcpJson.Default.PromptResponse), null, "Qwen Code")));
        Assert.Equal("turn end_turn ok -", Describe(updates.EndTurn(null, null, "Qwen Code")));
    }

    [Theory]
    [InlineData("proceed_once:allow_once,proceed_always:allow_always,cancel:reject_once", true, "proceed_once")]
    [InlineData("proceed_once:allow_once,proceed_always:allow_always,cancel:reject_once", false, "cancel")]
    [InlineData("always:allow_always,never:reject_always", true, null)]
    [InlineData("always:allow_always,never:reject_always", false, "never")]
    [InlineData("", false, null)]
    public void Option_PicksAOneTimeAnswerByKind(string offered, bool allow, string? expected)
    {
        var options = offered.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => new PermissionOption(pair.Split(':')[0], pair.Split(':')[1])).ToList<PermissionOption?>();
        Assert.Equal(expected, AcpUpdates.Option(options, allow));
    }

    private static string Run(string updates, AcpUpdates? into = null)
    {
        var mapper = into ?? new AcpUpdates();
        return Describe(updates.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).SelectMany(line => mapper.Map(Update(line))));
    }

    private static SessionUpdate Update(string json) =>
        AcpJson.Read<SessionNotification>(JsonElement.Parse($$"""{"sessionId":"s","update":{{json}}}"""))!.Update!;

    private static ToolCallUpdate ToolCallOf(string json) => AcpJson.Read<ToolCallUpdate>(JsonElement.Parse(json))!;

    private static string Describe(IEnumerable<AgentEvent> events) => string.Join(" | ", events.Select(e => e switch
    {
        MessageDelta d => $"delta {d.Text}",
        AssistantMessage m => $"message {m.Text}",
        Thinking t => $"thinking {t.Text}",
        ToolCall c => $"call {c.ToolCallId} {c.Tool} {c.Kind} '{c.Title}'",
        ToolCallUpdated { InputMissing: true } u => $"missing {u.ToolCallId} '{u.Title}'",
        ToolCallUpdated u => $"updated {u.ToolCallId} '{u.Title}' {u.Input.GetRawText()}",
        ToolResult r => $"result {r.ToolCallId} {(r.IsError ? "error" : "ok")} {r.Content}",
        PlanUpdate p => $"plan {string.Join(',', p.Entries.Select(entry => $"{entry.Content}:{entry.Status}"))}",
        UsageReport { CostIsRunningTotal: true } u => $"usage {u.InputTokens}/{u.OutputTokens} ${u.CostUsd?.ToString() ?? "-"} running",
        UsageReport u => $"usage {u.InputTokens}/{u.OutputTokens} cache {u.CacheReadTokens}/{u.CacheWriteTokens}",
        TurnCompleted t => $"turn {t.StopReason} {(t.IsError ? "error" : "ok")} {t.Result ?? "-"}",
        AgentError error => $"error {error.Message}",
        _ => e.ToString(),
    }));
}
