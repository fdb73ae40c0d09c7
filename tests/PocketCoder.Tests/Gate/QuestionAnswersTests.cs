using System.Net;
using PocketCoder.Approvals;
using PocketCoder.Errors;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// Answers checked against what the agent asked, whatever shape its input has: a bad answer or an input that cannot be
/// answered is a problem with a code (never a 500), and the agent receives only its input plus the answers.
/// </summary>
public sealed class QuestionAnswersTests
{
    private static Approval Question(string input) => new("a1", "s1", "p1", "t1", "AskUserQuestion", new ApprovalKind.Question(), "Q", input, null, "*", ApprovalLifecycle.Asked,
        DateTimeOffset.UnixEpoch, null, null, null, null, null, CanEditInput: true);

    private const string TwoQuestions = """
        {"questions":[
          {"question":"Which database?","header":"DB","multiSelect":false,"options":[{"label":"Postgres","description":""},{"label":"SQLite","description":""}]},
          {"question":"Which extras?","header":"Extras","multiSelect":true,"options":[{"label":"Metrics","description":""},{"label":"Tracing","description":""}]}
        ],"answers":{"Which database?":"SQLite"}}
        """;

    [Fact]
    public void Answers_ReplaceAnyTheAgentFilledIn_KeyedByQuestion_SeveralJoined()
    {
        var answered = QuestionAnswers.Apply(Question(TwoQuestions), new AnswerRequest(
        [
            new QuestionAnswer(["Postgres"], null),
            new QuestionAnswer(["Metrics", "Tracing"], "and small"),
        ]));
        var answers = answered.GetProperty("answers");
        Assert.Equal("Postgres", answers.GetProperty("Which database?").GetString());
        Assert.Equal("Metrics, Tracing, and small", answers.GetProperty("Which extras?").GetString());
        Assert.Equal(["questions", "answers"], answered.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("[]", HttpStatusCode.UnprocessableEntity)]
    [InlineData("""{"questions":[]}""", HttpStatusCode.UnprocessableEntity)]
    [InlineData("""{"questions":[{"question":7,"options":[]}]}""", HttpStatusCode.UnprocessableEntity)]
    [InlineData("""{"questions":[{"question":"Same?","options":[]},{"question":"Same?","options":[]}]}""", HttpStatusCode.UnprocessableEntity)]
    [InlineData("""{"questions":[{"question":"Name?","options":[{"label":5},{"label":"api"}]}]}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"questions":["Which database?"]}""", HttpStatusCode.UnprocessableEntity)]
    [InlineData("""{"questions":[{"question":"Name?","options":["a","b"]}]}""", HttpStatusCode.BadRequest)]
    public void InputsThatCannotBeAnswered_OrBadAnswers_AreProblems(string input, HttpStatusCode status)
    {
        var problem = Assert.Throws<ApiProblem>(() => QuestionAnswers.Apply(Question(input), new AnswerRequest([new QuestionAnswer(["5"], null)])));
        Assert.Equal((int)status, problem.Status);
    }

    [Fact]
    public void BadAnswers_SayWhichQuestionAndWhy()
    {
        var question = Question(TwoQuestions);
        string Refusal(params QuestionAnswer[] answers) => Assert.Throws<ApiProblem>(() => QuestionAnswers.Apply(question, new AnswerRequest(answers))).Message;
        Assert.Contains("one answer for each of the 2", Refusal(new QuestionAnswer(["Postgres"], null)), StringComparison.Ordinal);
        Assert.Contains("takes one option", Refusal(new QuestionAnswer(["Postgres", "SQLite"], null), new QuestionAnswer(["Metrics"], null)), StringComparison.Ordinal);
        Assert.Contains("\"MySQL\" is not one of its options", Refusal(new QuestionAnswer(["MySQL"], null), new QuestionAnswer(["Metrics"], null)), StringComparison.Ordinal);
        Assert.Contains("\"null\" is not one of its options", Refusal(new QuestionAnswer([null!], null), new QuestionAnswer(["Metrics"], null)), StringComparison.Ordinal);
        Assert.Contains("chosen twice", Refusal(new QuestionAnswer(["Postgres"], null), new QuestionAnswer(["Metrics", "Metrics"], null)), StringComparison.Ordinal);
        Assert.Contains("Question 2 (\"Which extras?\") has no answer", Refusal(new QuestionAnswer(["Postgres"], null), new QuestionAnswer([], "  ")), StringComparison.Ordinal);
    }

    [Fact]
    public void AToolCall_IsNotAQuestion()
    {
        var call = Question(TwoQuestions) with { Kind = ApprovalKind.Of(PocketCoder.Agents.ToolKind.Execute), Tool = "Bash" };
        Assert.Equal(ErrorCodes.NotAQuestion, Assert.Throws<ApiProblem>(() => QuestionAnswers.Apply(call, new AnswerRequest([]))).Code);
    }
}
