using PocketCoder.Cli;

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
            Assert.Contains("agent claude-code", text, StringComparison.Ordinal);
        }
        finally
        {
            Infrastructure.TempPaths.Delete(data);
        }
    }
}
