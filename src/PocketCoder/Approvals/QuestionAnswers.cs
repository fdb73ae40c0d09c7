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
        if (approval.Kind is not ApprovalKind.Question)
        {
            throw ApiProblem.Conflict(ErrorCodes.NotAQuestion, $"Approval '{approval.Id}' is a {approval.Tool} call, not a question: decide it instead.");
        }

        var input = JsonNode.Parse(approval.Input) as JsonObject;
        var questions = (input?["questions"] as JsonArray ?? []).ToList();
        var answers = request.Answers ?? [];
        // A question or option that is not an object (a model can send strings) has no text: never a 500.
        var texts = questions.Select(q => Text((q as JsonObject)?["question"])).ToList();
        if (questions.Count == 0 || texts.Any(t => t is null) || texts.Distinct(StringComparer.Ordinal).Count() != texts.Count)
        {
            // The agent's input is not a set of distinct questions (its answers are keyed by each question's text): it can
            // only be dismissed.
            throw new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.QuestionNeedsAnswers,
                "This question is not in a form that can be answered (no questions, one without text, or two alike): dismiss it.");
        }

        if (answers.Count != questions.Count)
        {
            throw ApiProblem.Validation($"'answers' must hold one answer for each of the {questions.Count} question(s), in the order asked.");
        }

        var keyed = new JsonObject();
        for (var i = 0; i < questions.Count; i++)
        {
            var question = (JsonObject)questions[i]!;
            var text = texts[i]!;
            var options = (question["options"] as JsonArray ?? []).Select(o => Text((o as JsonObject)?["label"])).OfType<string>().ToList();
            var multiple = question["multiSelect"]?.GetValueKind() == JsonValueKind.True;
            var selected = answers[i]?.Selected ?? [];
            var own = answers[i]?.Other?.Trim() ?? "";
            var number = $"Question {i + 1} (\"{Shorten(text)}\")";
            var unknown = selected.ToList().FindIndex(label => label is null || !options.Contains(label, StringComparer.Ordinal));
            if (unknown >= 0)
            {
                throw ApiProblem.Validation($"{number}: \"{Shorten(selected[unknown] ?? "null")}\" is not one of its options ({Shorten(string.Join(", ", options))}).");
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

    /// <summary>What is said of a secret question's answer wherever it is kept or shown (the agent alone gets the answer).</summary>
    public const string SecretAnswer = "(a secret: given to the agent, not recorded)";

    /// <summary>
    /// The answered input as it is kept (the approval, its events, the ledger): a question the agent marked secret
    /// (<c>"secret": true</c>, Codex's <c>isSecret</c>) has its answer replaced by <see cref="SecretAnswer"/>.
    /// </summary>
    public static JsonElement Recorded(Approval approval, JsonElement answered)
    {
        var secrets = ((JsonNode.Parse(approval.Input) as JsonObject)?["questions"] as JsonArray ?? [])
            .Where(q => (q as JsonObject)?["secret"]?.GetValueKind() == JsonValueKind.True)
            .Select(q => Text((q as JsonObject)?["question"])).OfType<string>().ToList();
        if (secrets.Count == 0 || JsonNode.Parse(answered.GetRawText()) is not JsonObject input || input["answers"] is not JsonObject keyed)
        {
            return answered;
        }

        foreach (var question in secrets.Where(keyed.ContainsKey))
        {
            keyed[question] = SecretAnswer;
        }

        return JsonElement.Parse(input.ToJsonString());
    }

    /// <summary>The answers as the agents that take them apart read them (call after <see cref="Apply"/> has checked them).</summary>
    public static IReadOnlyList<OwnerAnswer> Owner(AnswerRequest request) =>
        [.. (request.Answers ?? []).Select(a => new OwnerAnswer([.. a?.Selected ?? []], a?.Other?.Trim() is { Length: > 0 } own ? own : null))];

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..79] + "…";

    /// <summary>A string the agent sent, or null for anything else (a number, an object): its input is not trusted to be well formed.</summary>
    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
