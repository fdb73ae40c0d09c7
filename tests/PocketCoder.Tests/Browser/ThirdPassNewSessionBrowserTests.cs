using FakeLlm;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Issue #37's third pass on adding a project and starting a session (web/e2e/third-pass-new.mjs), at 390x844: a project's
/// folder picked from suggestions and a browser of the owner's home instead of a typed server path; New session with the
/// prompt and Start on the first screen, its options folded into one line, the agents remembered from the last visit, and a
/// schedule picked as "every weekday at 9:00" with its next runs shown. (#51, at 390x844 and 360x640) installed agents listed
/// before missing ones, ~/… typed into Add project, and a folder already added named by its project.
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
                async (_, model, _, home) =>
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
                _ => Task.CompletedTask, pauseWaitingAfter: null, bubblewrap: null, networkHosts: null,
                // As on a new user's machine: agents this one lacks (Codex, OpenCode) come before one it has (Gemini CLI) in the
                // server's order; New session must list Claude Code and Gemini CLI first, then the two with how to install them.
                moreAgents: new Dictionary<string, AgentCommand>
                {
                    ["codex"] = new(Path.Combine(outside, "missing", "codex"), new Dictionary<string, string?>()),
                    ["opencode"] = new(Path.Combine(outside, "missing", "opencode"), new Dictionary<string, string?>()),
                    ["gemini"] = new(GeminiCli.Executable, new Dictionary<string, string?>()),
                });
        }
        finally
        {
            TempPaths.Delete(outside);
        }
    }
}
