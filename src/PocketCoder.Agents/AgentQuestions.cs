using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents;

/// <summary>
/// Questions an agent puts to the owner, in the one shape the gate and the phone know (Claude's AskUserQuestion input):
/// <c>{questions: [{question, header, options: [{label, description}], multiSelect}]}</c>. The owner's answers come back
/// as that input plus <c>answers</c>, keyed by each question's text (see PocketCoder's QuestionAnswers).
/// </summary>
public static class AgentQuestions
{
    /// <summary>
    /// For what the owner is shown and the ledger keeps: relaxed escaping, so that "+" and "&lt;" stay themselves for the
    /// person reading them, not \u002B and \u003C.
    /// </summary>
    private static readonly QuestionJson Readable = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>The first question's text, and how many more there are.</summary>
    public static string Title(JsonElement input)
    {
        var questions = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("questions", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToList()
            : [];
        var first = questions.Count > 0 ? Text(questions[0], "question") : null;
        return first is null ? "A question" : questions.Count > 1 ? $"{first} (and {questions.Count - 1} more)" : first;
    }

    /// <summary>The owner's answer to the question with this text in an answered input, or null when it has none.</summary>
    public static string? Answer(JsonElement? answered, string question) =>
        answered is { ValueKind: JsonValueKind.Object } input && input.TryGetProperty("answers", out var answers) && answers.ValueKind == JsonValueKind.Object
            ? Text(answers, question)
            : null;

    /// <summary>The request that puts an agent's <paramref name="questions"/> to the owner, as its call <paramref name="id"/> of <paramref name="tool"/>.</summary>
    internal static PermissionRequest Request(string id, string tool, QuestionCards questions)
    {
        var input = JsonSerializer.SerializeToElement(questions, Readable.QuestionCards);
        return new PermissionRequest(id, tool, ToolKind.Question, Title(input), input, null, null, null);
    }
}

/// <summary>Questions in the shape of <see cref="AgentQuestions"/>; an MCP server's form also names the server and its message.</summary>
internal sealed record QuestionCards(IReadOnlyList<QuestionCard> Questions, string? Server = null, string? Message = null);

/// <param name="Id">Where the agent takes its answers back by id (Codex).</param>
/// <param name="Secret">Its answer goes to the agent only: the gate keeps it out of the approval, the events and the ledger.</param>
internal sealed record QuestionCard(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Question,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Header,
    IReadOnlyList<QuestionOption> Options, bool MultiSelect, string? Id = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Secret = false);

/// <summary>An option of a question, as agents send it and the owner is shown it.</summary>
internal sealed record QuestionOption(string? Label, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Description);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(QuestionCards))]
internal sealed partial class QuestionJson : JsonSerializerContext;
