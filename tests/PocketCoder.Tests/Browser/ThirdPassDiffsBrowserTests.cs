using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The app's third pass, diffs and reading (issue #37), in Debian's Chromium at 390x844 (web/e2e/third-pass-diffs.mjs)
/// with the REAL Claude Code CLI: an approval's edit among its file's lines with true numbers and word changes, a reply's
/// table and code block (highlighted, copied), a turn's diff per file with hanging indents, two line comments and a summary
/// sent to the agent as one submitted review (checked here, as the model received it), the git screen's diff, and Home telling apart two
/// sessions whose prompts begin alike.
/// </summary>
public sealed class ThirdPassDiffsBrowserTests(ITestOutputHelper output)
{
    // Line 5 is long and indented: it wraps on a phone, and must hang at its indentation.
    private const string App = """
        // The answer, and how it is reported.
        export function report(): string {
          const label = 'answer';
          const answer = 41;
                return `${label}: ${answer} (this line is long on purpose: it wraps on a phone and keeps its indentation)`;
        }

        """;

    [Fact]
    public async Task PhoneApp_ThirdPass_Diffs_LineComments_Markdown_ShortTitles()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "third-pass-diffs.mjs",
            (fake, repository, _) =>
            {
                model = fake;
                var file = Path.Combine(repository, "src", "app.ts");
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.WriteAllText(file, App);
                PocketCoder.Tests.Workspace.WorkspaceWorld.Git(repository, "add", ".");
                PocketCoder.Tests.Workspace.WorkspaceWorld.Git(repository, "-c", "user.email=test@example.invalid", "-c", "user.name=Test", "commit", "-q", "-m", "add app");
                fake.Enqueue(
                    // Claude Code edits only a file it has read.
                    ScriptedReply.ToolUse("Read", new { file_path = file }),
                    ScriptedReply.ToolUse("Edit", new { file_path = file, old_string = "answer = 41", new_string = "answer = 42" }),
                    ScriptedReply.Text("Done.\n\n| File | Change |\n|:---|---:|\n| src/app.ts | 41 → 42 |\n\n```ts\nconst answer = 42;\n```"),
                    ScriptedReply.Text("Fixed both."),
                    ScriptedReply.Text("Sure."));
                return Task.CompletedTask;
            },
            repository =>
            {
                Assert.Contains("const answer = 42;", File.ReadAllText(Path.Combine(repository, "src", "app.ts")), StringComparison.Ordinal);
                // The two comments reached the agent as ONE user message, each with its file, line, the line and the words.
                var asked = model!.Requests.Where(r => r.ConsumedScript && r.LastUserText().Contains("Please fix these:", StringComparison.Ordinal)).ToList();
                var text = Assert.Single(asked.Select(r => r.LastUserText()).Distinct()).ReplaceLineEndings("\n");
                Assert.Contains("src/app.ts:3\n   > const label = 'answer';\n   Call it result.", text, StringComparison.Ordinal);
                Assert.Contains("src/app.ts:5\n   > return `${label}", text, StringComparison.Ordinal);
                Assert.Contains("Shorten this line.", text, StringComparison.Ordinal);
                // A submitted review: the summary travels with the comments, in the same message (#51).
                Assert.Contains("Also keep the tests green.", text, StringComparison.Ordinal);
                return Task.CompletedTask;
            });
    }
}
