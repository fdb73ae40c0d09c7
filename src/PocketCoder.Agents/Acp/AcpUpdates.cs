using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// ACP's <c>session/update</c> notifications, permission requests and prompt answers as the <see cref="AgentEvent"/>s every
/// adapter produces. No I/O: <see cref="AcpSession"/> hands each message in and sends on what comes out, so the mapping is
/// table-tested (AcpUpdatesTests). It remembers what a stream of updates needs: the tool calls announced and finished (each
/// reported once, and completed in place as later updates or its permission request tell more of it), and the assistant text of the current stretch (flushed as one <see cref="AssistantMessage"/> before a
/// tool call and at turn end) and of the whole turn. ACP names no tool, only a <c>kind</c> and a <c>title</c>; rules need a
/// stable name, so it is taken from what the agent offers (<see cref="ToolName"/>).
/// </summary>
/// <param name="known">What the agent's own tools are by name (<see cref="AcpAgentDefinition.ToolKinds"/>), before their kind.</param>
internal sealed class AcpUpdates(IReadOnlyDictionary<string, ToolKind>? known = null)
{
    private readonly Lock _toolsLock = new();
    private readonly Dictionary<string, ToolState> _tools = new(StringComparer.Ordinal);
    private readonly HashSet<string> _finishedTools = new(StringComparer.Ordinal);

    // Calls announced with an empty input that no update or permission request has filled in yet.
    private readonly HashSet<string> _awaitingInput = new(StringComparer.Ordinal);

    // Touched only by the reader (updates, permission requests and the prompt's answer all arrive there).
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _turnText = new();

    // Qwen Code's counts of the turn's model answers so far: it gives them on message chunks, not in session/prompt's answer.
    private TurnUsage? _chunkUsage;

    /// <summary>The events one update makes (none for kinds that are not the owner's business, e.g. available commands).</summary>
    public List<AgentEvent> Map(SessionUpdate update)
    {
        var events = new List<AgentEvent>();
        switch (update)
        {
            case AgentMessageChunk chunk:
                if (chunk.Meta?.Usage is { } counted)
                {
                    _chunkUsage = _chunkUsage is { } sum
                        ? new TurnUsage(sum.InputTokens + counted.InputTokens, sum.OutputTokens + counted.OutputTokens,
                            sum.CachedReadTokens + counted.CachedReadTokens, sum.CachedWriteTokens + counted.CachedWriteTokens)
                        : counted;
                }

                if (chunk is { Content: { Type: "text", Text: { Length: > 0 } said }, Meta.ClaudeCode.ParentToolUseId: { } speaker })
                {
                    // A subagent's words (claude-agent-acp forwards each whole): under its call, never the owner's reply.
                    events.Add(new AssistantMessage(said, speaker));
                }
                else if (chunk.Content is { Type: "text", Text: { Length: > 0 } text })
                {
                    _text.Append(text);
                    _turnText.Append(text);
                    events.Add(new MessageDelta(text));
                }

                break;
            case AgentThoughtChunk { Content: { Type: "text", Text: { Length: > 0 } thought } } thinking:
                events.Add(new Thinking(thought, thinking.Meta?.ClaudeCode?.ParentToolUseId));
                break;
            // A tool_call announces a call; so does an update that names one (some agents announce so), and one that tells its input.
            case ToolCallUpdate call:
                if (call is ToolCallStart || call.Title is not null || call.Kind is not null || GivenInput(call) is not null)
                {
                    Announce(call, events);
                }

                if (call.Status is "completed" or "failed" && call.ToolCallId is { } id)
                {
                    events.AddRange(Finish(id, Output(call), call.Status == "failed"));
                }

                break;
            case Plan { Entries: { } entries }:
                events.Add(new PlanUpdate([.. entries.Select(e => new PlanEntry(e?.Content ?? "", e?.Status ?? "pending"))]));
                break;
            case UsageUpdate usage:
                // Context usage (tokens in the window) and, where the agent knows it, the session's cost so far.
                events.Add(new UsageReport(usage.Used, 0, 0, 0, usage.Cost is { Currency: "USD" or "usd", Amount: { } amount } ? amount : null, CostIsRunningTotal: true));
                break;
        }

        return events;
    }

    /// <summary>
    /// The request to put to the gatekeeper for a permission request's call, announced first where it was not yet (Gemini
    /// CLI asks before it announces) so the phone shows what is being asked about.
    /// </summary>
    public PermissionRequest Ask(ToolCallUpdate toolCall, List<AgentEvent> events) => PermissionFor(toolCall, Announce(toolCall, events), known);

    /// <summary>
    /// A call's result, the first time it is reported (agents report a refused call differently, or not at all); before it, that
    /// the call never got its input, when it did not.
    /// </summary>
    public IReadOnlyList<AgentEvent> Finish(string toolCallId, string output, bool isError)
    {
        lock (_toolsLock)
        {
            if (!_finishedTools.Add(toolCallId))
            {
                return [];
            }

            var result = new ToolResult(toolCallId, output, isError);
            return NeverGotItsInput(toolCallId) is { } missing ? [missing, result] : [result];
        }
    }

    /// <summary>The end of a turn: session/prompt's answer, or its error. The tokens are the protocol's <c>usage</c>, else Gemini CLI's, else the sum of Qwen Code's per answer.</summary>
    public List<AgentEvent> EndTurn(PromptResponse? result, string? error, string agentName)
    {
        var events = new List<AgentEvent>();
        Flush(events);
        var turnText = _turnText.Length > 0 ? _turnText.ToString() : null;
        _turnText.Clear();
        var chunkUsage = _chunkUsage;
        _chunkUsage = null;
        lock (_toolsLock)
        {
            // Calls the turn leaves open (cancelled, or never reported as done) that never got their input.
            events.AddRange(_awaitingInput.ToList().Select(NeverGotItsInput).OfType<ToolCallUpdated>());
        }

        if (error is not null)
        {
            return [.. events, new AgentError($"{agentName}: {error}"), new TurnCompleted("error", true, error)];
        }

        events.AddRange(result switch
        {
            { Usage: { } usage } => [new UsageReport(usage.InputTokens, usage.OutputTokens, usage.CachedReadTokens, usage.CachedWriteTokens, null)],
            { Meta.Quota.TokenCount: { } count } => [new UsageReport(count.InputTokens, count.OutputTokens, 0, 0, null)],
            _ when chunkUsage is { } usage => [new UsageReport(usage.InputTokens, usage.OutputTokens, usage.CachedReadTokens, usage.CachedWriteTokens, null)],
            _ => [],
        });
        var stopReason = result?.StopReason ?? "end_turn";
        events.Add(new TurnCompleted(stopReason, stopReason == "refusal", turnText));
        return events;
    }

    /// <summary>
    /// What the owner is asked about: the permission request's own view of the call wherever it has one. An agent may
    /// announce a call while its input is still streaming (claude-agent-acp: title "Terminal", rawInput {}) and only the
    /// permission request carries the command that will run; the announced call fills in what the request leaves out.
    /// </summary>
    internal static PermissionRequest PermissionFor(ToolCallUpdate toolCall, ToolState announced, IReadOnlyDictionary<string, ToolKind>? known = null)
    {
        var kind = toolCall.Kind is null ? announced.Kind : Kind(toolCall.Kind, announced.Name, known);
        var input = RawInput(toolCall) is { } raw && raw.EnumerateObject().Any() ? raw : announced.Input;
        return new PermissionRequest(announced.Id, announced.Name, kind, toolCall.Title ?? announced.Title, input,
            Command(RawInput(toolCall), toolCall.Title, kind) ?? announced.Command, Path(toolCall) ?? announced.Path, null,
            ParentToolCallId: ParentOf(toolCall) ?? announced.ParentToolCallId);
    }

    /// <summary>
    /// The option that answers the gatekeeper's decision, picked by kind (ids differ per agent): always a one-time one, as the
    /// gatekeeper remembers grants itself; allow_always would make the agent stop asking, and later calls bypass the gatekeeper.
    /// </summary>
    internal static string? Option(IReadOnlyList<PermissionOption?> options, bool allow) =>
        allow ? Offered(options, "allow_once") : Offered(options, "reject_once") ?? Offered(options, "reject_always");

    /// <param name="name">An MCP tool (<c>mcp__SERVER__TOOL</c>, as claude-agent-acp names one, kind "other") is of kind
    /// <see cref="ToolKind.Mcp"/>, so that <c>mcp:SERVER/TOOL</c> rules match it as they do for Claude Code and Codex.</param>
    internal static ToolKind Kind(string? kind, string name, IReadOnlyDictionary<string, ToolKind>? known) =>
        known?.TryGetValue(name, out var named) == true ? named : kind switch
    {
        "read" or "search" => ToolKind.Read,
        "edit" or "delete" or "move" => ToolKind.Edit,
        "execute" => ToolKind.Execute,
        "fetch" => ToolKind.Fetch,
        _ when name.StartsWith("mcp__", StringComparison.Ordinal) => ToolKind.Mcp,
        _ => ToolKind.Other,
    };

    /// <summary>
    /// Reports a tool call the first time it is seen (after the text before it). A later sighting that tells more of it (its input,
    /// a title naming what it does) is reported as an update of the same call; the state returned is the call as now known.
    /// </summary>
    private ToolState Announce(ToolCallUpdate toolCall, List<AgentEvent> events)
    {
        Flush(events);
        var id = toolCall.ToolCallId ?? $"acp-{Guid.NewGuid():N}";
        lock (_toolsLock)
        {
            if (_tools.TryGetValue(id, out var seen))
            {
                if (Learn(seen, toolCall) is not { } learned)
                {
                    return seen;
                }

                _tools[id] = learned;
                _awaitingInput.Remove(id);
                events.Add(new ToolCallUpdated(id, learned.Title, learned.Input));
                return learned;
            }

            var name = ToolName(toolCall, id);
            var kind = Kind(toolCall.Kind, name, known);
            var raw = GivenInput(toolCall);
            // Its input as the agent gave it, else what the call shows; an empty one is still to come (or never will).
            var input = raw ?? RawInput(toolCall) ?? JsonSerializer.SerializeToElement(
                new ToolCallUpdate(Title: toolCall.Title, Kind: toolCall.Kind, Locations: toolCall.Locations, Content: toolCall.Content), AcpJson.Default.ToolCallUpdate);
            var state = new ToolState(id, name, kind, toolCall.Title ?? name, input, Command(raw, toolCall.Title, kind), Path(toolCall), raw is not null,
                ParentOf(toolCall));
            _tools[id] = state;
            if (raw is null && RawInput(toolCall) is not null)
            {
                _awaitingInput.Add(id);
            }

            events.Add(new ToolCall(state.Id, state.Name, state.Kind, state.Title, state.Input, state.ParentToolCallId));
            return state;
        }
    }

    /// <summary>
    /// The call as a later sighting completes it, or null when that tells nothing new: whichever knows more wins, field by field.
    /// The agent's own input replaces what was shown for it; its fields are added to an input already given (a later one may
    /// carry more of it: the permission request's <c>commands</c> beside <c>command</c>); a new title names what it does.
    /// </summary>
    private static ToolState? Learn(ToolState seen, ToolCallUpdate toolCall)
    {
        var input = seen.Input;
        if (GivenInput(toolCall) is { } given)
        {
            input = seen.InputGiven ? Merged(seen.Input, given) : given;
        }

        var title = toolCall.Title is { Length: > 0 } named ? named : seen.Title;
        if (title == seen.Title && JsonElement.DeepEquals(input, seen.Input))
        {
            return null;
        }

        var inputGiven = seen.InputGiven || GivenInput(toolCall) is not null;
        return seen with
        {
            Title = title,
            Input = input,
            InputGiven = inputGiven,
            Command = Command(inputGiven ? input : null, title, seen.Kind) ?? seen.Command,
            Path = Path(toolCall) ?? seen.Path,
        };
    }

    /// <summary>The update that says a call ended without the agent ever saying its input (once; null for any other call).</summary>
    private ToolCallUpdated? NeverGotItsInput(string toolCallId) =>
        _awaitingInput.Remove(toolCallId) && _tools.TryGetValue(toolCallId, out var state)
            ? new ToolCallUpdated(toolCallId, state.Title, state.Input, InputMissing: true)
            : null;

    private static JsonElement Merged(JsonElement known, JsonElement more)
    {
        var merged = JsonNode.Parse(known.GetRawText())!.AsObject();
        foreach (var property in more.EnumerateObject())
        {
            merged[property.Name] = JsonNode.Parse(property.Value.GetRawText());
        }

        return JsonElement.Parse(merged.ToJsonString());
    }

    private void Flush(List<AgentEvent> events)
    {
        if (_text.Length > 0)
        {
            events.Add(new AssistantMessage(_text.ToString()));
            _text.Clear();
        }
    }

    private static string? Offered(IReadOnlyList<PermissionOption?> options, string kind) =>
        options.FirstOrDefault(o => o?.Kind == kind && o.OptionId is not null)?.OptionId;

    /// <summary>
    /// The tool's name: a <c>toolName</c> in <c>_meta</c> (claude-agent-acp puts it in <c>_meta.claudeCode</c>), else the part of
    /// the id before <c>__</c> (Gemini CLI's ids are <c>run_shell_command__run_shell_command_…</c>), else the kind.
    /// </summary>
    private static string ToolName(ToolCallUpdate toolCall, string toolCallId) =>
        toolCall.Meta is { } meta && FindToolName(meta, depth: 0) is { Length: > 0 } named ? named
        : toolCallId.IndexOf("__", StringComparison.Ordinal) is > 0 and var separator ? toolCallId[..separator]
        : toolCall.Kind ?? "other";

    // _meta is every agent's own: searched, not read by a schema.
    private static string? FindToolName(JsonElement meta, int depth) =>
        meta.ValueKind != JsonValueKind.Object || depth > 2 ? null
        : Text(meta, "toolName") ?? meta.EnumerateObject().Select(property => FindToolName(property.Value, depth + 1)).FirstOrDefault(nested => nested is not null);

    /// <summary>The command of an execute call: its input's <c>command</c> (a string or words), else the title (Gemini titles a shell call with its command).</summary>
    private static string? Command(JsonElement? input, string? title, ToolKind kind) =>
        kind != ToolKind.Execute ? null
        : input is { ValueKind: JsonValueKind.Object } raw && raw.TryGetProperty("command", out var command) ? command.ValueKind switch
        {
            JsonValueKind.String => command.GetString(),
            JsonValueKind.Array => string.Join(' ', command.EnumerateArray().Select(a => a.ValueKind == JsonValueKind.String ? a.GetString() : a.GetRawText())),
            _ => title,
        }
        : title;

    /// <summary>The file the call is about: its first location, else a path in its input.</summary>
    private static string? Path(ToolCallUpdate toolCall) =>
        toolCall.Locations?.Select(location => location?.Path).FirstOrDefault(path => path is { Length: > 0 })
        ?? (toolCall.RawInput is { } raw ? Text(raw, "file_path") ?? Text(raw, "path") ?? Text(raw, "abs_path") : null);

    /// <summary>What a finished call produced, as text: its content blocks, diffs named by path, else its raw output.</summary>
    private static string Output(ToolCallUpdate update)
    {
        var text = string.Join('\n', (update.Content ?? []).Select(item => item?.Type switch
        {
            "content" => item.Content?.Text,
            "diff" => $"(edited {item.Path})",
            _ => null,
        }).Where(piece => piece is { Length: > 0 }));
        return text.Length > 0 || update.RawOutput is not { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } raw ? text
            : raw.ValueKind == JsonValueKind.String ? raw.GetString() ?? "" : raw.GetRawText();
    }

    // The tool's own input: the agent's terms, no schema.
    private static JsonElement? RawInput(ToolCallUpdate toolCall) => toolCall.RawInput is { ValueKind: JsonValueKind.Object } raw ? raw : null;

    /// <summary>The tool's own input when it says anything: an empty one is announced before the model has finished the call.</summary>
    private static JsonElement? GivenInput(ToolCallUpdate toolCall) => RawInput(toolCall) is { } raw && raw.EnumerateObject().Any() ? raw : null;

    /// <summary>The call whose subagent made this one: claude-agent-acp's <c>_meta.claudeCode.parentToolUseId</c>.</summary>
    private static string? ParentOf(ToolCallUpdate toolCall) =>
        toolCall.Meta is { ValueKind: JsonValueKind.Object } meta && meta.TryGetProperty("claudeCode", out var claude) && claude.ValueKind == JsonValueKind.Object
            ? Text(claude, "parentToolUseId") : null;

    /// <param name="InputGiven">The input is the agent's own, not what the call shows (its title, locations, content).</param>
    /// <param name="ParentToolCallId">Made by a subagent: the call that started it.</param>
    internal sealed record ToolState(string Id, string Name, ToolKind Kind, string Title, JsonElement Input, string? Command, string? Path, bool InputGiven,
        string? ParentToolCallId = null);
}
