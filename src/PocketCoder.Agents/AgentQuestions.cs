using System.Text.Json;
using System.Text.Json.Nodes;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents;

/// <summary>
/// Questions an agent puts to the owner, in the one shape the gate and the phone know (Claude's AskUserQuestion input):
/// <c>{questions: [{question, header, options: [{label, description}], multiSelect}]}</c>. The owner's answers come back
/// as that input plus <c>answers</c>, keyed by each question's text (see PocketCoder's QuestionAnswers).
/// </summary>
public static class AgentQuestions
{
    /// <summary>The first question's text, and how many more there are.</summary>
    public static string Title(JsonElement input)
    {
        var questions = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("questions", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToList()
            : [];
        var first = questions.Count > 0 ? Text(questions[0], "question") : null;
        return first is null ? "A question" : questions.Count > 1 ? $"{first} (and {questions.Count - 1} more)" : first;
    }

    /// <summary>An agent's question's <c>options</c> in that shape: those with a label, each with its description.</summary>
    internal static JsonArray Options(JsonElement question) =>
        question.TryGetProperty("options", out var given) && given.ValueKind == JsonValueKind.Array
            ? new JsonArray([.. given.EnumerateArray().Where(o => Text(o, "label") is not null)
                .Select(o => (JsonNode)new JsonObject { ["label"] = Text(o, "label"), ["description"] = Text(o, "description") })])
            : [];

    /// <summary>The owner's answer to the question with this text in an answered input, or null when it has none.</summary>
    public static string? Answer(JsonElement? answered, string question) =>
        answered is { ValueKind: JsonValueKind.Object } input && input.TryGetProperty("answers", out var answers) && answers.ValueKind == JsonValueKind.Object
            ? Text(answers, question)
            : null;
}
