using FakeLlm;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Issue #37's third pass on adding a project and starting a session (web/e2e/third-pass-new.mjs), at 390x844: a project's
/// folder picked from suggestions and a browser of the owner's home instead of a typed server path; New session with the
/// prompt and Start on the first screen, its options folded into one line, the agents remembered from the last visit, and a
/// schedule picked as "every weekday at 9:00" with its next runs shown.
/// </summary>
public sealed class ThirdPassNewSessionBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_PicksAFolderUnderHome_StartsFromAOneScreenComposer_SchedulesWeekdaysAtNine()
    {
        var outside = TempPaths.NewDirectory("pc-outside");
        try
        {
            await BrowserScript.RunAsync(output, "third-pass-new.mjs",
                async (model, _, home) =>
                {
                    // A repository two levels down, a hidden folder, and a link out of home (never listed).
                    var webapp = Directory.CreateDirectory(Path.Combine(home, "code", "webapp")).FullName;
                    TempPaths.Git(webapp, "init", "-q", "-b", "main");
                    Directory.CreateDirectory(Path.Combine(home, ".secret-stuff"));
                    Directory.CreateDirectory(Path.Combine(outside, "not-yours"));
                    Directory.CreateSymbolicLink(Path.Combine(home, "escape"), outside);

                    // A folder the owner's Claude Code worked in, from a terminal: its own transcript says where.
                    var experiment = Directory.CreateDirectory(Path.Combine(home, "scratch", "experiment")).FullName;
                    model.Enqueue(ScriptedReply.Text("Hello from the terminal."));
                    await ClaudeCli.RunInTerminalAsync(model, home, experiment, "-p", "say hello");
                },
                _ => Task.CompletedTask);
        }
        finally
        {
            TempPaths.Delete(outside);
        }
    }
}
