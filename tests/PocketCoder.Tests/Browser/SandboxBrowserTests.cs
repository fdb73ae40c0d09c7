using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The sandbox never silently disappears, on the phone (web/e2e/sandbox.mjs), with the REAL Claude Code CLI against a server
/// whose bubblewrap does not work: New session says so and why, Start is refused, and once the owner chooses to run the
/// project without a sandbox the session starts and says it runs unsandboxed.
/// </summary>
public sealed class SandboxBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_NoWorkingBubblewrap_SaysWhy_RefusesToStart_UntilTheOwnerChoosesNone()
    {
        await BrowserScript.RunAsync(output, "sandbox.mjs",
            (_, model, _, _) =>
            {
                model.Enqueue(ScriptedReply.Text("Hello, unsandboxed."));
                return Task.CompletedTask;
            },
            _ => Task.CompletedTask, pauseWaitingAfter: null, bubblewrap: "/nonexistent/bwrap");
    }
}
