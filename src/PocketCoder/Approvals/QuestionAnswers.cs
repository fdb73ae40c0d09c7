using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Errors;

namespace PocketCoder.Approvals;

/// <summary>The owner's answer to one of the agent's questions.</summary>
/// <param name="Selected">The labels of the options chosen: one, or several where the question is multi-select.</param>
/// <param name="Other">The owner's own words, instead of the options or beside them.</param>
public sealed record QuestionAnswer(IReadOnlyList<string>? Selected, string? Other);

/// <param name="Answers">One answer per question, in the order the agent asked them.</param>
public sealed record AnswerRequest([property: Required(ErrorMessage = "'answers' is required: one answer per question, in order.")] IReadOnlyList<QuestionAnswer>? Answers);

/// <summary>
/// Answers to a question the agent asked (Claude's <c>AskUserQuestion</c>), checked against what it asked and put into
/// the form the agent reads: the tool's input with <c>answers</c>, keyed by each question's text, several chosen labels
/// (and the owner's own words) joined by ", " — what Claude Code's own prompt returns.
/// </summary>
public static class QuestionAnswers
{
    public const int MaxOwnWords = 4_000;

    /// <summary>The question's input with the answers added, ready to go back as the allow's updated input.</summary>
    public static JsonElement Apply(Approval approval, AnswerRequest request)
    {
        if (approval.Kind != ToolKind.Question.ToWire())
        {
            throw ApiProblem.Conflict(ErrorCodes.NotAQuestion, $"Approval '{approval.Id}' is a {approval.Tool} call, not a question: decide it instead.");
        }

        var input = JsonNode.Parse(approval.Input) as JsonObject;
        var questions = (input?["questions"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var answers = request.Answers ?? [];
        if (questions.Count == 0 || answers.Count != questions.Count)
        {
            throw ApiProblem.Validation($"'answers' must hold one answer for each of the {questions.Count} question(s), in the order asked.");
        }

        var keyed = new JsonObject();
        for (var i = 0; i < questions.Count; i++)
        {
            var question = questions[i];
            var text = question["question"]?.GetValue<string>() ?? $"Question {i + 1}";
            var options = (question["options"] as JsonArray)?.OfType<JsonObject>().Select(o => o["label"]?.GetValue<string>()).OfType<string>().ToList() ?? [];
            var multiple = question["multiSelect"]?.GetValueKind() == JsonValueKind.True;
            var selected = answers[i]?.Selected ?? [];
            var own = answers[i]?.Other?.Trim() ?? "";
            var number = $"Question {i + 1} (\"{Shorten(text)}\")";
            if (selected.FirstOrDefault(label => !options.Contains(label, StringComparer.Ordinal)) is { } unknown)
            {
                throw ApiProblem.Validation($"{number}: \"{Shorten(unknown)}\" is not one of its options ({string.Join(", ", options)}).");
            }

            if (selected.Distinct(StringComparer.Ordinal).Count() != selected.Count || (!multiple && selected.Count > 1))
            {
                throw ApiProblem.Validation(multiple ? $"{number}: an option is chosen twice." : $"{number} takes one option.");
            }

            if (selected.Count == 0 && own.Length == 0)
            {
                throw ApiProblem.Validation($"{number} has no answer: choose an option or write your own.");
            }

            if (own.Length > MaxOwnWords)
            {
                throw ApiProblem.Validation($"{number}: your own answer is at most {MaxOwnWords} characters.");
            }

            keyed[text] = string.Join(", ", own.Length > 0 ? [.. selected, own] : selected);
        }

        input!["answers"] = keyed;
        return JsonElement.Parse(input.ToJsonString());
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..79] + "…";
}
