using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using PocketCoder.Approvals;
using PocketCoder.Display;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder answer ID</c>: answers an agent's question (Claude's AskUserQuestion) from the terminal through the
/// running server, as the phone does. Each question is shown with its numbered options; a reply is option numbers, the
/// owner's own words, or both — given with <c>--reply</c> (one per question) or typed when asked.
/// </summary>
internal sealed partial class QuestionCommand : ServerVerb
{
    private readonly Argument<string> _id = new("id") { Description = "The question's id (see `pocketcoder approvals`)." };
    private readonly Option<string[]> _reply = new("--reply")
    {
        Description = "One per question, in order: option numbers (\"2\", or \"1,3\" where several may be chosen), your own words, or both (\"1 but small\").",
        AllowMultipleArgumentsPerToken = false,
    };

    public QuestionCommand() : base("answer", "Answer a question an agent asked: pick its options or write your own words (asks for each, unless --reply gives them).") =>
        Declare(_reply, _id);

    /// <summary>One question as the terminal shows it: its text cleaned of anything that would act on the terminal.</summary>
    /// <param name="Secret">The agent marked it secret (a password, a token): typed hidden, never echoed, all own words.</param>
    public sealed record Question(string Text, string? Header, IReadOnlyList<Option> Options, bool MultiSelect, bool Secret = false);

    /// <summary>An option: its label exactly as the agent sent it (what the answer carries), and as shown.</summary>
    public sealed record Option(string Label, string Shown, string? Description)
    {
        public Option(string label, string? description = null) : this(label, OneLine(label) ?? "", OneLine(description)) { }
    }

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        var id = parsed.GetValue(_id)!;
        using var http = Connect(parsed);
        if (await ServerClient.GetAsync(http, $"/api/approvals/{Uri.EscapeDataString(id)}", WireJson.Default.ApprovalResponse, error) is not { } approval)
        {
            return 1;
        }

        if (ApprovalKind.TryFromWire(approval.Kind) is not ApprovalKind.Question)
        {
            await error.WriteLineAsync($"pocketcoder: {id} is a {approval.Tool} call, not a question: `{SelfCommand.For("approve")}` or `deny` it.");
            return 1;
        }

        if (approval.Status != ApprovalStatus.Pending.ToWire())
        {
            await error.WriteLineAsync($"pocketcoder: {id} was already answered{(approval.DecidedBy is { } by ? $" by {by}" : "")}.");
            return 1;
        }

        var questions = Read(approval.Input);
        if (questions.Count == 0)
        {
            await error.WriteLineAsync($"pocketcoder: {id} holds no question that can be answered; dismiss it with `{SelfCommand.For("deny")} {id}`.");
            return 1;
        }

        var replies = parsed.GetValue(_reply) ?? [];
        if (replies.Length > 0 && replies.Length != questions.Count)
        {
            throw new CliException($"Give one --reply for each of the {questions.Count} question(s), in order.");
        }

        var answers = new List<QuestionAnswer>();
        for (var i = 0; i < questions.Count; i++)
        {
            var answer = replies.Length > 0 ? FromReply(questions[i], replies[i], i + 1)
                : await AskAsync(questions[i], i + 1, questions.Count, output);
            if (answer is null)
            {
                await error.WriteLineAsync("pocketcoder: no answer given; nothing was sent.");
                return 1;
            }

            answers.Add(answer);
        }

        for (var i = 0; i < answers.Count; i++)
        {
            await output.WriteLineAsync($"{(questions.Count > 1 ? $"Answer {i + 1}" : "Answer")}: {(questions[i].Secret ? "(secret)" : Describe(answers[i]))}");
        }

        if (!await ServerClient.PostJsonAsync(http, $"/api/approvals/{Uri.EscapeDataString(id)}/answer", new AnswerRequest(answers),
                CliJson.Default.AnswerRequest, error))
        {
            return 1;
        }

        await output.WriteLineAsync($"answered: {id}");
        return 0;
    }

    /// <summary>The answer given with <c>--reply</c> to question <paramref name="number"/>.</summary>
    private static QuestionAnswer FromReply(Question question, string reply, int number)
    {
        var (answer, problem) = question.Secret
            ? (reply.Length > 0 ? new QuestionAnswer([], reply) : null, "the answer is empty.")
            : Parse(reply, question);
        return answer ?? throw new CliException($"Question {number}: {problem}");
    }

    /// <summary>Shows the question and reads its answer from the terminal, asking again until it makes sense; null when none is given.</summary>
    private static async Task<QuestionAnswer?> AskAsync(Question question, int number, int of, TextWriter output)
    {
        await output.WriteAsync(Show(question, number, of));
        if (question.Secret)
        {
            await output.WriteAsync("Your answer (secret: not shown, not recorded): ");
            if (ReadHidden() is not { Length: > 0 } secret)
            {
                return null;
            }

            await output.WriteLineAsync();
            return new QuestionAnswer([], secret);
        }

        while (true)
        {
            await output.WriteAsync(question.MultiSelect
                ? "Numbers (e.g. 1,3), your own words, or both (= first: only your words): "
                : "A number, your own words, or both (= first: only your words): ");
            if (await Console.In.ReadLineAsync() is not { } line)
            {
                return null;
            }

            var (answer, problem) = Parse(line, question);
            if (answer is not null)
            {
                return answer;
            }

            await output.WriteLineAsync(problem);
        }
    }

    /// <summary>The questions of an AskUserQuestion input; empty when it holds none that can be answered.</summary>
    public static IReadOnlyList<Question> Read(JsonElement input)
    {
        if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("questions", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var questions = new List<Question>();
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || StringIn(item, "question") is not { } text)
            {
                return [];
            }

            var options = item.TryGetProperty("options", out var given) && given.ValueKind == JsonValueKind.Array
                ? given.EnumerateArray().Where(o => o.ValueKind == JsonValueKind.Object && StringIn(o, "label") is not null)
                    .Select(o => new Option(StringIn(o, "label")!, StringIn(o, "description"))).ToList()
                : [];
            questions.Add(new Question(TerminalText.Clean(text)!, OneLine(StringIn(item, "header")), options,
                item.TryGetProperty("multiSelect", out var multi) && multi.ValueKind == JsonValueKind.True,
                item.TryGetProperty("secret", out var secret) && secret.ValueKind == JsonValueKind.True));
        }

        return questions;
    }

    /// <summary>A question with its numbered options, as the terminal shows it.</summary>
    public static string Show(Question question, int number, int of)
    {
        var text = new StringBuilder();
        text.Append(of > 1 ? $"Question {number} of {of}" : "Question").Append(question.Header is { Length: > 0 } header ? $" — {header}" : "").AppendLine(":");
        text.Append("  ").AppendLine(question.Text);
        for (var i = 0; i < question.Options.Count; i++)
        {
            var option = question.Options[i];
            text.Append($"  {i + 1}. {option.Shown}").AppendLine(option.Description is { Length: > 0 } description ? $" — {description}" : "");
        }

        if (question.MultiSelect)
        {
            text.AppendLine("  (several may be chosen)");
        }

        return text.ToString();
    }

    /// <summary>Every question with its numbered options, as the terminal shows them.</summary>
    public static string ShowAll(IReadOnlyList<Question> questions) => string.Concat(questions.Select((q, i) => Show(q, i + 1, questions.Count)));

    /// <summary>
    /// A reply to one question: option numbers at its start ("2", "1,3"), then the owner's own words, if any ("1 but keep it
    /// small"); a reply with no numbers is all own words, and one starting with "=" is too ("=3 apples").
    /// </summary>
    /// <returns>The answer, or null and what is wrong with the reply.</returns>
    public static (QuestionAnswer? Answer, string Problem) Parse(string reply, Question question)
    {
        reply = reply.Trim();
        // A reply that is an option's label (say "10" among "10", "5", "1") is that option, not a number.
        if (question.Options.FirstOrDefault(o => o.Label == reply || o.Shown == reply) is { } named)
        {
            return (new QuestionAnswer([named.Label], null), "");
        }

        if (reply.StartsWith('='))
        {
            var words = reply[1..].Trim();
            return words.Length > 0 ? (new QuestionAnswer([], words), "") : (null, "Write your own answer after the '='.");
        }

        var match = LeadingNumbers().Match(reply);
        var numbers = match.Success ? match.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [];
        var own = (match.Success ? reply[match.Length..] : reply).Trim();
        var chosen = new List<string>();
        foreach (var number in numbers)
        {
            if (!int.TryParse(number, out var n) || n < 1 || n > question.Options.Count)
            {
                return (null, question.Options.Count == 0
                    ? "This question has no options: write your own answer."
                    : $"{number} is not an option: choose from 1 to {question.Options.Count}.");
            }

            var label = question.Options[n - 1].Label;
            if (chosen.Contains(label))
            {
                return (null, $"Option {n} is chosen twice.");
            }

            chosen.Add(label);
        }

        if (chosen.Count > 1 && !question.MultiSelect)
        {
            return (null, "Choose one option.");
        }

        return chosen.Count == 0 && own.Length == 0
            ? (null, "Choose an option or write your own answer.")
            : (new QuestionAnswer(chosen, own.Length > 0 ? own : null), "");
    }

    /// <summary>What the answer will say, shown before it is sent.</summary>
    public static string Describe(QuestionAnswer answer) =>
        string.Join(", ", (answer.Selected ?? []).Select(OneLine).Append(answer.Other is { } own ? $"\"{OneLine(own)}\"" : null).OfType<string>());

    /// <summary>Agent text on one line, with nothing in it that acts on a terminal (escapes, carriage returns, bidi overrides).</summary>
    private static string? OneLine(string? text) => TerminalText.Clean(text)?.ReplaceLineEndings(" ").Replace('\t', ' ');

    /// <summary>Option numbers at the start of a reply, separated by commas, then a space or the end.</summary>
    [GeneratedRegex(@"^(\d+(?:\s*,\s*\d+)*)(?=\s|$)")]
    private static partial Regex LeadingNumbers();
}
