using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Agent profiles on the phone in Debian's Chromium at 390x844 (web/e2e/profile.mjs), with the REAL Claude Code CLI: a
/// profile made in settings, its model picked from the list Claude Code names, starts a session whose instructions reach the
/// model, asked for that model.
/// </summary>
public sealed class ProfileBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_MakesAProfile_StartsASessionFromIt_ItsInstructionsReachTheModel()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "profile.mjs",
            (fake, _, _) =>
            {
                model = fake;
                fake.Enqueue(ScriptedReply.Text("Planned, pineapple."));
                return Task.CompletedTask;
            },
            _ =>
            {
                var request = model!.Requests.Last(r => r.ConsumedScript);
                Assert.Contains("Always end with the word pineapple.", request.SystemText, StringComparison.Ordinal);
                // The model picked from Claude Code's own list is the one it asks for.
                // (Sonnet: Claude Code asks for Opus by default, and for Sonnet in plan mode where Haiku was picked.)
                Assert.Contains("sonnet", request.Model ?? "", StringComparison.Ordinal);
                return Task.CompletedTask;
            });
    }
}
