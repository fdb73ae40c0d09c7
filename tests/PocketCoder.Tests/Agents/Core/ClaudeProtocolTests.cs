using System.Text.Json;
using System.Threading.Channels;
using PocketCoder.Agents;
using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// Claude Code's stream-json protocol mapped onto PocketCoder's events and questions, in seconds and without the CLI:
/// a stand-in process prints recorded protocol lines and keeps what the session writes back. The end-to-end tests with
/// the real CLI stay the judge; this is the fast feedback on the mapping.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ClaudeProtocolTests : IDisposable
{
    private readonly string _folder = TempPaths.NewDirectory("pc-claude-protocol");

    public void Dispose() => TempPaths.Delete(_folder);

    [Fact]
    public async Task Stream_BecomesReadyDeltaMessageToolCallResultUsageAndTurnEnd()
    {
        var sink = new RecordingSink();
        await using var session = Start(sink,
            """{"type":"system","subtype":"init","session_id":"s-1","model":"claude-test","claude_code_version":"2.0.0"}""",
            """{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}}""",
            """{"type":"assistant","message":{"content":[{"type":"text","text":"Hello"},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls -la"}}]}}""",
            """{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a.txt"}],"is_error":false}]}}""",
            """not json: a stray print""",
            """{"type":"result","subtype":"success","is_error":false,"result":"Done","total_cost_usd":0.25,"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":2,"cache_creation_input_tokens":1}}""");

        Assert.Equal(new AgentReady("s-1", "claude-test", "2.0.0"), await sink.NextAsync());
        Assert.Equal(new MessageDelta("Hel"), await sink.NextAsync());
        Assert.Equal(new AssistantMessage("Hello"), await sink.NextAsync());
        var call = Assert.IsType<ToolCall>(await sink.NextAsync());
        Assert.Equal(("toolu_1", "Bash", ToolKind.Execute, "ls -la"), (call.ToolCallId, call.Tool, call.Kind, call.Title));
        Assert.Equal(new ToolResult("toolu_1", "a.txt", false), await sink.NextAsync());
        Assert.Equal(new UsageReport(10, 5, 2, 1, 0.25m, CostIsRunningTotal: true), await sink.NextAsync());
        Assert.Equal(new TurnCompleted("success", false, "Done"), await sink.NextAsync());
        Assert.Equal("s-1", session.AgentSessionId);
    }

    [Fact]
    public async Task ResultOfAResumedConversation_CostsWhatItsOwnCallsCost_NotTheTotalItsTranscriptSaved()
    {
        // A resumed or forked Claude starts total_cost_usd from the total its transcript saved (1.20 here): its first result's
        // running total carries every earlier turn. model_usage_since_last_result states this result's own calls.
        var sink = new RecordingSink();
        await using var session = Start(sink,
            """{"type":"result","subtype":"success","is_error":false,"result":"Done","total_cost_usd":1.23,"usage":{"input_tokens":10,"output_tokens":5},"model_usage_since_last_result":{"claude-sonnet":{"inputTokens":10,"outputTokens":5,"costUSD":0.02},"claude-haiku":{"inputTokens":3,"outputTokens":1,"costUSD":0.01}}}""");

        Assert.Equal(new UsageReport(10, 5, 0, 0, 0.03m, CostIsRunningTotal: false), await sink.NextAsync());
    }

    [Fact]
    public async Task ResultCost_AJavaScriptDoublesNoise_IsRoundedAway_SoTotalsAddUp()
    {
        // As Claude Code prints 0.056163: the session's total, added from such figures, failed to equal its turns (CI, stop 77).
        var sink = new RecordingSink();
        await using var session = Start(sink,
            """{"type":"result","subtype":"success","is_error":false,"result":"Done","total_cost_usd":0.2,"usage":{"input_tokens":1,"output_tokens":1},"model_usage_since_last_result":{"claude-sonnet":{"costUSD":0.056162999999999996}}}""");

        Assert.Equal(0.056163m, (await sink.NextAsync() as UsageReport)!.CostUsd);
    }

    [Fact]
    public async Task Subagent_ItsCallsMessagesAndQuestionsNameTheCallThatStartedIt_AndItsTaskHasAStatus()
    {
        // As Claude Code 2.1.332 prints a foreground subagent (Agent call toolu_A) that runs one shell call: the subagent's own
        // lines carry parent_tool_use_id, its task is followed by system lines keyed by the same call.
        var sink = new RecordingSink { Decide = _ => new PermissionDecision(true) };
        await using var session = Start(sink,
            """{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"toolu_A","name":"Agent","input":{"description":"Write the file","prompt":"Write it","subagent_type":"general-purpose"}}]},"parent_tool_use_id":null}""",
            """{"type":"system","subtype":"task_started","task_id":"a65bc","tool_use_id":"toolu_A","description":"Write the file","subagent_type":"general-purpose","task_type":"local_agent","is_backgrounded":false}""",
            """{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Writing"}},"parent_tool_use_id":"toolu_A"}""",
            """{"type":"assistant","message":{"id":"m2","content":[{"type":"thinking","thinking":"A shell call will do."},{"type":"text","text":"Writing it."},{"type":"tool_use","id":"toolu_B","name":"Bash","input":{"command":"echo sub > f.txt"}}]},"parent_tool_use_id":"toolu_A"}""",
            """{"type":"control_request","request_id":"req-2","request":{"subtype":"can_use_tool","tool_name":"Bash","tool_use_id":"toolu_B","input":{"command":"echo sub > f.txt"}}}""",
            """{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"toolu_B","content":"","is_error":false}]},"parent_tool_use_id":"toolu_A"}""",
            """{"type":"system","subtype":"task_notification","task_id":"a65bc","tool_use_id":"toolu_A","status":"completed","output_file":"","summary":"The subagent wrote the file."}""",
            """{"type":"system","subtype":"task_notification","task_id":"b77","tool_use_id":"toolu_C","status":"killed","output_file":"","summary":""}""");

        var agent = Assert.IsType<ToolCall>(await sink.NextAsync());
        Assert.Equal(("toolu_A", "Subagent: Write the file", null), (agent.ToolCallId, agent.Title, agent.ParentToolCallId));
        Assert.Equal(new AgentTaskUpdate("toolu_A", "a65bc", "local_agent", AgentTaskStatuses.Running, "Write the file", null), await sink.NextAsync());
        // The subagent's partial text is not streamed as the reply: its whole message comes, under its parent.
        Assert.Equal(new Thinking("A shell call will do.", "toolu_A"), await sink.NextAsync());
        Assert.Equal(new AssistantMessage("Writing it.", "toolu_A"), await sink.NextAsync());
        var shell = Assert.IsType<ToolCall>(await sink.NextAsync());
        Assert.Equal(("toolu_B", "toolu_A"), (shell.ToolCallId, shell.ParentToolCallId));
        var asked = await sink.AskedAsync();
        Assert.Equal(("toolu_B", "toolu_A"), (asked.ToolCallId, asked.ParentToolCallId));
        Assert.Equal(new ToolResult("toolu_B", "", false), await sink.NextAsync());
        Assert.Equal(new AgentTaskUpdate("toolu_A", "a65bc", null, AgentTaskStatuses.Completed, null, "The subagent wrote the file."), await sink.NextAsync());
        // An end Claude names otherwise is a failure, never shown as still running.
        Assert.Equal(new AgentTaskUpdate("toolu_C", "b77", null, AgentTaskStatuses.Failed, null, null), await sink.NextAsync());
    }

    [Fact]
    public async Task ResultWithANullCount_StillEndsTheTurn()
    {
        // Lines are read whole into records: a count that is null must not cost the line that ends the turn.
        var sink = new RecordingSink();
        await using var session = Start(sink,
            """{"type":"result","subtype":"success","is_error":false,"result":"Done","usage":{"input_tokens":10,"output_tokens":null}}""");

        Assert.Equal(new UsageReport(10, 0, 0, 0, null, CostIsRunningTotal: true), await sink.NextAsync());
        Assert.Equal(new TurnCompleted("success", false, "Done"), await sink.NextAsync());
    }

    [Fact]
    public async Task CanUseTool_GoesToTheGate_AndItsDenialIsWhatClaudeHears()
    {
        var sink = new RecordingSink { Decide = _ => PermissionDecision.Deny("Not today.") };
        await using var session = Start(sink,
            """{"type":"control_request","request_id":"req-7","request":{"subtype":"can_use_tool","tool_name":"Bash","tool_use_id":"toolu_9","input":{"command":"rm -rf build"}}}""");

        var asked = await sink.AskedAsync();
        Assert.Equal(("toolu_9", "Bash", ToolKind.Execute, "rm -rf build"), (asked.ToolCallId, asked.Tool, asked.Kind, asked.Command));

        var response = await WrittenAsync(r => Response(r) is { } inner && inner.GetProperty("request_id").GetString() == "req-7");
        var answer = Response(response)!.Value.GetProperty("response");
        Assert.Equal("deny", answer.GetProperty("behavior").GetString());
        Assert.Equal("Not today.", answer.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Allow_HandsBackTheInputTheOwnerSaw()
    {
        var edited = JsonElement.Parse("""{"command":"rm -rf build/tmp"}""");
        var sink = new RecordingSink { Decide = _ => new PermissionDecision(true, UpdatedInput: edited) };
        await using var session = Start(sink,
            """{"type":"control_request","request_id":"req-8","request":{"subtype":"can_use_tool","tool_name":"Bash","tool_use_id":"toolu_8","input":{"command":"rm -rf build"}}}""");

        var response = await WrittenAsync(r => Response(r) is { } inner && inner.GetProperty("request_id").GetString() == "req-8");
        var answer = Response(response)!.Value.GetProperty("response");
        Assert.Equal("allow", answer.GetProperty("behavior").GetString());
        Assert.Equal("rm -rf build/tmp", answer.GetProperty("updatedInput").GetProperty("command").GetString());
    }

    [Fact]
    public async Task StartRegistersTheGateHook_AndTheHookAlwaysAnswersAsk()
    {
        var sink = new RecordingSink();
        await using var session = Start(sink,
            """{"type":"control_request","request_id":"hook-1","request":{"subtype":"hook_callback","callback_id":"pocketcoder_gate","input":{"tool_name":"Bash"}}}""");

        var initialize = await WrittenAsync(r => r.GetProperty("type").GetString() == "control_request");
        Assert.Equal("initialize", initialize.GetProperty("request").GetProperty("subtype").GetString());
        var hooks = initialize.GetProperty("request").GetProperty("hooks").GetProperty("PreToolUse");
        Assert.Equal(ClaudeCodeSession.GateHookId, hooks[0].GetProperty("hookCallbackIds")[0].GetString());

        var response = await WrittenAsync(r => Response(r) is { } inner && inner.GetProperty("request_id").GetString() == "hook-1");
        var output = Response(response)!.Value.GetProperty("response").GetProperty("hookSpecificOutput");
        Assert.Equal("ask", output.GetProperty("permissionDecision").GetString());
        Assert.Empty(sink.Asked); // The hook decides nothing itself: the question comes as can_use_tool.
    }

    [Theory]
    [InlineData("Edit", """{"file_path":"/p/a.cs"}""", ToolKind.Edit, "Edit /p/a.cs")]
    [InlineData("Read", """{"file_path":"/p/a.cs"}""", ToolKind.Read, "Read /p/a.cs")]
    [InlineData("Grep", """{"pattern":"TODO"}""", ToolKind.Read, "Grep TODO")]
    [InlineData("WebFetch", """{"url":"https://example.org"}""", ToolKind.Fetch, "Fetch https://example.org")]
    [InlineData("mcp__github__create_issue", "{}", ToolKind.Mcp, "mcp__github__create_issue")]
    [InlineData("ExitPlanMode", """{"plan":"1. do it"}""", ToolKind.Other, "Proposed plan")]
    [InlineData("SomethingNew", "{}", ToolKind.Other, "SomethingNew")]
    // 2.1.332's tool search only loads schemas (each tool it loads is asked about when called); its new tools that reach other
    // sessions or start work in the background are asked about like any other.
    [InlineData("ToolSearch", """{"query":"select:WebFetch"}""", ToolKind.Bookkeeping, "Look up tools: select:WebFetch")]
    [InlineData("ListAgents", "{}", ToolKind.Other, "ListAgents")]
    [InlineData("SendMessage", """{"to":"main","message":"hi"}""", ToolKind.Other, "SendMessage")]
    [InlineData("Workflow", """{"script":"export const meta = {}"}""", ToolKind.Other, "Workflow")]
    [InlineData("Monitor", "{}", ToolKind.Other, "Monitor")]
    [InlineData("CronCreate", """{"cron":"* * * * *","prompt":"go"}""", ToolKind.Other, "CronCreate")]
    public void Tools_AreDescribedInTheGatesTerms(string tool, string input, ToolKind kind, string title)
    {
        var described = ClaudeTools.Describe(tool, JsonElement.Parse(input));

        Assert.Equal((kind, title), (described.Kind, described.Title));
    }

    [Fact]
    public void Transcript_OnlyTheConversationsOwnLinesAreHistory()
    {
        // Claude Code 2.1.332 keeps each request's system prompt and reminders in the transcript as api-request-blob lines, with a
        // user or a system message: none of it is something the owner said or the agent answered.
        string[] lines =
        [
            """{"type":"user","uuid":"u1","message":{"role":"user","content":"Remember the word heron"}}""",
            """{"type":"api-request-blob","message":{"role":"user","content":[{"type":"text","text":"<system-reminder>Attribution</system-reminder>"}]}}""",
            """{"type":"api-request-blob","message":{"role":"system","content":[{"type":"text","text":"# Environment"}]}}""",
            """{"type":"assistant","uuid":"a1","parentUuid":"u1","message":{"role":"assistant","content":[{"type":"text","text":"I will remember heron."}]}}""",
        ];

        var entries = lines.Select(l => ClaudeJson.Read<TranscriptLine>(l)!).SelectMany(ClaudeTranscripts.Entries).ToList();

        Assert.Equal<HistoryEntry>([new HistoryUserText("Remember the word heron"), new HistoryAssistantText("I will remember heron.")], entries);
    }

    [Fact]
    public void PlanFile_AWriteThereIsBookkeeping_OnlyPlainlyInThePlansFolderAndNeverThroughALink()
    {
        var plans = Path.Combine(_folder, "config", "plans");
        Directory.CreateDirectory(plans);
        var files = new ClaudePlanFiles(plans, plans);
        string Write(string path) => $$"""{"file_path":{{JsonSerializer.Serialize(path)}},"content":"1. Fix it"}""";
        ToolKind KindOf(string tool, string path) => ClaudeTools.Describe(tool, JsonElement.Parse(Write(path)), files).Kind;

        Assert.Equal(ToolKind.Bookkeeping, KindOf("Write", Path.Combine(plans, "fix-the-parser.md")));
        Assert.Equal(ToolKind.Bookkeeping, KindOf("Edit", Path.Combine(plans, "fix-the-parser.md")));
        Assert.Equal(ToolKind.Edit, KindOf("Write", Path.Combine(plans, "run.sh")));
        Assert.Equal(ToolKind.Edit, KindOf("Write", Path.Combine(plans, "..", "settings.md")));
        Assert.Equal(ToolKind.Edit, KindOf("Write", Path.Combine(plans, "deeper", "plan.md")));
        Assert.Equal(ToolKind.Edit, KindOf("Write", "plan.md"));
        Assert.Equal(ToolKind.Edit, ClaudeTools.Describe("Write", JsonElement.Parse(Write(Path.Combine(plans, "a.md")))).Kind); // plans unknown

        // A link there could lead the write anywhere: the file, or the folder itself.
        var elsewhere = Path.Combine(_folder, "elsewhere.md");
        File.CreateSymbolicLink(Path.Combine(plans, "linked.md"), elsewhere);
        Assert.Equal(ToolKind.Edit, KindOf("Write", Path.Combine(plans, "linked.md")));
        var linkedFolder = Path.Combine(_folder, "config", "linked-plans");
        Directory.CreateSymbolicLink(linkedFolder, plans);
        Assert.Equal(ToolKind.Edit, ClaudeTools.Describe("Write", JsonElement.Parse(Write(Path.Combine(linkedFolder, "a.md"))),
            new ClaudePlanFiles(linkedFolder, linkedFolder)).Kind);
    }

    [Theory]
    [InlineData(SessionModes.Plan, "plan")]
    [InlineData(SessionModes.Ask, "default")]
    [InlineData(SessionModes.AcceptEdits, "default")] // Claude's acceptEdits runs some shell writes unasked.
    [InlineData(SessionModes.Trusted, "default")] // Never bypassPermissions: the gate decides.
    public void Modes_MapOntoClaudesPermissionModes(string mode, string claudeMode) =>
        Assert.Equal(claudeMode, ClaudeCodeAdapter.PermissionMode(mode));

    private string StdinLog => Path.Combine(_folder, "stdin.jsonl");

    /// <summary>The stand-in agent: prints the recorded lines, then keeps everything the session writes to it.</summary>
    private ClaudeCodeSession Start(RecordingSink sink, params string[] lines)
    {
        var script = Path.Combine(_folder, "stdout.jsonl");
        File.WriteAllLines(script, lines);
        var spec = new ProcessSpec("sh", ["-c", "cat \"$0\"; exec cat > \"$1\"", script, StdinLog], _folder,
            new Dictionary<string, string?>(), StderrLogPath: null);
        return ClaudeCodeSession.Start(spec, "s-0", sink, holdFor: null, paused: null, model: null);
    }

    /// <summary>The first line the session wrote that satisfies <paramref name="match"/>, once it is there.</summary>
    private async Task<JsonElement> WrittenAsync(Func<JsonElement, bool> match)
    {
        // The stand-in writes to a file; its growth is watched for until the deadline.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            if (File.Exists(StdinLog))
            {
                foreach (var line in await File.ReadAllLinesAsync(StdinLog, deadline.Token))
                {
                    if (line.Length > 0 && JsonElement.Parse(line) is var written && match(written))
                    {
                        return written;
                    }
                }
            }

            await Task.Delay(20, deadline.Token);
        }
    }

    private static JsonElement? Response(JsonElement written) =>
        written.GetProperty("type").GetString() == "control_response" ? written.GetProperty("response") : null;

    private sealed class RecordingSink : IAgentSink
    {
        private readonly Channel<AgentEvent> _events = Channel.CreateUnbounded<AgentEvent>();
        private readonly Channel<PermissionRequest> _asked = Channel.CreateUnbounded<PermissionRequest>();

        public Func<PermissionRequest, PermissionDecision> Decide { get; init; } = _ => new PermissionDecision(true);

        public List<PermissionRequest> Asked { get; } = [];

        public ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken) => _events.Writer.WriteAsync(agentEvent, cancellationToken);

        public Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken)
        {
            Asked.Add(request);
            _asked.Writer.TryWrite(request);
            return Task.FromResult(Decide(request));
        }

        public async Task<AgentEvent> NextAsync() => await _events.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));

        public async Task<PermissionRequest> AskedAsync() => await _asked.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
    }
}
