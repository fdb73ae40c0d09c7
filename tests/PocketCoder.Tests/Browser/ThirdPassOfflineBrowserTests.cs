using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// A slow network and none at all, in Debian's Chromium at 390x844 (web/e2e/third-pass-offline.mjs), with the REAL Claude
/// Code CLI: a fresh phone on Slow 3G paints index.html's shell as the page arrives; the installed app opened again on
/// Slow 3G is answered by its service worker's cache and paints in under 2000 ms; a session opened online and then
/// opened again offline after a reload shows its transcript from the phone's copy and says it is offline; a message sent
/// there waits in the phone's outbox and reaches the model exactly once when the network is back (#51); decisions taken
/// there offline (Allow once at 390x844, Deny at 360x640) wait on their cards and go by themselves, once, when it is back:
/// the allowed command runs once, the denied one never, and one the laptop decided meanwhile is said plainly (#51).
/// </summary>
public sealed class ThirdPassOfflineBrowserTests(ITestOutputHelper output)
{
    private const string SentOffline = "Sent while offline: please say you got it.";
    private const string Reply = "Got it, once.";
    private const string Decide = "Run the three outbox commands, one after another.";
    private const string Done = "All three were decided.";

    [Fact]
    public async Task PhoneApp_Slow3GPaintsTheShellAtOnce_AndASessionReadsOfflineAfterAReload_AndWhatIsSentOrDecidedOfflineGoesOnce()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "third-pass-offline.mjs",
            (fake, repository, _) =>
            {
                model = fake;
                fake.Enqueue(ScriptedReply.Text("Here is something to read on the train."), ScriptedReply.Text(Reply),
                    Append(repository, "allowed"), Append(repository, "denied"), Append(repository, "late"), ScriptedReply.Text(Done));
                return Task.CompletedTask;
            },
            repository =>
            {
                // The message kept offline reached the model exactly once, when the phone was back (#51).
                Assert.Single(model!.Requests, r => r.ConsumedScript && r.LastUserText().Contains(SentOffline, StringComparison.Ordinal));
                // The Allow kept offline ran its command once; the Deny kept offline, and the Allow the laptop's deny beat, none.
                Assert.Equal(["allowed"], File.ReadAllLines(Path.Combine(repository, "outbox-allowed.txt")));
                Assert.False(File.Exists(Path.Combine(repository, "outbox-denied.txt")), "the command denied offline ran");
                Assert.False(File.Exists(Path.Combine(repository, "outbox-late.txt")), "the command the laptop denied ran");
                return Task.CompletedTask;
            },
            "--offline", SentOffline, "--reply", Reply, "--decide", Decide, "--done", Done);
    }

    /// <summary>A Bash call that adds a line to a file of the repository: run twice, the file says so.</summary>
    private static ScriptedReply Append(string repository, string word) =>
        ScriptedReply.ToolUse("Bash", new { command = $"echo {word} >> {Path.Combine(repository, $"outbox-{word}.txt")}", description = $"Note {word}" });
}
