using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// What a session remembers of its share of the event stream between events: each message's role, each part's type,
/// the calls already shown and finished, and the turn under way. Not thread-safe: the session holds its lock around it.
/// </summary>
internal sealed class OpenCodeStream
{
    public readonly Dictionary<string, string> MessageRoles = new(StringComparer.Ordinal);
    public readonly Dictionary<string, string> PartTypes = new(StringComparer.Ordinal);
    public readonly HashSet<string> Announced = new(StringComparer.Ordinal);

    /// <summary>Parts already reported whole (and <c>call:ID</c> for calls whose result was), so a repeated update adds nothing.</summary>
    public readonly HashSet<string> Finished = new(StringComparer.Ordinal);

    /// <summary>This turn's calls' arguments, for a permission that names its call but not its message.</summary>
    public readonly Dictionary<string, JsonElement> CallInputs = new(StringComparer.Ordinal);

    public bool TurnActive, SawBusy, Aborted, ReportedRetry;
    public string? LastText;
    public (long Input, long Output, long CacheRead, long CacheWrite, decimal Cost) Usage;

    /// <summary>
    /// A turn ends at the first session.idle after OpenCode reported it busy: an abort is followed by more than one idle,
    /// and a late one must not end the next turn before it began.
    /// </summary>
    public void BeginTurn() => (Aborted, TurnActive, SawBusy, ReportedRetry) = (false, true, false, false);

    public bool IsAssistant(string? messageId) => messageId is not null && MessageRoles.GetValueOrDefault(messageId) == "assistant";
}

/// <summary>
/// OpenCode's events as <see cref="AgentEvent"/>s: functions of an event and the stream's memory (which they update),
/// with no I/O, so each mapping is tested from the events' own shapes (OpenCodeUpdatesTests). Asking the owner and
/// answering OpenCode stay with the session.
/// </summary>
internal static class OpenCodeUpdates
{
    private static readonly JsonElement NoInput = JsonElement.Parse("{}");

    /// <summary>The agent events one stream event makes (none for the events the session handles itself or ignores).</summary>
    /// <param name="mcpServers">The names of the MCP servers PocketCoder gave OpenCode.</param>
    public static IReadOnlyList<AgentEvent> Map(string? type, EventProperties properties, OpenCodeStream stream, IEnumerable<string> mcpServers) =>
        [.. type == "message.part.updated" && properties.Part is { } part ? OnPart(part, stream, mcpServers) : Events(type, properties, stream)];

    private static IEnumerable<AgentEvent> Events(string? type, EventProperties p, OpenCodeStream stream)
    {
        switch (type)
        {
            case "message.updated" when p.Info is { Id: { } messageId } info:
                stream.MessageRoles[messageId] = info.Role ?? "";
                break;
            case "message.part.delta" when p is { Field: "text", Delta: { Length: > 0 } delta, PartID: { } partId }
                                           && stream.PartTypes.GetValueOrDefault(partId) == "text" && stream.IsAssistant(p.MessageID):
                yield return new MessageDelta(delta);
                break;
            case "session.error" when p.Error is { } error:
                // Not the abort the owner asked for. An error is named, with its words in data.message, unless it is some other shape.
                var known = OpenCodeJson.Default.Read<SessionError>(error);
                if (known?.Name != "MessageAbortedError" && !stream.Aborted)
                {
                    yield return new AgentError(known?.Data?.Message ?? known?.Name ?? error.GetRawText());
                }

                break;
            case "session.status" when p.Status is { Type: "busy" }:
                stream.SawBusy = stream.TurnActive;
                break;
            case "session.status" when p.Status is { Type: "retry" } retry:
                // OpenCode retries a model it cannot reach forever, with growing pauses, saying nothing else: tell the
                // owner once per turn rather than leave "Working..." on the screen.
                var first = stream.TurnActive && !stream.ReportedRetry;
                stream.ReportedRetry = true;
                if (first)
                {
                    yield return new AgentError($"OpenCode cannot reach its model: {retry.Message ?? "no answer"} It keeps retrying; cancel the turn to stop it.");
                }

                break;
            case "session.idle" when stream is { TurnActive: true, SawBusy: true }:
                var (used, aborted, last) = (stream.Usage, stream.Aborted, stream.LastText);
                (stream.TurnActive, stream.SawBusy, stream.Usage, stream.Aborted, stream.LastText) = (false, false, default, false, null);
                stream.CallInputs.Clear();
                if (used.Input + used.Output + used.CacheRead + used.CacheWrite > 0)
                {
                    yield return new UsageReport(used.Input, used.Output, used.CacheRead, used.CacheWrite, used.Cost);
                }

                yield return new TurnCompleted(aborted ? "cancelled" : "completed", false, aborted ? null : last);
                break;
        }
    }

    private static IEnumerable<AgentEvent> OnPart(Part part, OpenCodeStream stream, IEnumerable<string> mcpServers)
    {
        var partId = part.Id ?? "";
        stream.PartTypes[partId] = part.Type ?? "";
        var ended = part.Time?.End is not null;
        switch (part.Type)
        {
            case "text" when ended && stream.IsAssistant(part.MessageID) && part.Text is { Length: > 0 } text && stream.Finished.Add(partId):
                stream.LastText = text;
                yield return new AssistantMessage(text);
                break;
            case "reasoning" when ended && part.Text is { Length: > 0 } thinking && stream.Finished.Add(partId):
                yield return new Thinking(thinking);
                break;
            // "pending" carries no input yet; from "running" on it does.
            case "tool" when part.State is { Status: { } status and not "pending" } state:
                var callId = part.CallID ?? part.Id ?? "";
                if (stream.Announced.Add(callId))
                {
                    var tool = part.Tool ?? "unknown";
                    var input = state.Input is { ValueKind: JsonValueKind.Object } given ? given : NoInput;
                    stream.CallInputs[callId] = input;
                    var (name, kind, title) = McpTool(tool, mcpServers) is { } mcp ? (mcp.Name, ToolKind.Mcp, mcp.Title) : (tool, Describe(tool, input).Kind, Describe(tool, input).Title);
                    yield return new ToolCall(callId, name, kind, title, input);
                }

                if (status is "completed" or "error" && stream.Finished.Add("call:" + callId))
                {
                    yield return new ToolResult(callId, (status == "completed" ? state.Output : state.Error) ?? "", status == "error");
                }

                break;
            case "step-finish" when part.Tokens is { } tokens:
                stream.Usage.Input += tokens.Input;
                stream.Usage.Output += tokens.Output;
                stream.Usage.CacheRead += tokens.Cache?.Read ?? 0;
                stream.Usage.CacheWrite += tokens.Cache?.Write ?? 0;
                stream.Usage.Cost += part.Cost ?? 0;
                break;
        }
    }

    /// <summary>
    /// A subagent's events, from its child session's share of the stream (its own memory in <paramref name="child"/>): its calls,
    /// words and thinking under <paramref name="parentCallId"/>, the <c>task</c> call that started it. Its partial text is not
    /// streamed (the phone streams the reply to the owner), and its errors, idles and ends are not the turn's: the task call's
    /// result says how it went. Its tokens are the turn's (added to <paramref name="parent"/>'s usage), as the owner pays them.
    /// </summary>
    public static IReadOnlyList<AgentEvent> MapSubagent(string? type, EventProperties properties, OpenCodeStream child, OpenCodeStream parent,
        string? parentCallId, IEnumerable<string> mcpServers)
    {
        var events = Map(type, properties, child, mcpServers);
        parent.Usage.Input += child.Usage.Input;
        parent.Usage.Output += child.Usage.Output;
        parent.Usage.CacheRead += child.Usage.CacheRead;
        parent.Usage.CacheWrite += child.Usage.CacheWrite;
        parent.Usage.Cost += child.Usage.Cost;
        child.Usage = default;
        return [.. events.Select(e => e switch
        {
            ToolCall call => call with { ParentToolCallId = parentCallId },
            AssistantMessage message => message with { ParentToolCallId = parentCallId },
            Thinking thinking => thinking with { ParentToolCallId = parentCallId },
            ToolResult => e,
            _ => null,
        }).OfType<AgentEvent>()];
    }

    /// <summary>
    /// The rules of a subagent (its merged rules, from <c>GET /agent</c>) that would let a call run unasked in its child session
    /// before PocketCoder's gate rules reach it: every <c>allow</c> after the last "ask about everything" (the server's
    /// permission config), but the to-do list's and <c>external_directory</c>'s (which only waives the extra question about
    /// a path outside the project; the call itself still asks). OpenCode's built-in subagents have none (the config's rules
    /// come after their own); an agent the owner set up with rules of its own (<c>permission: bash: allow</c>) has them after.
    /// </summary>
    public static IReadOnlyList<PermissionRule> UnguardedAllows(IReadOnlyList<PermissionRule> rules)
    {
        var guard = rules.ToList().FindLastIndex(r => r is { Permission: "*", Pattern: "*", Action: "ask" });
        return [.. rules.Skip(guard + 1).Where(r => r.Action == "allow" && r.Permission is not ("todowrite" or "todoread" or "external_directory"))];
    }

    /// <summary>Why a subagent is refused: said to the model as the <c>task</c> call's rejection, so it can take another.</summary>
    public static string RefusedSubagent(string name, IReadOnlyList<PermissionRule> unguarded) =>
        $"PocketCoder does not start the subagent \"{name}\": its own rules let it run {string.Join(", ", unguarded.Select(r => r.Pattern == "*" ? r.Permission : $"{r.Permission} {r.Pattern}").Distinct())} " +
        "without asking the owner. Use the \"general\" subagent, or do the work yourself.";

    /// <summary>
    /// A <c>task</c> call's part once OpenCode made its subagent's child session (<c>state.metadata.sessionId</c>): the call, the
    /// child session (the task's id, what aborting it takes) and the task's state; null for any other part.
    /// </summary>
    public static (string CallId, AgentTaskUpdate Update)? Subagent(Part part)
    {
        if (part is not { Type: "tool", Tool: "task", State: { Status: { } status, Metadata: { ValueKind: JsonValueKind.Object } metadata } state }
            || JsonFields.Text(metadata, "sessionId") is not { Length: > 0 } childId)
        {
            return null;
        }

        var callId = part.CallID ?? part.Id ?? "";
        var description = state.Title ?? (state.Input is { ValueKind: JsonValueKind.Object } input ? JsonFields.Text(input, "description") : null);
        var (taskStatus, summary) = status switch
        {
            "completed" => (AgentTaskStatuses.Completed, null),
            "error" => (state.Error is { } error && error.Contains("cancel", StringComparison.OrdinalIgnoreCase) ? AgentTaskStatuses.Stopped : AgentTaskStatuses.Failed,
                state.Error),
            _ => (AgentTaskStatuses.Running, (string?)null),
        };
        return (callId, new AgentTaskUpdate(callId, childId, "subagent", taskStatus, description, summary));
    }

    /// <summary>
    /// Whether a permission is told only by its call's own tool part (<see cref="Permission"/>'s <c>call</c>): an MCP
    /// resource read, or an MCP server's tool.
    /// </summary>
    public static bool NeedsCall(EventProperties asked, IEnumerable<string> mcpServers) =>
        IsMcpRead(asked.Permission, asked.Patterns ?? []) || McpTool(asked.Permission ?? "unknown", mcpServers) is not null;

    /// <summary>A <c>permission.asked</c> as the question put to the gatekeeper; <paramref name="call"/>: its call's tool and arguments, where known.</summary>
    public static PermissionRequest Permission(EventProperties asked, string requestId, (string? Tool, JsonElement? Input) call, IEnumerable<string> mcpServers)
    {
        var permission = asked.Permission ?? "unknown";
        var patterns = asked.Patterns ?? [];
        var metadata = asked.Metadata?.DeepClone() as JsonObject ?? [];
        metadata["patterns"] = new JsonArray([.. patterns.Select(x => JsonValue.Create(x))]);
        var input = JsonElement.Parse(metadata.ToJsonString());
        var callId = asked.Tool?.CallID ?? requestId;
        if (IsMcpRead(permission, patterns))
        {
            // OpenCode's MCP resource tools ask "read" of "mcp:SERVER:URI". Only the call's own tool says it is one: a
            // shell command or a file can be named "mcp:…" too, and must never pass for an MCP call (that an mcp: rule
            // allows). Whatever it is, it is never taken for a read inside the project, which the policy allows unasked.
            return McpResource(call.Tool, patterns, metadata) is { } r
                ? new PermissionRequest(callId, r.Name, r.Kind, r.Title, r.Input, null, null, null)
                : new PermissionRequest(callId, permission, ToolKind.Other, $"read {string.Join(", ", patterns)}", input, null, null, null);
        }

        var (kind, title, command, path) = Describe(permission, input);
        // A task's pattern is the subagent's name, never a path.
        if (kind != ToolKind.Execute && permission != "task")
        {
            path ??= patterns.FirstOrDefault();
        }

        // An MCP tool's permission names only the tool (SERVER_TOOL, patterns ["*"]): the owner is shown the call's own
        // arguments, and the name rules use (mcp__SERVER__TOOL), as for every other agent.
        return McpTool(permission, mcpServers) is { } mcp
            ? new PermissionRequest(callId, mcp.Name, ToolKind.Mcp, mcp.Title, call.Input ?? input, null, null, null)
            : new PermissionRequest(callId, permission, kind, title, input, command, path, null);
    }

    private static bool IsMcpRead(string? permission, IReadOnlyList<string> patterns) =>
        permission == "read" && patterns.Count > 0 && patterns.All(p => p.StartsWith("mcp:", StringComparison.Ordinal));

    /// <summary>
    /// OpenCode's question tool (<c>question.asked {id, questions [{question, header, options [{label, description}],
    /// multiple, custom}]}</c>) as the question card, and how many questions it holds; null without an id or questions.
    /// </summary>
    public static (PermissionRequest Request, int Count)? Question(EventProperties asked)
    {
        if (asked is not { Id: { } requestId, Questions: { } questions })
        {
            return null;
        }

        return (AgentQuestions.Request(asked.Tool?.CallID ?? requestId, "question", new QuestionCards([.. questions.Select(q => new QuestionCard(q.Question,
            q.Header, [.. (q.Options ?? []).Where(o => o.Label is not null)], q.Multiple == true))])), questions.Count);
    }

    /// <summary>The owner's answers (each chosen label, then their own words), or null for a rejection: "the user dismissed this question".</summary>
    public static QuestionReply? Answers(PermissionDecision decision, int questions) =>
        decision is { Allow: true, Answers: { } answers } && answers.Count == questions
            ? new QuestionReply([.. answers.Select(a => (IReadOnlyList<string>)[.. a.Selected, .. a.Other is { } own ? [own] : Array.Empty<string>()])])
            : null;

    /// <summary>OpenCode's tools that read MCP servers' resources (each asks "read" of <c>mcp:SERVER:URI</c> or <c>mcp:SERVER:*</c>).</summary>
    private static readonly HashSet<string> ResourceTools = new(StringComparer.Ordinal)
    {
        "read_mcp_resource", "list_mcp_resources", "list_mcp_resource_templates",
    };

    /// <summary>
    /// The permission of one of OpenCode's MCP resource tools (<paramref name="tool"/>, the call's own), or null for any
    /// other tool. On one server: <c>mcp__SERVER__TOOL</c> (so <c>mcp:SERVER/read_mcp_resource</c> rules it). On several (a
    /// list of every server's): the tool by its own name, kind other, so no one server's rule covers the others'.
    /// </summary>
    internal static (string Name, ToolKind Kind, string Title, JsonElement Input)? McpResource(string? tool, IReadOnlyList<string> patterns, JsonObject metadata)
    {
        if (tool is null || !ResourceTools.Contains(tool) || patterns.Count == 0 || !patterns.All(p => p.StartsWith("mcp:", StringComparison.Ordinal)))
        {
            return null;
        }

        var servers = patterns.Select(p => p[4..].Split(':', 2)[0]).Distinct(StringComparer.Ordinal).ToList();
        var uri = metadata["uri"] is JsonValue given && given.TryGetValue<string>(out var fromUri) ? fromUri : null;
        var input = JsonSerializer.SerializeToElement(new ResourceInput(servers, uri, patterns), OpenCodeJson.Default.ResourceInput);
        return servers is [var server] && Mcp.McpServer.IsName(server)
            ? ($"mcp__{server}__{tool}", ToolKind.Mcp, uri is null ? $"{server}/{tool}" : $"{server}/{tool} {uri}", input)
            : (tool, ToolKind.Other, $"{tool}: {string.Join(", ", servers)}", input);
    }

    /// <summary>
    /// OpenCode's own tools and permissions: never an MCP server's, whatever a server is called (one named "external" must
    /// not turn the question about a path outside the project, <c>external_directory</c>, into an MCP call its rules allow).
    /// </summary>
    private static readonly HashSet<string> BuiltIn = new(StringComparer.Ordinal)
    {
        "bash", "edit", "write", "patch", "apply_patch", "multiedit", "read", "glob", "grep", "list", "webfetch", "websearch", "codesearch",
        "external_directory", "doom_loop", "task", "todowrite", "todoread", "question", "skill", "lsp", "plan_enter", "plan_exit", "batch", "invalid",
        "workflow_tool_approval", "read_mcp_resource", "list_mcp_resources", "list_mcp_resource_templates",
    };

    /// <summary>
    /// OpenCode names a tool of an MCP server <c>SERVER_TOOL</c>. For the servers PocketCoder gave it (their names known,
    /// the longest that fits winning), that is <c>mcp__SERVER__TOOL</c>, titled <c>SERVER/TOOL</c>; null for any other tool.
    /// </summary>
    internal static (string Name, string Title)? McpTool(string tool, IEnumerable<string> servers) => BuiltIn.Contains(tool) ? null :
        servers.Where(server => tool.Length > server.Length + 1 && tool.StartsWith(server + "_", StringComparison.Ordinal))
            .OrderByDescending(server => server.Length).Select(server => ((string Name, string Title)?)($"mcp__{server}__{tool[(server.Length + 1)..]}",
                $"{server}/{tool[(server.Length + 1)..]}")).FirstOrDefault();

    /// <summary>OpenCode's tool (and permission) names: what kind of action each is, and what to show.</summary>
    internal static (ToolKind Kind, string Title, string? Command, string? Path) Describe(string tool, JsonElement input)
    {
        var file = JsonFields.Text(input, "filePath") ?? JsonFields.Text(input, "filepath") ?? JsonFields.Text(input, "path");
        var command = JsonFields.Text(input, "command");
        return tool switch
        {
            "bash" => (ToolKind.Execute, command ?? "Run a command", command, null),
            "edit" or "write" or "patch" or "apply_patch" or "multiedit" => (ToolKind.Edit, file is null ? "Edit files" : $"Edit {file}", null, file),
            "read" or "glob" or "grep" or "list" => (ToolKind.Read, file is null ? tool : $"Read {file}", null, file),
            "webfetch" or "websearch" => (ToolKind.Fetch, JsonFields.Text(input, "url") ?? tool, null, null),
            "external_directory" => (ToolKind.Other, "Use a path outside the project", null, file),
            "task" => (ToolKind.Other, $"Subagent: {JsonFields.Text(input, "description") ?? JsonFields.Text(input, "subagent_type") ?? "a task"}", null, null),
            _ => (ToolKind.Other, tool, null, null),
        };
    }
}
