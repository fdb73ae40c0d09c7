using FakeLlm;
using PocketCoder.Tests.Browser;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Notifications;

/// <summary>
/// The app's service worker with a real push (web/e2e/notify.mjs is the push service): Debian's Chromium, the real server,
/// the REAL Claude Code CLI asking to run a command. Allow once from the notification decides; a second decision is a 409;
/// a command the notification cannot show whole gets only Deny, and an Allow forged onto it is refused.
/// </summary>
public sealed class NotificationBrowserTests(ITestOutputHelper output)
{
    private const string Command = "echo from-the-lock-screen > notified.txt";

    /// <summary>What a notification shows of it (180 characters) is harmless; what runs after the cut is not.</summary>
    private static readonly string CutCommand = $"echo {new string('a', 180)}; touch PWNED";

    [Fact]
    public Task ServiceWorker_ShowsTheMachinesPush_AllowOnceFromTheNotificationDecides_ACutCommandOnlyDenied_BadgeOnEveryScreen() =>
        BrowserScript.RunAsync(output, "notify.mjs",
            (model, _, _) =>
            {
                model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = Command, description = "Write notified.txt" }),
                    ScriptedReply.Text("Done from the notification."),
                    ScriptedReply.ToolUse("Bash", new { command = CutCommand, description = "Print a line" }),
                    ScriptedReply.Text("Denied."));
                return Task.CompletedTask;
            },
            async repository =>
            {
                Assert.Equal("from-the-lock-screen\n", await File.ReadAllTextAsync(Path.Combine(repository, "notified.txt")));
                Assert.False(File.Exists(Path.Combine(repository, "PWNED")));
            },
            "--command", Command, "--cut-command", CutCommand);
}
