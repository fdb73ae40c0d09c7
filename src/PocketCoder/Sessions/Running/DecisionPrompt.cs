using System.Text;
using System.Text.Json;
using PocketCoder.Agents;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// What an agent stopped while a call waited for the owner is told once its conversation is resumed: its call never ran, and
/// what the owner decided. An allow asks it to make that very call again, unchanged (the session's one-time grant lets exactly
/// that call through, once); a deny says not to, in the owner's words; a question's answers are given here, as the agent
/// cannot be handed them any other way. The call is restated: an agent's saved chat may have lost it (Gemini CLI's does).
/// </summary>
public static class DecisionPrompt
{
    public static string Of(PermissionRequest asked, PermissionDecision decision)
    {
        var text = new StringBuilder();
        text.Append("[PocketCoder] While your ").Append(asked.Tool).Append(" call (").Append(asked.Title)
            .Append(") waited for the owner's decision, you were stopped to save memory, and the call did not run. ");
        if (asked.Kind == ToolKind.Question)
        {
            return Answered(text, asked.Input, decision).ToString();
        }

        var call = $"{asked.Tool} with the input {asked.Input.GetRawText()}";
        if (!decision.Allow)
        {
            text.Append("The owner DENIED it: do not make that call again. Their words: ")
                .Append(string.IsNullOrWhiteSpace(decision.Message) ? "(none)" : decision.Message.Trim())
                .Append(" Carry on without it. The call was: ").Append(call);
            return text.ToString();
        }

        text.Append("The owner ALLOWED it. Make exactly that call again now, unchanged, and it will run once: ").Append(call)
            .Append(". Then carry on with your task.");
        if (!string.IsNullOrWhiteSpace(decision.Message))
        {
            text.Append(" The owner added: ").Append(decision.Message.Trim());
        }

        return text.ToString();
    }

    private static StringBuilder Answered(StringBuilder text, JsonElement input, PermissionDecision decision)
    {
        if (!decision.Allow)
        {
            return text.Append("The owner dismissed your question without answering")
                .Append(string.IsNullOrWhiteSpace(decision.Message) ? "." : $": {decision.Message.Trim()}")
                .Append(" Do not ask it again; carry on as best you can.");
        }

        text.Append("The owner answered it:");
        var questions = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("questions", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(q => q.ValueKind == JsonValueKind.Object && q.TryGetProperty("question", out var said) ? said.GetString() : null).ToList()
            : [];
        var answers = decision.Answers ?? [];
        for (var i = 0; i < answers.Count; i++)
        {
            var chosen = answers[i].Selected.Concat(string.IsNullOrWhiteSpace(answers[i].Other) ? [] : [answers[i].Other!]);
            text.Append('\n').Append(i + 1).Append(". ").Append(i < questions.Count && questions[i] is { } question ? $"{question} " : "")
                .Append("Answer: ").Append(string.Join("; ", chosen));
        }

        return text.Append("\nCarry on with these answers; do not ask the question again.");
    }
}
