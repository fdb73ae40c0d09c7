using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Steering the whole run on the phone (issue #55, web/e2e/steer.mjs), in Debian's Chromium against the real server with a
/// stand-in agent that reports usage (the agents' own usage reports are tested with the real CLIs): the costs screen's
/// totals are the sum of the usage events the sessions' logs hold, and its CSV says the same; with Read aloud on, the phone
/// speaks the latest reply as plain text (a stand-in speechSynthesis records it), and a notification's tap speaks the reply
/// or the waiting call by itself; a link to watch shows the session live in a fresh browser profile, is refused for another
/// session and for any decision, and stops working when revoked or expired.
/// </summary>
public sealed class SteerBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_CostsAtAGlance_ReadAloud_AndALinkToWatch()
    {
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(File.Exists("/usr/bin/chromium"), "/usr/bin/chromium is missing: scripts/test.sh installs Debian's chromium package.");
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                await session.Sink!.OnEventAsync(new UsageReport(1200 + prompt.Text.Length, 340, 5000, 60, 0.0371m, false), CancellationToken.None);
                if (prompt.Text.Contains("deploy", StringComparison.Ordinal))
                {
                    // A call that waits on the owner for the rest of the test: the one a notification's tap reads aloud.
                    // Allowed, it writes what the command would: the turn's changes a watcher is shown.
                    if ((await session.AskToRunAsync("make deploy")).Allow)
                    {
                        await File.WriteAllTextAsync(Path.Combine(session.Options!.WorkingDirectory, "deployed.txt"), "deployed to staging\n");
                    }
                }

                await session.SayAsync(prompt.Text.Contains("changelog", StringComparison.Ordinal) ? MarkdownReply : $"Done: {prompt.Text}");
                await session.EndTurnAsync();
            },
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        var scratch = TempPaths.NewDirectory("pc-steer");
        try
        {
            await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy",
                new { budget = new { period = "day", project = new { tokens = 50_000 }, session = new { costUsd = 5 } } }));
            await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
            var first = await world.StartSessionAsync("Fix the build");
            await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == first);
            await world.SendAsync(first, "And the tests");
            await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == first && Usage(world, first) == 2);
            var second = await world.StartSessionAsync("Write the changelog");
            await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == second);
            var third = await world.StartSessionAsync("Ship it: deploy");
            var asked = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("sessionId") == third);

            // What the screen must say: the sum of the usage events, as the sessions' own logs hold them.
            var usage = new List<JsonElement>();
            foreach (var id in new[] { first, second, third })
            {
                usage.AddRange((await world.Http.GetOkAsync($"/api/sessions/{id}/events/page?limit=1000")).GetProperty("events").EnumerateArray()
                    .Where(e => e.GetProperty("kind").GetString() == "usage").Select(e => e.GetProperty("data").Clone()));
            }

            var expect = Path.Combine(scratch, "expect.json");
            await File.WriteAllTextAsync(expect, JsonSerializer.Serialize(new
            {
                tokens = usage.Sum(u => u.GetProperty("inputTokens").GetInt64() + u.GetProperty("outputTokens").GetInt64()),
                costUsd = usage.Sum(u => u.GetProperty("costUsd").GetDecimal()),
                turns = usage.Count,
                sessions = new[] { first, second, third },
                replySession = second,
                // The reply as spoken: its markup gone, its code block said as such (web/src/speech.ts).
                replySpoken = "Changelog written. The build passes now; see make test. Code block, 1 line.",
                callSession = third,
                callSpoken = $"Waiting for you: {asked.Str("title")}",
            }));

            var code = await BrowserScript.PairingCodeAsync(world.Server.DataDirectory);
            var shots = Path.Combine(web, "test-results");
            var (exitCode, log) = await PhoneAppBrowserTests.RunNodeAsync(web,
                ["e2e/steer.mjs", "--url", world.Server.BaseUrl.ToString(), "--code", code, "--expect", expect, "--shots", shots], world.Phone.Token,
                line =>
                {
                    if (line.StartsWith("expire: ", StringComparison.Ordinal))
                    {
                        // The link's day is over, as far as the server can tell: its expiry is a minute ago.
                        world.Server.Services.GetRequiredService<Database>().Write(write => write.Execute(
                            "UPDATE watch_links SET expires_at = $past WHERE id = $id",
                            ("$past", DateTimeOffset.UtcNow.AddMinutes(-1).ToDb()), ("$id", line["expire: ".Length..])));
                    }
                });
            output.WriteLine(log);
            Assert.True(exitCode == 0, $"steer.mjs failed (screenshots in {shots}):\n{log}");
            Assert.Contains("no script errors", log, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(scratch);
        }
    }

    private const string MarkdownReply = "## Changelog written\n\nThe **build** passes now; see `make test`.\n\n```sh\nmake test\n```";

    private static int Usage(AgentWorld world, string sessionId) => int.Parse(
        world.Server.ReadDatabase("SELECT COUNT(*) FROM events WHERE session_id = $s AND kind = 'usage'", ("$s", sessionId))!,
        System.Globalization.CultureInfo.InvariantCulture);
}
