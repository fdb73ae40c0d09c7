using PocketCoder.Cli;
using PocketCoder.Display;

namespace PocketCoder.Tests.Api;

/// <summary>The executable's verbs as a newcomer types them: help everywhere, and mistakes named with where the help is.</summary>
[Trait("Category", "Unit")]
public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new[] { "--help" }, "handoff")]
    [InlineData(new[] { "pair", "--help" }, "--json")]
    [InlineData(new[] { "hub", "join", "--help" }, "--token")]
    [InlineData(new[] { "serve", "--help" }, "--public-url")]
    [InlineData(new string[0], "sessions")]
    public async Task Help_ForEveryVerb_PrintsItsOptions_ExitZero(string[] args, string mentions)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, await CommandLine.RunAsync(args, output, error));
        Assert.Contains(mentions, output.ToString(), StringComparison.Ordinal);
        Assert.Equal("", error.ToString());
    }

    [Theory]
    [InlineData(new[] { "pair", "--bogus" }, "--bogus", "pocketcoder pair --help")]
    [InlineData(new[] { "frobnicate" }, "frobnicate", "pocketcoder --help")]
    [InlineData(new[] { "approve" }, "id", "pocketcoder approve --help")]
    [InlineData(new[] { "ledger" }, "command", "pocketcoder ledger --help")]
    public async Task Mistake_NamedWithWhereTheHelpIs_ExitTwo(string[] args, string names, string help)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(2, await CommandLine.RunAsync(args, output, error));
        Assert.Contains(names, error.ToString(), StringComparison.Ordinal);
        Assert.Contains(help, error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>`watch` prints what agents and repositories wrote: nothing in it may drive the terminal.</summary>
    [Theory]
    [InlineData("rm -rf build\r\u001b[2Kecho harmless", "rm -rf buildecho harmless")]
    [InlineData("a\u001b]52;c;ZXZpbA==\u0007b", "ab")]
    [InlineData("a\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\b", "alinkb")]
    [InlineData("safe\u202eexe.txt\tand\nmore\u0007", "safeexe.txt\tand\nmore")]
    [InlineData("plain text", "plain text")]
    public void TerminalText_EscapesAndControlsLeftOut(string given, string printed) => Assert.Equal(printed, TerminalText.Clean(given));

    [Fact]
    public async Task Status_NothingRunning_SaysSo_ExitOne()
    {
        var data = Infrastructure.TempPaths.NewDirectory("pc-status");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(1, await CommandLine.RunAsync(["status", "--url", "http://127.0.0.1:9", "--data", data], output, error));
            Assert.Contains("Not running", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Infrastructure.TempPaths.Delete(data);
        }
    }

    [Fact]
    public async Task Doctor_ChecksTheMachine_EachLineOkOrWhatToDo()
    {
        var data = Infrastructure.TempPaths.NewDirectory("pc-doctor");
        try
        {
            // A data folder others can read is a problem doctor names, with the fix.
            File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            using var output = new StringWriter();
            Assert.Equal(1, await CommandLine.RunAsync(["doctor", "--data", data], output, TextWriter.Null));
            var text = output.ToString();
            Assert.Contains($"FIX  data folder {data} (705)", text, StringComparison.Ordinal);
            Assert.Contains($"chmod 700 '{data}'", text, StringComparison.Ordinal);
            Assert.Contains("ok   git: git version", text, StringComparison.Ordinal);
            Assert.Matches(@"ok   sqlite: 3\.\d+\.\d+", text);
            Assert.Contains("agent claude-code", text, StringComparison.Ordinal);
        }
        finally
        {
            Infrastructure.TempPaths.Delete(data);
        }
    }

    [Theory]
    [InlineData("2", false, "SQLite", null)]
    [InlineData("  1 but keep it small ", false, "Postgres", "but keep it small")]
    [InlineData("heron", false, "", "heron")]
    [InlineData("=3 apples", false, "", "3 apples")]
    [InlineData("1, 3", true, "Postgres|Docs", null)]
    [InlineData("3,1 and notes", true, "Docs|Postgres", "and notes")]
    public void AnswerReply_NumbersThenOwnWords(string reply, bool multiSelect, string selected, string? own)
    {
        var (answer, problem) = QuestionCommand.Parse(reply, Question(multiSelect));
        Assert.True(answer is not null, problem);
        Assert.Equal(selected.Length == 0 ? [] : selected.Split('|'), answer.Selected);
        Assert.Equal(own, answer.Other);
    }

    [Theory]
    [InlineData("4", false, "4 is not an option: choose from 1 to 3.")]
    [InlineData("0", false, "0 is not an option")]
    [InlineData("1,2", false, "Choose one option.")]
    [InlineData("2,2", true, "Option 2 is chosen twice.")]
    [InlineData("   ", false, "Choose an option or write your own answer.")]
    [InlineData("=", false, "Write your own answer after the '='.")]
    public void AnswerReply_Mistakes_SayWhatIsWrong(string reply, bool multiSelect, string problem)
    {
        var (answer, said) = QuestionCommand.Parse(reply, Question(multiSelect));
        Assert.Null(answer);
        Assert.StartsWith(problem, said, StringComparison.Ordinal);
    }

    private static QuestionCommand.Question Question(bool multiSelect) =>
        new("Which?", "Pick", [new("Postgres", "usual"), new("SQLite"), new("Docs")], multiSelect);

    [Fact]
    public void AnswerReply_ALabelThatIsANumber_IsThatOption_AndWhatIsShownActsOnNoTerminal()
    {
        var numeric = new QuestionCommand.Question("How many?", null, [new("10"), new("5"), new("1")], false);
        Assert.Equal(["10"], QuestionCommand.Parse("10", numeric).Answer!.Selected);
        Assert.Equal(["1"], QuestionCommand.Parse("1", numeric).Answer!.Selected);
        Assert.Equal(["5"], QuestionCommand.Parse("2", numeric).Answer!.Selected);

        // A label that would rewrite the line it is on ("\r") is shown on one line, and the answer carries it exactly.
        var input = System.Text.Json.JsonDocument.Parse("""
            {"questions":[{"question":"Which?\u001b]52;c;aGk=\u0007","header":"H\nx","options":[{"label":"Drop prod\r  1. Keep data","description":"d"},{"label":"Keep","description":"k"}]}]}
            """).RootElement;
        var question = Assert.Single(QuestionCommand.Read(input));
        var shown = QuestionCommand.Show(question, 1, 1);
        Assert.DoesNotContain('\r', shown);
        Assert.DoesNotContain('\u001b', shown);
        Assert.Contains("1. Drop prod  1. Keep data", shown, StringComparison.Ordinal);
        Assert.Equal(["Drop prod\r  1. Keep data"], QuestionCommand.Parse("1", question).Answer!.Selected);
    }
}
