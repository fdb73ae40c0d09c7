using System.Text.Json;
using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Data;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Tests.Realtime;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Every kind of session event on the phone (web/e2e/every-event.mjs), in Debian's Chromium with the REAL Claude Code CLI
/// (issue #35): a session holding one event of each kind in the catalogue (<see cref="EventSamples"/>) opens without
/// losing its stream, shows each, and goes on live: a later reply, a later approval card allowed. Then its agent is
/// killed: the error is on screen at once, and one tap restarts the session on its own conversation.
/// </summary>
public sealed class EveryEventBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_EveryKindOfEvent_ShownThenLaterReplyAndApproval_AKilledAgentRestartedInOneTap()
    {
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(File.Exists("/usr/bin/chromium"), "/usr/bin/chromium is missing: scripts/test.sh installs Debian's chromium package.");
        await using var model = await FakeModelServer.StartAsync();
        model.Enqueue(ScriptedReply.Text("Noted: the bird is HERON."));
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        var samples = TempPaths.NewDirectory("pc-samples");
        try
        {
            await using var server = await TestServer.StartAsync(agents: ClaudeCli.Against(model, home));
            var laptop = await server.PairAsync("laptop");
            var project = await laptop.Http.PostOkAsync("/api/projects", new { path = repository });
            var sessionId = (await laptop.Http.PostOkAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions",
                new { agent = "claude-code", prompt = "Remember the bird HERON" })).GetProperty("id").GetString()!;
            await using (var events = await SseClient.ConnectAsync(laptop.Http, $"/api/sessions/{sessionId}/events"))
            {
                await events.WaitForAsync("turn.completed");
                await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
            }

            // The kill comes later than Claude's writing of the first turn, as a crash an hour on would.
            // (In the sandboxed agent's home of PocketCoder's own.)
            var config = new PocketCoder.Agents.Processes.AgentHome(server.Services.GetRequiredService<Sandboxing>().HomeOf("claude-code"), home)
                .Map(Path.Combine(home, ".claude"));
            await ClaudeCli.TranscriptHoldsAsync(config, "Noted: the bird is HERON.");

            // One event of every kind, through the server's own log: stored, numbered and sent as an agent's would be.
            var log = server.Services.GetRequiredService<EventLog>();
            var appended = server.Services.GetRequiredService<Database>().Write(write =>
                EventSamples.All.Select(sample => new { sample.Kind, sample.Append(log, write, sessionId).Seq, sample.Shows, sample.Folded }).ToList());
            var samplesFile = Path.Combine(samples, "samples.json");
            await File.WriteAllTextAsync(samplesFile, JsonSerializer.Serialize(appended, JsonSerializerOptions.Web));

            // The later turn delegates: the subagent's shell call is the later card, naming its subagent (issue #55).
            model.Enqueue(
                ScriptedReply.ToolUse("Agent", new { description = "Check the folder", prompt = "Write checked.txt", subagent_type = "general-purpose", run_in_background = false }),
                ScriptedReply.ToolUse("Bash", new { command = "echo checked > checked.txt", description = "Write checked.txt" }),
                ScriptedReply.Text("The subagent checked it."),
                ScriptedReply.Text("Checked after every kind."),
                ScriptedReply.Text("The bird was HERON."));
            var code = await BrowserScript.PairingCodeAsync(server.DataDirectory);
            var shots = Path.Combine(web, "test-results");
            var (exitCode, script) = await PhoneAppBrowserTests.RunNodeAsync(web,
                ["e2e/every-event.mjs", "--url", server.BaseUrl.ToString(), "--code", code, "--session", sessionId, "--samples", samplesFile, "--shots", shots],
                laptop.Token,
                line =>
                {
                    if (line == "kill: the agent")
                    {
                        // As the kernel's OOM killer would: no word from it, no chance to clean up.
                        System.Diagnostics.Process.GetProcessById(AgentProcesses.Started(home)).Kill();
                    }
                });
            output.WriteLine(script);
            Assert.True(exitCode == 0, $"every-event.mjs failed (screenshots in {shots}):\n{script}");
            Assert.Contains("no script errors", script, StringComparison.Ordinal);

            Assert.Equal("checked\n", await File.ReadAllTextAsync(Path.Combine(repository, "checked.txt")));
            // The restarted agent carried its conversation on: the turn before the kill reached the model again.
            var conversation = model.Requests[^1].Body.GetProperty("messages").GetRawText();
            Assert.Contains("Which bird?", conversation, StringComparison.Ordinal);
            Assert.Contains("Remember the bird HERON", conversation, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(samples);
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }
}
