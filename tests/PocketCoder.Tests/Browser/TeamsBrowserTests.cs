using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Teams on the phone in Debian's Chromium (web/e2e/teams.mjs), with the REAL Claude Code CLI: the owner invites an
/// approver and a viewer from People and asks two people for shell calls in the policy editor; each pairs a browser of
/// their own with the code. Claude's command runs only after the approver and then the owner allow it, and the viewer is
/// offered no decision (and refused one sent all the same).
/// </summary>
public sealed class TeamsBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoPeople_MustAllowATwoPersonShellCall_AndAViewersAllowIsRefused()
    {
        await BrowserScript.RunAsync(output, "teams.mjs",
            (model, _, _) =>
            {
                model.Enqueue(
                    ScriptedReply.ToolUse("Bash", new { command = "echo ran >> two.txt", description = "Write the file" }),
                    ScriptedReply.Text("Ran after two people allowed it."));
                return Task.CompletedTask;
            },
            async repository => Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(repository, "two.txt"))));
    }

    /// <summary>web/e2e/budget.mjs: a session over its cap asks to raise the budget (or stop), and goes on once raised.</summary>
    [Fact]
    public async Task ASpentBudget_AsksToRaiseItOrStop_AndGoesOnOnceRaised()
    {
        await BrowserScript.RunAsync(output, "budget.mjs",
            (model, _, _) =>
            {
                // Claude Code's own prompt is thousands of tokens: the first turn alone spends the 1,000 the phone sets.
                model.Enqueue(
                    ScriptedReply.Text("Warmed up."),
                    ScriptedReply.ToolUse("Bash", new { command = "echo ran > ran.txt", description = "Write" }),
                    ScriptedReply.Text("Wrote it."));
                return Task.CompletedTask;
            },
            async repository => Assert.Equal("ran", (await File.ReadAllTextAsync(Path.Combine(repository, "ran.txt"))).Trim()));
    }

    /// <summary>
    /// web/e2e/offers.mjs: an operator and a viewer are offered, from the server's offers, exactly what it accepts: no decision
    /// on a call an approver decides (the card says who can), no composer on a trusted session for the operator (the server's
    /// reason instead), none at all for the viewer; the operator's message to the ask session starts once the owner allows the call.
    /// </summary>
    [Fact]
    public async Task AnOperatorAndAViewer_AreOfferedOnlyWhatTheServerAccepts_AndToldWhoCan()
    {
        await BrowserScript.RunAsync(output, "offers.mjs",
            (model, _, _) =>
            {
                model.Enqueue(
                    ScriptedReply.Text("Trusted and done."),
                    ScriptedReply.ToolUse("Bash", new { command = "echo asked >> ask.txt", description = "Write the file" }),
                    ScriptedReply.Text("Ran it."),
                    ScriptedReply.Text("Noted Olu's line."));
                return Task.CompletedTask;
            },
            async repository => Assert.Equal("asked\n", await File.ReadAllTextAsync(Path.Combine(repository, "ask.txt"))));
    }
}
