using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The app's second pass in Debian's Chromium at 390x844 (web/e2e/second-pass.mjs), with the REAL Claude Code CLI: tap
/// targets measured on every screen, "Always allow" previewed, a rule changed with a preview, Back from a deep link,
/// archive, the approval timeout, remove project, compressed files.
/// </summary>
public sealed class SecondPassBrowserTests(ITestOutputHelper output)
{
    private const string Command = "echo one > one.txt";

    [Fact]
    public Task PhoneApp_SecondPass_EveryScreenTappable_EndThings_RulesPreviewed_BackStaysInside() =>
        BrowserScript.RunAsync(output, "second-pass.mjs",
            (model, _, _) =>
            {
                model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = Command, description = "Write one.txt" }), ScriptedReply.Text("Wrote one.txt."));
                return Task.CompletedTask;
            },
            async repository => Assert.Equal("one\n", await File.ReadAllTextAsync(Path.Combine(repository, "one.txt"))),
            "--command", Command);
}
