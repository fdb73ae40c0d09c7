using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Codex;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// Codex's requests of the client (approvals, MCP elicitations, request_user_input; shapes of app-server-protocol v2) as the
/// questions the gatekeeper and the owner answer, and the owner's answers back in Codex's shape.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CodexRequestsTests
{
    public static TheoryData<string, string> Commands => new()
    {
        {
            """{"threadId":"t1","turnId":"u1","itemId":"c1","approvalId":null,"command":"/bin/bash -lc 'cd src && rm -rf build'","cwd":"/repo","reason":null,"commandActions":[{"type":"unknown","command":"rm -rf build"}],"startedAtMs":1}""",
            """c1 exec_command Execute "cd src && rm -rf build" cmd=cd src && rm -rf build {"command":"cd src && rm -rf build","cwd":"/repo","reason":null}"""
        },
        {
            """{"threadId":"t1","turnId":"u1","itemId":"c2","command":"cat x","cwd":"/repo","reason":"needs a file outside","kind":"command"}""",
            """c2 exec_command Execute "cat x" cmd=cat x {"command":"cat x","cwd":"/repo","reason":"needs a file outside"}"""
        },
        {
            """{"threadId":"t1","turnId":"u1","itemId":"c3","command":null,"cwd":"/repo","reason":null,"kind":"command","networkApprovalContext":{"host":"example.com","protocol":"https"}}""",
            """c3 exec_command Execute "network https example.com" cmd=network https example.com {"command":"","cwd":"/repo","reason":null,"networkApprovalContext":{"host":"example.com","protocol":"https"}}"""
        },
        {
            """{"threadId":"t1","turnId":"u1","itemId":"c4","command":"y","cwd":"/repo","kind":"writeStdin"}""",
            """c4 exec_command Execute "y" cmd=y {"command":"y","cwd":"/repo","reason":null,"kind":"writeStdin"}"""
        },
        {
            """{"threadId":"t1","turnId":"u1","itemId":"c5","cwd":"/repo"}""",
            """c5 exec_command Execute "a command Codex did not name" cmd= {"command":"","cwd":"/repo","reason":null}"""
        },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void CommandApproval_AsksAboutTheScriptThatRuns(string parameters, string expected)
    {
        var asked = CodexWire.Read<CommandExecutionRequestApprovalParams>(JsonElement.Parse(parameters))!;

        Assert.Equal(expected, Show(CodexRequests.Command(asked)));
    }

    public static TheoryData<string, string?, string> FileChanges => new()
    {
        {
            """{"threadId":"t1","turnId":"u1","itemId":"p1","reason":null,"grantRoot":null,"startedAtMs":1}""",
            """{"type":"fileChange","id":"p1","status":"inProgress","changes":[{"path":"/repo/a.cs","kind":{"type":"add"},"diff":"+<x>"},{"path":"/repo/b.cs","kind":{"type":"delete"},"diff":""},{"path":"/repo/c.cs","kind":{"type":"add"},"diff":""}]}""",
            """p1 apply_patch Edit "Edit /repo/a.cs and 2 more" path=/repo/a.cs {"changes":[{"path":"/repo/a.cs","kind":{"type":"add"},"diff":"+<x>"},{"path":"/repo/b.cs","kind":{"type":"delete"},"diff":""},{"path":"/repo/c.cs","kind":{"type":"add"},"diff":""}],"reason":null,"grantRoot":null}"""
        },
        {
            """{"threadId":"t1","turnId":"u1","itemId":"p2","reason":"one file"}""",
            """{"type":"fileChange","id":"p2","status":"inProgress","changes":[{"path":"/repo/a.cs","kind":{"type":"add"},"diff":"x"}]}""",
            """p2 apply_patch Edit "Edit /repo/a.cs" path=/repo/a.cs {"changes":[{"path":"/repo/a.cs","kind":{"type":"add"},"diff":"x"}],"reason":"one file","grantRoot":null}"""
        },
        {
            """{"threadId":"t1","turnId":"u1","itemId":"p3","reason":"needs more room","grantRoot":"/opt/data"}""",
            null,
            """p3 apply_patch Edit "Write under /opt/data" path=/opt/data {"changes":[],"reason":"needs more room","grantRoot":"/opt/data"}"""
        },
        { """{"threadId":"t1","turnId":"u1","itemId":"p4"}""", null, """p4 apply_patch Edit "Change files" path= {"changes":[],"reason":null,"grantRoot":null}""" },
    };

    [Theory]
    [MemberData(nameof(FileChanges))]
    public void FileChangeApproval_NamesTheFilesItsStartSaid(string parameters, string? startedItem, string expected)
    {
        var asked = CodexWire.Read<FileChangeRequestApprovalParams>(JsonElement.Parse(parameters))!;
        var started = startedItem is null ? null : Assert.IsType<FileChangeItem>(Item(startedItem));

        Assert.Equal(expected, Show(CodexRequests.FileChange(asked, started)));
    }

    [Fact]
    public void UserInput_IsAskedInTheGatesShape_WithSecretsMarked()
    {
        var asked = UserInput("""
            [{"id":"env","header":"Target","question":"Which environment?","isOther":true,"isSecret":false,
              "options":[{"label":"prod","description":"Production"},{"label":"stage","description":"Staging"}]},
             {"id":"token","header":"Token","question":"Your API token?","isOther":false,"isSecret":true,"options":null}]
            """);

        var request = CodexRequests.Questions(asked)!;

        Assert.Equal("""i1 request_user_input Question "Which environment? (and 1 more)" cmd= {"questions":[""" +
            """{"question":"Which environment?","header":"Target","options":[{"label":"prod","description":"Production"},{"label":"stage","description":"Staging"}],"multiSelect":false,"id":"env"},""" +
            """{"question":"Your API token?","header":"Token","options":[],"multiSelect":false,"id":"token","secret":true}]}""", Show(request));
    }

    [Theory]
    [InlineData("""[]""")]
    [InlineData("""[{"header":"A","question":"No id?"}]""")]
    [InlineData("""[{"id":"","header":"A","question":"Empty id?"}]""")]
    [InlineData("""[{"id":"x","header":"A","question":"One?"},{"id":"x","header":"B","question":"Two?"}]""")]
    public void UserInput_WithoutDistinctIds_IsNotAsked(string questions)
    {
        Assert.Null(CodexRequests.Questions(UserInput(questions)));
    }

    [Fact]
    public void UserInputAnswers_GoBackByQuestionId_ChosenLabelsThenOwnWords()
    {
        var asked = UserInput("""
            [{"id":"env","header":"Target","question":"Which environment?","options":[{"label":"prod","description":""}]},
             {"id":"why","header":"Why","question":"Why now?"},
             {"id":"skip","header":"Skip","question":"Left empty?"}]
            """);
        var owner = new PermissionDecision(true, Answers: [new OwnerAnswer(["prod"], "and stage"), new OwnerAnswer([], "release day"), new OwnerAnswer([], null)]);
        var claudeForm = new PermissionDecision(true, UpdatedInput: JsonElement.Parse("""{"answers":{"Why now?":"it is due"}}"""));

        Assert.Equal("""{"answers":{"env":{"answers":["prod","and stage"]},"why":{"answers":["release day"]}}}""",
            CodexWire.Node(CodexRequests.Answers(asked, owner)).ToJsonString());
        Assert.Equal("""{"answers":{"why":{"answers":["it is due"]}}}""", CodexWire.Node(CodexRequests.Answers(asked, claudeForm)).ToJsonString());
    }

    [Theory]
    [InlineData("""{"serverName":"docs","turnId":"u1","_meta":{"codex_approval_kind":"mcp_tool_call","tool_name":"search","tool_params":{"b":2,"a":1}},"mode":"form","message":"Allow?","requestedSchema":{"type":"object","properties":{}}}""",
        """m1 mcp__docs__search Mcp "docs/search" cmd= {"b":2,"a":1}""")]
    [InlineData("""{"serverName":"docs","_meta":{"codex_approval_kind":"mcp_tool_call","tool_name":"list"},"mode":"form","message":"Allow?","requestedSchema":{}}""",
        """m2 mcp__docs__list Mcp "docs/list" cmd= {}""")]
    [InlineData("""{"serverName":"docs","_meta":{"codex_approval_kind":"mcp_tool_call","tool_name":"search","tool_params":{"a":2}},"mode":"form","message":"Allow?"}""", null)]
    [InlineData("""{"serverName":"other","_meta":{"codex_approval_kind":"mcp_tool_call","tool_name":"search","tool_params":{"a":1,"b":2}},"mode":"form","message":"Allow?"}""", null)]
    [InlineData("""{"serverName":"do__cs","_meta":{"codex_approval_kind":"mcp_tool_call","tool_name":"search","tool_params":{"a":1,"b":2}},"mode":"form"}""", null)]
    [InlineData("""{"serverName":"docs_","_meta":{"codex_approval_kind":"mcp_tool_call","tool_name":"search","tool_params":{"a":1,"b":2}},"mode":"form"}""", null)]
    [InlineData("""{"serverName":"docs","_meta":{"tool_name":"search","tool_params":{"a":1,"b":2}},"mode":"form","message":"Fill in"}""", null)]
    [InlineData("""{"serverName":"docs","mode":"form","message":"Fill in","requestedSchema":{"type":"object","properties":{}}}""", null)]
    public void McpElicitation_IsAToolCallOnlyWhenItMatchesAStartedCall(string parameters, string? expected)
    {
        McpToolCallItem[] started =
        [
            Assert.IsType<McpToolCallItem>(Item("""{"type":"mcpToolCall","id":"m1","server":"docs","tool":"search","status":"inProgress","arguments":{"a":1,"b":2}}""")),
            Assert.IsType<McpToolCallItem>(Item("""{"type":"mcpToolCall","id":"m2","server":"docs","tool":"list","status":"inProgress"}""")),
        ];
        var asked = CodexWire.Read<McpServerElicitationRequestParams>(JsonElement.Parse(parameters))!;

        var request = CodexRequests.McpToolCall(asked, started);

        Assert.Equal(expected, request is null ? null : Show(request));
    }

    private static ToolRequestUserInputParams UserInput(string questions) =>
        CodexWire.Read<ToolRequestUserInputParams>(JsonElement.Parse($$"""{"threadId":"t1","turnId":"u1","itemId":"i1","isBlocking":true,"questions":{{questions}}}"""))!;

    private static ThreadItem? Item(string item) =>
        (CodexWire.Notification("item/started", JsonElement.Parse($$"""{"threadId":"t1","turnId":"u1","item":{{item}}}""")) as ItemStartedNotification)?.Item;

    private static string Show(PermissionRequest request) =>
        $"{request.ToolCallId} {request.Tool} {request.Kind} \"{request.Title}\" "
        + (request.Kind == ToolKind.Edit ? $"path={request.Path}" : $"cmd={request.Command}") + $" {request.Input.GetRawText()}";
}
