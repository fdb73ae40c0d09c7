using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Browser;
using PocketCoder.Tests.Infrastructure;
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

    /// <summary>
    /// Notifications from another machine (web/e2e/notify-machines.mjs): the phone is paired with A and adds B, whose REAL
    /// Claude Code asks; B's push comes through A's relay, the worker shows it, and its Allow once decides on B.
    /// </summary>
    [Fact]
    public async Task AnotherMachinesPush_ThroughTheRelay_ShowsAndItsAllowOnceDecidesThere_AnUnknownMachineGetsNoActions()
    {
        var folder = TempPaths.NewDirectory("pc-machine-b");
        var homeB = TempPaths.NewDirectory("pc-home-b");
        var repositoryB = TempPaths.NewGitRepository();
        TestServer? b = null;
        try
        {
            await BrowserScript.RunAsync(output, "notify-machines.mjs",
                async (_, model, _, _) =>
                {
                    model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = Command, description = "Write notified.txt" }), ScriptedReply.Text("Done on B."));
                    b = await TestServer.StartAsync(agents: ClaudeCli.Against(model, homeB), ownerHome: homeB);
                    var laptop = await b.PairAsync("laptop of B");
                    var project = await laptop.Http.PostOkAsync("/api/projects", new { path = repositoryB });
                    await File.WriteAllTextAsync(Path.Combine(folder, "b.json"), JsonSerializer.Serialize(new
                    {
                        url = b.BaseUrl.ToString().TrimEnd('/'), code = await b.PairingCodeAsync(), token = laptop.Token,
                        projectId = project.GetProperty("id").GetString(), command = Command,
                    }));
                },
                async repository =>
                {
                    Assert.Equal("from-the-lock-screen\n", await File.ReadAllTextAsync(Path.Combine(repositoryB, "notified.txt")));
                    Assert.False(File.Exists(Path.Combine(repository, "notified.txt")), "B's call ran on A");
                },
                "--machine-b", Path.Combine(folder, "b.json"));
        }
        finally
        {
            if (b is not null)
            {
                await b.DisposeAsync();
            }

            TempPaths.Delete(repositoryB);
            TempPaths.Delete(homeB);
            TempPaths.Delete(folder);
        }
    }
}
