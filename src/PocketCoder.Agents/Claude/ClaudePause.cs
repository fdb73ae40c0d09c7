using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// Pausing Claude Code on a call that waits for the owner, and resuming it on their decision. The gate hook answers
/// "defer" (honoured with <c>-p</c>, for a call made on its own): Claude ends the turn with the call kept in its
/// transcript, and the process can go. Resumed (<c>--resume</c>), Claude runs that call first, before it reads any
/// message, and so before the gate hook sent over stdin is registered: what then decides it is its own permission check,
/// where the owner's allow rules would run it unasked. So the resumed process also gets a hook of its own settings
/// (<c>--settings</c>, loaded at start): a shell command that answers exactly that call with the owner's decision, an
/// allow carrying any edited input or answers, or a deny with its message, and answers nothing for any other call.
/// </summary>
internal static partial class ClaudePause
{
    /// <summary>One argument may not exceed 128 KiB on Linux; the decision rides inside one, base64-encoded.</summary>
    internal const int MaxEncodedAnswer = 96 * 1024;

    /// <summary>Only ids that are safe inside the hook's shell command and grep pattern can pause the agent.</summary>
    internal static bool CanResumeOn(string toolUseId) => SafeId().IsMatch(toolUseId);

    /// <summary>The <c>--settings</c> JSON for the process resumed on <paramref name="paused"/>.</summary>
    internal static string ResumeSettings(PausedCall paused)
    {
        if (!CanResumeOn(paused.ToolCallId))
        {
            throw new ArgumentException($"Tool call id '{paused.ToolCallId}' cannot be resumed on.", nameof(paused));
        }

        var answer = Convert.ToBase64String(Encoding.UTF8.GetBytes(HookOutput(paused.Decision).ToJsonString()));
        if (answer.Length > MaxEncodedAnswer)
        {
            // Never the call as the agent asked it: the owner's edit or answers are what they allowed.
            answer = Convert.ToBase64String(Encoding.UTF8.GetBytes(HookOutput(PermissionDecision.Deny(
                "The owner decided while you were paused, but their edited call or answers are too large to hand back here. Ask again.")).ToJsonString()));
        }

        // The hook reads the call as JSON on stdin; it answers only the paused call. An answer of nothing decides nothing.
        var command = $"grep -qE '\"tool_use_id\" *: *\"{paused.ToolCallId}\"' && printf '%s' '{answer}' | base64 -d || true";
        return new JsonObject
        {
            ["hooks"] = new JsonObject
            {
                ["PreToolUse"] = new JsonArray(new JsonObject
                {
                    ["matcher"] = "*",
                    ["hooks"] = new JsonArray(new JsonObject { ["type"] = "command", ["command"] = command }),
                }),
            },
        }.ToJsonString();
    }

    /// <summary>The hook's answer: allow (with the owner's input when they edited or answered it) or deny with the reason.</summary>
    internal static JsonObject HookOutput(PermissionDecision decision)
    {
        var output = new JsonObject
        {
            ["hookEventName"] = "PreToolUse",
            ["permissionDecision"] = decision.Allow ? "allow" : "deny",
            ["permissionDecisionReason"] = decision.Allow ? "Allowed by the owner while the agent was paused." : decision.Message ?? "Denied by the owner.",
        };
        if (decision.Allow && decision.UpdatedInput is { } updated)
        {
            output["updatedInput"] = JsonNode.Parse(updated.GetRawText());
        }

        return new JsonObject { ["hookSpecificOutput"] = output };
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    private static partial Regex SafeId();
}
