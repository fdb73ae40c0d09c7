using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// A slow network and none at all, in Debian's Chromium at 390x844 (web/e2e/third-pass-offline.mjs), with the REAL Claude
/// Code CLI: a fresh phone on Slow 3G paints index.html's shell as the page arrives; the installed app opened again on
/// Slow 3G is answered by its service worker's cache and paints in under 2000 ms; a session opened online and then
/// opened again offline after a reload shows its transcript from the phone's copy and says it is offline.
/// </summary>
public sealed class ThirdPassOfflineBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_Slow3GPaintsTheShellAtOnce_AndASessionReadsOfflineAfterAReload()
    {
        await BrowserScript.RunAsync(output, "third-pass-offline.mjs",
            (model, _, _) =>
            {
                model.Enqueue(ScriptedReply.Text("Here is something to read on the train."));
                return Task.CompletedTask;
            },
            _ => Task.CompletedTask);
    }
}
