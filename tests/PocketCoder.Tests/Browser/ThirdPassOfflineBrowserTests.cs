using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// A slow network and none at all, in Debian's Chromium at 390x844 (web/e2e/third-pass-offline.mjs), with the REAL Claude
/// Code CLI: a fresh phone on Slow 3G paints index.html's shell as the page arrives; the installed app opened again on
/// Slow 3G is answered by its service worker's cache and paints in under 2000 ms; a session opened online and then
/// opened again offline after a reload shows its transcript from the phone's copy and says it is offline; a message sent
/// there waits in the phone's outbox and reaches the model exactly once when the network is back (#51).
/// </summary>
public sealed class ThirdPassOfflineBrowserTests(ITestOutputHelper output)
{
    private const string SentOffline = "Sent while offline: please say you got it.";
    private const string Reply = "Got it, once.";

    [Fact]
    public async Task PhoneApp_Slow3GPaintsTheShellAtOnce_AndASessionReadsOfflineAfterAReload_AndAMessageSentOfflineGoesOnce()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "third-pass-offline.mjs",
            (fake, _, _) =>
            {
                model = fake;
                fake.Enqueue(ScriptedReply.Text("Here is something to read on the train."), ScriptedReply.Text(Reply));
                return Task.CompletedTask;
            },
            _ =>
            {
                // The message kept offline reached the model exactly once, when the phone was back (#51).
                Assert.Single(model!.Requests, r => r.ConsumedScript && r.LastUserText().Contains(SentOffline, StringComparison.Ordinal));
                return Task.CompletedTask;
            },
            "--offline", SentOffline, "--reply", Reply);
    }
}
