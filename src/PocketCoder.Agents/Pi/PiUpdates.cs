using System.Text;
using System.Text.Json;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Pi;

/// <summary>
/// pi's RPC events as the <see cref="AgentEvent"/>s every adapter produces, and its gate's dialogs as permission requests. No
/// I/O: <see cref="PiSession"/> hands each line in and sends on what comes out (PiUpdatesTests). It remembers what a run of a
/// prompt needs: the tokens and cost of its model answers (reported once, at its end), why its last answer stopped, and whether
/// a failed model request was already said.
/// </summary>
internal sealed class PiUpdates
{
    private readonly StringBuilder _turnText = new();
    private long _input;
    private long _output;
    private long _cacheRead;
    private long _cacheWrite;
    private decimal _cost;
    private bool _counted;
    private string? _stopReason;
    private string? _error;
    private bool _retrySaid;

    public List<AgentEvent> Map(PiLine line)
    {
        List<AgentEvent> events = [];
        switch (line)
        {
            case PiMessageUpdate { AssistantMessageEvent: { Type: "text_delta", Delta: { Length: > 0 } delta } }:
                events.Add(new MessageDelta(delta));
                break;
            case PiMessageUpdate { AssistantMessageEvent: { Type: "thinking_end", Content: { Length: > 0 } thought } }:
                events.Add(new Thinking(thought));
                break;
            case PiMessageEnd { Message: { Role: "assistant" } message }:
                OnAnswer(message, events);
                break;
            case PiToolStart { ToolCallId: { } id } start:
                var (name, input) = (start.ToolName ?? "tool", start.Args is { ValueKind: JsonValueKind.Object } args ? args.Clone() : JsonElement.Parse("{}"));
                events.Add(new ToolCall(id, name, KindOf(name), TitleOf(name, input), input));
                break;
            case PiToolEnd { ToolCallId: { } id } end:
                events.Add(new ToolResult(id, PiJson.TextOf(end.Result?.Content), end.IsError == true));
                break;
            case PiRetry retry when !_retrySaid:
                // Said once a turn: pi goes on retrying by itself, and the owner may wait, cancel or stop.
                _retrySaid = true;
                events.Add(new AgentError($"pi: the model request failed and is being retried ({retry.ErrorMessage ?? "no reason given"})."));
                break;
            case PiExtensionError failed:
                events.Add(new AgentError($"pi: PocketCoder's gate failed in {failed.Event ?? "an event"} ({failed.Error}); the call it was asked about was blocked."));
                break;
            case PiAgentEnd:
                events.AddRange(EndTurn());
                break;
        }

        return events;
    }

    /// <summary>A prompt pi refused before running it (its response says why): the turn ends there.</summary>
    public List<AgentEvent> Refused(string error)
    {
        _error = error;
        return EndTurn();
    }

    /// <summary>The question one of the gate's dialogs asks, or null when the dialog is not the gate's.</summary>
    public static PermissionRequest? Ask(PiUiRequest request)
    {
        if (request is not { Method: "editor", Title: PiGate.Title, Prefill: { } prefill }
            || PiJson.Read<PiGateQuestion>(prefill) is not { ToolCallId: { } id, ToolName: { } name } question)
        {
            return null;
        }

        var input = question.Input is { ValueKind: JsonValueKind.Object } given ? given.Clone() : JsonElement.Parse("{}");
        var kind = KindOf(name);
        return new PermissionRequest(id, name, kind, TitleOf(name, input), input, kind == ToolKind.Execute ? Text(input, "command") : null,
            Text(input, "path"), null, CanEditInput: true);
    }

    /// <summary>The gate's answer: allow (the owner's edited input with it, which pi runs instead), or block with the owner's words.</summary>
    public static string Answer(PermissionDecision decision) => PiJson.Write(decision.Allow
        ? new PiGateAnswer(true, decision.UpdatedInput)
        : new PiGateAnswer(false, Reason: string.IsNullOrWhiteSpace(decision.Message) ? "The owner denied this call." : $"The owner denied this call: {decision.Message}"));

    /// <summary>pi's built-in tools, by name: <c>read</c>, <c>grep</c>, <c>find</c>, <c>ls</c> look; <c>edit</c>, <c>write</c> change files; <c>bash</c> runs.</summary>
    internal static ToolKind KindOf(string tool) => tool switch
    {
        "read" or "grep" or "find" or "ls" => ToolKind.Read,
        "edit" or "write" => ToolKind.Edit,
        "bash" => ToolKind.Execute,
        _ => ToolKind.Other,
    };

    /// <summary>A call's one-line title: a command as it is, a file by its path, else the tool's name.</summary>
    internal static string TitleOf(string tool, JsonElement input) =>
        (tool == "bash" ? Text(input, "command") : Text(input, "path") ?? Text(input, "pattern")) is { Length: > 0 } shown ? shown : tool;

    private void OnAnswer(PiMessage message, List<AgentEvent> events)
    {
        if (PiJson.TextOf(message.Content) is { Length: > 0 } text)
        {
            _turnText.Append(text);
            events.Add(new AssistantMessage(text));
        }

        if (message.Usage is { } usage)
        {
            _counted = true;
            _input += usage.Input ?? 0;
            _output += usage.Output ?? 0;
            _cacheRead += usage.CacheRead ?? 0;
            _cacheWrite += usage.CacheWrite ?? 0;
            _cost += usage.Cost?.Total ?? 0;
        }

        _stopReason = message.StopReason;
        _error = message.StopReason == "error" ? message.ErrorMessage ?? "the model request failed" : null;
    }

    private List<AgentEvent> EndTurn()
    {
        List<AgentEvent> events = [];
        if (_counted)
        {
            events.Add(new UsageReport(_input, _output, _cacheRead, _cacheWrite, _cost > 0 ? _cost : null));
        }

        var text = _turnText.Length > 0 ? _turnText.ToString() : null;
        if (_error is { } error)
        {
            events.AddRange([new AgentError($"pi: {error}"), new TurnCompleted("error", true, error)]);
        }
        else
        {
            events.Add(new TurnCompleted(_stopReason == "aborted" ? "cancelled" : "end_turn", false, text));
        }

        (_input, _output, _cacheRead, _cacheWrite, _cost, _counted, _stopReason, _error, _retrySaid) = (0, 0, 0, 0, 0, false, null, null, false);
        _turnText.Clear();
        return events;
    }
}
