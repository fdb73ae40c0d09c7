using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.OpenCode;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// OpenCode's <c>/event</c> stream as agent events, one table row a transcript: events in the shapes OpenCode 1.18 sends
/// (taken from its stream during OpenCodeTests, extra fields and all), plus <c>!send</c> (a message was sent) and
/// <c>!cancel</c> (the owner cancelled the turn).
/// </summary>
[Trait("Category", "Unit")]
public sealed class OpenCodeUpdatesTests
{
    private const string Bash = """{"command":"echo hi > made-by-agent.txt","description":"Write a file"}""";

    public static TheoryData<string, string[], string[]> Transcripts => new()
    {
        {
            "an assistant's finished text part is its message, once; the person's own is not",
            [
                Message("msg_u", "user"), TextPart("prt_u", "msg_u", "Think about it.", ended: true),
                Message("msg_a", "assistant"), TextPart("prt_a", "msg_a", "", ended: false), TextPart("prt_a", "msg_a", "Back again.", ended: true),
                TextPart("prt_a", "msg_a", "Back again.", ended: true),
            ],
            [Show(new AssistantMessage("Back again."))]
        },
        {
            "text deltas stream only for the assistant's text parts",
            [
                Message("msg_u", "user"), TextPart("prt_u", "msg_u", "", ended: false), Delta("prt_u", "msg_u", "Think"),
                Message("msg_a", "assistant"), TextPart("prt_a", "msg_a", "", ended: false), Delta("prt_a", "msg_a", "Back"),
                Part("""{"id":"prt_r","messageID":"msg_a","type":"reasoning","text":"","time":{"start":1}}"""), Delta("prt_r", "msg_a", "Hmm"),
                Delta("prt_unknown", "msg_a", "lost"), Delta("prt_a", "msg_a", ""),
            ],
            [Show(new MessageDelta("Back"))]
        },
        {
            "finished reasoning is thinking, once",
            [
                Part("""{"id":"prt_r","messageID":"msg_a","type":"reasoning","text":"Let me see.","time":{"start":1,"end":2}}"""),
                Part("""{"id":"prt_r","messageID":"msg_a","type":"reasoning","text":"Let me see.","time":{"start":1,"end":2}}"""),
            ],
            [Show(new Thinking("Let me see."))]
        },
        {
            "a call is shown once it has its input, and its result once",
            [
                Tool("call_fake_1", "bash", """{"status":"pending","input":{},"raw":""}"""),
                Tool("call_fake_1", "bash", $$$"""{"status":"running","input":{{{Bash}}},"time":{"start":1795602063186}}"""),
                Tool("call_fake_1", "bash", $$$"""{"status":"completed","input":{{{Bash}}},"output":"(no output)","metadata":{"exit":0},"title":"echo hi","time":{"start":1,"end":2}}"""),
                Tool("call_fake_1", "bash", $$$"""{"status":"completed","input":{{{Bash}}},"output":"(no output)","time":{"start":1,"end":2}}"""),
            ],
            [
                Show(new ToolCall("call_fake_1", "bash", ToolKind.Execute, "echo hi > made-by-agent.txt", Json(Bash))),
                Show(new ToolResult("call_fake_1", "(no output)", false)),
            ]
        },
        {
            "a rejected call is shown and fails with OpenCode's words; one met first finished is shown too",
            [
                Tool("call_fake_2", "bash", """{"status":"error","input":{"command":"touch never.txt"},"error":"The user rejected permission","time":{"start":1,"end":2}}"""),
                Tool("call_3", "edit", """{"status":"running","input":"not an object"}"""),
            ],
            [
                Show(new ToolCall("call_fake_2", "bash", ToolKind.Execute, "touch never.txt", Json("""{"command":"touch never.txt"}"""))),
                Show(new ToolResult("call_fake_2", "The user rejected permission", true)),
                Show(new ToolCall("call_3", "edit", ToolKind.Edit, "Edit files", Json("{}"))),
            ]
        },
        {
            "an MCP server's tool (SERVER_TOOL) is its mcp__SERVER__TOOL; OpenCode's own tools never are",
            [
                Tool("call_m", "probe_touch_file", """{"status":"running","input":{"name":"x"}}"""),
                Tool("call_r", "read", """{"status":"running","input":{"filePath":"/repo/a.txt"}}"""),
            ],
            [
                Show(new ToolCall("call_m", "mcp__probe__touch_file", ToolKind.Mcp, "probe/touch_file", Json("""{"name":"x"}"""))),
                Show(new ToolCall("call_r", "read", ToolKind.Read, "Read /repo/a.txt", Json("""{"filePath":"/repo/a.txt"}"""))),
            ]
        },
        {
            "a turn ends at the first idle after busy, with its steps' usage and its last text",
            [
                "!send", Status("idle"), Idle(), Status("busy"), Message("msg_a", "assistant"),
                StepFinish("""{"total":7125,"input":7123,"output":2,"reasoning":0,"cache":{"write":1,"read":3}}""", "0.5"),
                TextPart("prt_1", "msg_a", "First.", ended: true), TextPart("prt_2", "msg_a", "The file is written.", ended: true),
                StepFinish("""{"input":10,"output":5,"cache":{"write":0,"read":0}}""", "0.25"), Idle(), Idle(),
            ],
            [
                Show(new AssistantMessage("First.")), Show(new AssistantMessage("The file is written.")),
                Show(new UsageReport(7133, 7, 3, 1, 0.75m)), Show(new TurnCompleted("completed", false, "The file is written.")),
            ]
        },
        {
            "a cancelled turn ends cancelled without a result, and its abort is no error; another error is",
            [
                "!send", Status("busy"), "!cancel", Error("""{"name":"MessageAbortedError","data":{"message":"Aborted"}}"""), Idle(),
                "!send", Status("busy"), Error("""{"name":"APIError","data":{"message":"Bad gateway"}}"""),
                Error("""{"name":"UnknownError"}"""), Error("""{"code":7}"""), Idle(),
            ],
            [
                Show(new TurnCompleted("cancelled", false, null)),
                Show(new AgentError("Bad gateway")), Show(new AgentError("UnknownError")), Show(new AgentError("""{"code":7}""")),
                Show(new TurnCompleted("completed", false, null)),
            ]
        },
        {
            "a model OpenCode cannot reach is reported once a turn, and only in a turn",
            [
                Status("retry", ""","attempt":1,"message":"Cannot connect.","next":1795602063186"""), "!send",
                Status("retry", ""","attempt":2,"message":"Cannot connect.","next":1795602063186"""), Status("retry", ""","attempt":3"""),
                "!send", Status("retry", ""","attempt":1"""),
            ],
            [
                Show(new AgentError("OpenCode cannot reach its model: Cannot connect. It keeps retrying; cancel the turn to stop it.")),
                Show(new AgentError("OpenCode cannot reach its model: no answer It keeps retrying; cancel the turn to stop it.")),
            ]
        },
        {
            "events nobody reads make nothing",
            [
                Event("session.diff", "\"diff\":[]"), Event("session.updated", """ "info":{"id":"ses_1","permission":[]} """),
                Part("""{"id":"prt_s","messageID":"msg_a","type":"step-start","snapshot":"fc3b"}"""), Event("todo.updated", "\"todos\":[]"),
            ],
            []
        },
    };

    [Theory]
    [MemberData(nameof(Transcripts))]
    public void Map_Transcript_MakesTheAgentEvents(string transcript, string[] script, string[] expected)
    {
        var stream = new OpenCodeStream();
        var made = new List<string>();
        foreach (var line in script)
        {
            switch (line)
            {
                case "!send":
                    stream.BeginTurn();
                    break;
                case "!cancel":
                    stream.Aborted = true;
                    break;
                default:
                    var update = JsonSerializer.Deserialize(line, OpenCodeJson.Default.OpenCodeEvent)!;
                    made.AddRange(OpenCodeUpdates.Map(update.Type, update.Properties!, stream, ["probe"]).Select(Show));
                    break;
            }
        }

        Assert.True(expected.SequenceEqual(made), $"{transcript}:\n  expected {string.Join("\n           ", expected)}\n  made     {string.Join("\n           ", made)}");
    }

    public static TheoryData<string, string?, string, string, string, string?, string?> Permissions => new()
    {
        // properties of permission.asked; the call's own tool (read from its message); expected tool, kind, title, command, path
        {
            """ "id":"per_1","permission":"bash","patterns":["echo hi > made-by-agent.txt"],"metadata":{"command":"echo hi > made-by-agent.txt"},"always":["echo *"],"tool":{"messageID":"msg_1","callID":"call_fake_1"}""",
            null, "bash", "execute", "echo hi > made-by-agent.txt", "echo hi > made-by-agent.txt", null
        },
        {
            """ "id":"per_2","permission":"edit","patterns":["notes.md"],"metadata":{"filepath":"/repo/notes.md","diff":"+x"},"tool":{"messageID":"msg_1","callID":"call_2"}""",
            null, "edit", "edit", "Edit /repo/notes.md", null, "/repo/notes.md"
        },
        {
            """ "id":"per_3","permission":"external_directory","patterns":["/etc/*"],"metadata":{}""",
            null, "external_directory", "other", "Use a path outside the project", null, "/etc/*"
        },
        {
            """ "id":"per_4","permission":"read","patterns":["mcp:probe:attack://private"],"metadata":{"uri":"attack://private"},"tool":{"messageID":"msg_1","callID":"call_4"}""",
            "read_mcp_resource", "mcp__probe__read_mcp_resource", "mcp", "probe/read_mcp_resource attack://private", null, null
        },
        {
            """ "id":"per_5","permission":"read","patterns":["mcp:probe:x; touch pwned.txt"],"metadata":{},"tool":{"messageID":"msg_1","callID":"call_5"}""",
            "bash", "read", "other", "read mcp:probe:x; touch pwned.txt", null, null
        },
        {
            """ "id":"per_6","permission":"probe_touch_file","patterns":["*"],"metadata":{},"tool":{"messageID":"msg_1","callID":"call_6"}""",
            "probe_touch_file", "mcp__probe__touch_file", "mcp", "probe/touch_file", null, null
        },
        {
            // Starting a subagent: its pattern is the subagent's name, never a path.
            """ "id":"per_7","permission":"task","patterns":["general"],"metadata":{"description":"Write the file","subagent_type":"general"},"always":["*"],"tool":{"messageID":"msg_1","callID":"call_7"}""",
            null, "task", "other", "Subagent: Write the file", null, null
        },
    };

    [Theory]
    [MemberData(nameof(Permissions))]
    public void Permission_Asked_IsTheGatekeepersQuestion(string properties, string? callTool, string tool, string kind, string title, string? command,
        string? path)
    {
        var asked = Properties(properties);
        var needsCall = OpenCodeUpdates.NeedsCall(asked, ["probe"]);
        var request = OpenCodeUpdates.Permission(asked, asked.Id!, needsCall ? (callTool, Json("""{"name":"x"}""")) : default, ["probe"]);

        Assert.Equal(callTool is not null, needsCall);
        Assert.Equal((tool, kind, title, command, path), (request.Tool, request.Kind.ToWire(), request.Title, request.Command, request.Path));
        Assert.Equal(asked.Tool?.CallID ?? asked.Id, request.ToolCallId);
        if (request.Kind == ToolKind.Mcp && asked.Permission != "read")
        {
            Assert.Equal("""{"name":"x"}""", request.Input.GetRawText()); // The call's own arguments, not the permission's.
        }
        else if (asked.Permission != "read")
        {
            Assert.Equal(asked.Patterns, request.Input.GetProperty("patterns").EnumerateArray().Select(p => p.GetString()));
        }
    }

    /// <summary>A subagent's child session (shapes from OpenCode 1.18.33's stream in OpenCodeSubagentTests).</summary>
    [Fact]
    public void Subagent_CallsWordsAndThinkingUnderItsTask_NoStreamingNoTurnEnd_ItsTokensTheTurns()
    {
        var (child, parent) = (new OpenCodeStream(), new OpenCodeStream());
        parent.BeginTurn();
        string[] script =
        [
            Status("busy"), Message("msg_a", "assistant"), TextPart("prt_a", "msg_a", "", ended: false), Delta("prt_a", "msg_a", "Writing"),
            Tool("call_fake_2", "bash", $$$"""{"status":"running","input":{{{Bash}}}}"""),
            Tool("call_fake_2", "bash", $$$"""{"status":"completed","input":{{{Bash}}},"output":"","time":{"start":1,"end":2}}"""),
            Part("""{"id":"prt_r","messageID":"msg_a","type":"reasoning","text":"Done?","time":{"start":1,"end":2}}"""),
            TextPart("prt_a", "msg_a", "The subagent wrote the file.", ended: true),
            StepFinish("""{"input":10,"output":5,"cache":{"write":1,"read":2}}""", "0.25"),
            Error("""{"name":"APIError","data":{"message":"Bad gateway"}}"""), Idle(),
        ];

        var made = script.Select(line => JsonSerializer.Deserialize(line, OpenCodeJson.Default.OpenCodeEvent)!)
            .SelectMany(update => OpenCodeUpdates.MapSubagent(update.Type, update.Properties!, child, parent, "call_task", ["probe"])).Select(Show);

        Assert.Equal(
            [
                Show(new ToolCall("call_fake_2", "bash", ToolKind.Execute, "echo hi > made-by-agent.txt", Json(Bash), "call_task")),
                Show(new ToolResult("call_fake_2", "", false)),
                Show(new Thinking("Done?", "call_task")),
                Show(new AssistantMessage("The subagent wrote the file.", "call_task")),
            ],
            made);
        Assert.Equal((10L, 5L, 2L, 1L, 0.25m), parent.Usage);
        Assert.True(parent.TurnActive, "a subagent's idle ended the turn");
    }

    [Theory]
    [InlineData("""{"status":"running","input":{"description":"Write it"},"title":"Write the file","metadata":{"sessionId":"ses_child"}}""", "running", "Write the file", null)]
    [InlineData("""{"status":"completed","input":{"description":"Write it"},"output":"task_id: ses_child","metadata":{"sessionId":"ses_child"}}""", "completed", "Write it", null)]
    [InlineData("""{"status":"error","input":{},"error":"Task cancelled","metadata":{"sessionId":"ses_child"}}""", "stopped", null, "Task cancelled")]
    [InlineData("""{"status":"error","input":{},"error":"Subagent failed: boom","metadata":{"sessionId":"ses_child"}}""", "failed", null, "Subagent failed: boom")]
    public void Subagent_TaskCallNamingItsChildSession_IsATaskState(string state, string status, string? description, string? summary)
    {
        var part = JsonSerializer.Deserialize(Tool("call_task", "task", state), OpenCodeJson.Default.OpenCodeEvent)!.Properties!.Part!;

        var (callId, update) = OpenCodeUpdates.Subagent(part)!.Value;

        Assert.Equal(("call_task", new AgentTaskUpdate("call_task", "ses_child", "subagent", status, description, summary)), (callId, update));
    }

    [Theory]
    [InlineData("task", """{"status":"running","input":{"description":"x"}}""")]
    [InlineData("bash", """{"status":"running","input":{},"metadata":{"sessionId":"ses_child"}}""")]
    public void Subagent_NotATaskCallWithAChildSession_IsNone(string tool, string state) =>
        Assert.Null(OpenCodeUpdates.Subagent(JsonSerializer.Deserialize(Tool("call_1", tool, state), OpenCodeJson.Default.OpenCodeEvent)!.Properties!.Part!));

    /// <summary>
    /// Subagents' rules in the order OpenCode 1.18.33's <c>GET /agent</c> gave them (its defaults, the server's permission
    /// config; an agent's own rules, the owner's, after it), each rule <c>permission:pattern:action</c>, separated by <c>;</c>.
    /// </summary>
    [Theory]
    [InlineData("general", "*:*:allow;read:*:allow;read:*.env:ask;*:*:ask;todowrite:*:allow;todoread:*:allow;external_directory:/h/opencode/tool-output/*:allow", "")]
    [InlineData("explore", "*:*:allow;*:*:deny;grep:*:allow;bash:*:allow;read:*:allow;*:*:ask;todowrite:*:allow", "")]
    [InlineData("general", "*:*:allow;*:*:ask;todowrite:*:allow;bash:git *:allow", "bash git *")]
    [InlineData("runner", "*:*:allow;*:*:ask;todowrite:*:allow;*:*:deny;grep:*:allow;bash:*:allow;read:*:allow;external_directory:*:ask", "grep, bash, read")]
    [InlineData("mine", "*:*:allow;read:*:allow", "*, read")]
    public void UnguardedAllows_AreTheAllowsAfterTheLastAskEverything(string agent, string rules, string refused)
    {
        var parsed = rules.Split(';').Select(r => r.Split(':')).Select(r => new PermissionRule(r[0], r[1], r[2])).ToList();

        var unguarded = OpenCodeUpdates.UnguardedAllows(parsed);

        Assert.Equal(refused, string.Join(", ", unguarded.Select(r => r.Pattern == "*" ? r.Permission : $"{r.Permission} {r.Pattern}")));
        if (unguarded.Count > 0)
        {
            Assert.StartsWith($"PocketCoder does not start the subagent \"{agent}\": its own rules let it run {refused} without asking",
                OpenCodeUpdates.RefusedSubagent(agent, unguarded), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Question_Asked_IsAQuestionCard_AnsweredOneListPerQuestion()
    {
        var asked = Properties(""" "id":"que_1","questions":[{"question":"Which colour?","header":"Colour","options":[{"label":"Red","description":"Warm"},{"label":"Blue"},{"description":"no label"}],"multiple":true},{"question":"Why?","header":"Reason","options":[],"custom":true}],"tool":{"messageID":"msg_1","callID":"call_q"}""");

        var (request, count) = OpenCodeUpdates.Question(asked)!.Value;

        Assert.Equal(("call_q", "question", ToolKind.Question, "Which colour? (and 1 more)", 2), (request.ToolCallId, request.Tool, request.Kind, request.Title, count));
        Assert.Equal("""{"questions":[{"question":"Which colour?","header":"Colour","options":[{"label":"Red","description":"Warm"},{"label":"Blue","description":null}],"multiSelect":true},{"question":"Why?","header":"Reason","options":[],"multiSelect":false}]}""",
            request.Input.GetRawText());
        var reply = OpenCodeUpdates.Answers(new PermissionDecision(true, Answers: [new OwnerAnswer(["Red", "Blue"], null), new OwnerAnswer([], "Because.")]), count);
        Assert.Equal("""{"answers":[["Red","Blue"],["Because."]]}""", JsonSerializer.Serialize(reply, OpenCodeJson.Default.QuestionReply));
        Assert.Null(OpenCodeUpdates.Answers(new PermissionDecision(false, "No."), count));
        Assert.Null(OpenCodeUpdates.Answers(new PermissionDecision(true, Answers: [new OwnerAnswer(["Red"], null)]), count));
        Assert.Null(OpenCodeUpdates.Question(Properties(""" "id":"que_2","tool":{"callID":"call_q"}""")));
    }

    [Fact]
    public void Prompt_WritesOnlyWhatItHas()
    {
        var text = JsonSerializer.Serialize(new Prompt([new PromptPart("text", "Hi"), new PromptPart("file", Mime: "image/png", Url: "data:image/png;base64,AA", Filename: "image-1.png")],
            "build", null, null), OpenCodeJson.Default.Prompt);

        Assert.Equal("""{"parts":[{"type":"text","text":"Hi"},{"type":"file","mime":"image/png","url":"data:image/png;base64,AA","filename":"image-1.png"}],"agent":"build"}""", text);
        Assert.Equal("""{"reply":"once"}""", JsonSerializer.Serialize(new PermissionReply("once", null), OpenCodeJson.Default.PermissionReply));
        Assert.Equal("""{"permission":[{"permission":"*","pattern":"*","action":"ask"}]}""",
            JsonSerializer.Serialize(new SessionInfo(null, [new PermissionRule("*", "*", "ask")]), OpenCodeJson.Default.SessionInfo));
    }

    [Fact]
    public void Export_ReadBack_HasThePromptsAnswersAndFinishedCalls_NotOpenCodesOwnText()
    {
        const string export = """
            {"info":{"id":"ses_dedc7808cffe","slug":"brave-orchid","directory":"/repo","title":"New session","version":"1.18.33",
              "permission":[{"permission":"*","pattern":"*","action":"ask"}],"time":{"created":1795602062000,"updated":1795602077878}},
             "messages":[
              {"info":{"id":"msg_u","role":"user","time":{"created":1},"agent":"build","model":{"providerID":"fake","modelID":"fake-model"}},
               "parts":[{"id":"prt_1","type":"text","text":"Please write hi"},{"id":"prt_2","type":"text","text":"<file>...</file>","synthetic":true}]},
              {"info":{"id":"msg_a","role":"assistant","cost":0,"tokens":{"input":1,"output":2,"reasoning":0,"cache":{"read":0,"write":0}},"error":{"name":"X"}},
               "parts":[{"id":"prt_s","type":"step-start","snapshot":"fc3b"},
                {"id":"prt_3","type":"text","text":"I'll write the file.","time":{"start":1,"end":2}},
                {"id":"prt_4","type":"tool","tool":"bash","callID":"call_fake_1","state":{"status":"completed","input":{"command":"echo hi"},"output":"(no output)","metadata":{"exit":0},"title":"echo hi","time":{"start":1,"end":2}}},
                {"id":"prt_5","type":"tool","tool":"bash","callID":"call_fake_2","state":{"status":"error","input":{"command":"touch never.txt"},"error":"rejected","time":{"start":1,"end":2}}},
                {"id":"prt_6","type":"tool","tool":"read","callID":"call_3","state":{"status":"running","input":{}}},
                {"id":"prt_f","type":"step-finish","reason":"stop","cost":0.25,"tokens":{"total":3,"input":1,"output":2,"reasoning":0,"cache":{"read":0,"write":0}}}]}]}
            """;

        var read = JsonSerializer.Deserialize(export, OpenCodeJson.Default.SessionExport)!;

        Assert.Equal(("/repo", 1795602077878L), (read.Info!.Directory, read.Info.Time!.Updated));
        Assert.Equal(
            [
                "HistoryUserText { Text = Please write hi }", "HistoryAssistantText { Text = I'll write the file. }",
                """HistoryToolCall { ToolCallId = call_fake_1, Tool = bash, Kind = Execute, Title = echo hi, Input = {"command":"echo hi"} }""",
                "HistoryToolResult { ToolCallId = call_fake_1, Content = (no output), IsError = False }",
                """HistoryToolCall { ToolCallId = call_fake_2, Tool = bash, Kind = Execute, Title = touch never.txt, Input = {"command":"touch never.txt"} }""",
                "HistoryToolResult { ToolCallId = call_fake_2, Content = rejected, IsError = True }",
            ],
            OpenCodeConversations.Entries(read).Select(e => e.ToString()));
    }

    private static string Show(AgentEvent update) => update.ToString();

    private static JsonElement Json(string text) => JsonElement.Parse(text);

    private static EventProperties Properties(string properties) =>
        JsonSerializer.Deserialize(Event("permission.asked", properties), OpenCodeJson.Default.OpenCodeEvent)!.Properties!;

    private static string Event(string type, string properties) =>
        $$$"""{"id":"evt_21235a829001","type":"{{{type}}}","properties":{"sessionID":"ses_dedcad4b1ffe"{{{(properties.Length > 0 ? "," : "")}}}{{{properties}}}}}""";

    private static string Message(string id, string role) =>
        Event("message.updated", $$$""" "info":{"id":"{{{id}}}","role":"{{{role}}}","sessionID":"ses_dedcad4b1ffe","time":{"created":1795601805530},"agent":"build"} """);

    private static string Part(string part) => Event("message.part.updated", $$$""" "part":{{{part}}},"time":1795601840365 """);

    private static string TextPart(string id, string messageId, string text, bool ended) =>
        Part($$$"""{"id":"{{{id}}}","messageID":"{{{messageId}}}","sessionID":"ses_dedcad4b1ffe","type":"text","text":"{{{text}}}","time":{"start":1795601840205{{{(ended ? ",\"end\":1795601840364" : "")}}}}}""");

    private static string Delta(string partId, string messageId, string delta) =>
        Event("message.part.delta", $$$""" "messageID":"{{{messageId}}}","partID":"{{{partId}}}","field":"text","delta":"{{{delta}}}" """);

    private static string Tool(string callId, string tool, string state) =>
        Part($$$"""{"id":"prt_{{{callId}}}","messageID":"msg_a","sessionID":"ses_dedcad4b1ffe","type":"tool","tool":"{{{tool}}}","callID":"{{{callId}}}","state":{{{state}}}}""");

    private static string StepFinish(string tokens, string cost) =>
        Part($$$"""{"id":"prt_f","reason":"stop","snapshot":"fc3b","messageID":"msg_a","type":"step-finish","tokens":{{{tokens}}},"cost":{{{cost}}}}""");

    private static string Status(string type, string more = "") => Event("session.status", $$$""" "status":{"type":"{{{type}}}"{{{more}}}} """);

    private static string Idle() => Event("session.idle", "");

    private static string Error(string error) => Event("session.error", $$$""" "error":{{{error}}} """);
}
