using System.Text.Json;

namespace FakeLlm;

/// <summary>
/// One answer the fake model gives to the next main-agent request, in script order.
/// </summary>
public abstract record ScriptedReply
{
    // Only the factories below build replies, so the server can switch over a closed set.
    private protected ScriptedReply()
    {
    }

    /// <summary>A plain text answer that ends the turn (<c>end_turn</c>).</summary>
    public static ScriptedReply Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new TextReply(text);
    }

    /// <summary>
    /// A tool call (<c>stop_reason: tool_use</c>), optionally preceded by a text block.
    /// <paramref name="input"/> is serialized as the tool's JSON input: an anonymous object,
    /// a dictionary, a <see cref="JsonElement"/> or a <c>JsonNode</c>.
    /// </summary>
    public static ScriptedReply ToolUse(string toolName, object input, string? textBefore = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(toolName);
        ArgumentNullException.ThrowIfNull(input);
        var element = input is JsonElement json ? json.Clone() : JsonSerializer.SerializeToElement(input, input.GetType());
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("Tool input must serialize to a JSON object.", nameof(input));
        }

        return new ToolUseReply(toolName, element, textBefore);
    }

    /// <summary>Several tool calls in one message (parallel calls, <c>stop_reason: tool_use</c>); the Anthropic wire only.</summary>
    public static ScriptedReply ToolUses(params (string Tool, object Input)[] calls)
    {
        if (calls.Length < 2)
        {
            throw new ArgumentException("Parallel calls are two or more; use ToolUse for one.", nameof(calls));
        }

        return new ParallelToolUseReply([.. calls.Select(c => (ToolUse(c.Tool, c.Input) as ToolUseReply)!)]);
    }

    /// <summary>
    /// The reply <paramref name="reply"/> makes of the request it answers: for what only the request says (Claude Code's plan
    /// file, whose name it makes up for each conversation and gives the model in its prompt).
    /// </summary>
    public static ScriptedReply Answering(Func<RecordedRequest, ScriptedReply> reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return new AnsweringReply(reply);
    }

    /// <summary>
    /// A text answer that stalls after the first <c>content_block_start</c> until <paramref name="release"/>
    /// completes, so tests can cancel a turn while the model is still "thinking". A client disconnect or
    /// disposing the server ends the stall without finishing the message.
    /// </summary>
    public static ScriptedReply Held(Task release, string text)
    {
        ArgumentNullException.ThrowIfNull(release);
        ArgumentNullException.ThrowIfNull(text);
        return new HeldReply(release, text);
    }
}

internal sealed record TextReply(string Content) : ScriptedReply;

internal sealed record ToolUseReply(string ToolName, JsonElement Input, string? TextBefore) : ScriptedReply;

internal sealed record ParallelToolUseReply(IReadOnlyList<ToolUseReply> Calls) : ScriptedReply;

internal sealed record HeldReply(Task Release, string Content) : ScriptedReply;

internal sealed record AnsweringReply(Func<RecordedRequest, ScriptedReply> Reply) : ScriptedReply;
