using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The REAL Codex CLI (<c>codex app-server</c>) driven by the server, offline against the fake model on the
/// OpenAI Responses wire: every command waits for the owner, conversations survive restarts, turns can be stopped.
/// </summary>
public sealed class CodexTests
{
    [Fact]
    public async Task CodexSession_AllowThenDeny_RunsOnlyWhatTheOwnerAllowed()
    {
        await using var world = await AgentWorld.CodexAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("exec_command", new { cmd = "echo hi > made-by-agent.txt" }, "I'll write the file."),
            ScriptedReply.Text("The file is written."),
            ScriptedReply.ToolUse("exec_command", new { cmd = "touch never.txt" }),
            ScriptedReply.Text("Understood, I did not touch it."));
        var made = Path.Combine(world.Repository, "made-by-agent.txt");
        var never = Path.Combine(world.Repository, "never.txt");

        var sessionId = await world.StartSessionAsync("Please write hi into made-by-agent.txt");
        await using var events = await world.EventsAsync(sessionId);

        var requested = await events.WaitForAsync("approval.requested");
        Assert.Equal("exec_command", requested.Str("tool"));
        Assert.Equal("execute", requested.Str("kind"));
        Assert.Equal("echo hi > made-by-agent.txt", requested.Json.GetProperty("input").GetProperty("command").GetString());
        Assert.False(File.Exists(made), "The command ran before anyone allowed it.");
        Assert.Equal("waiting_approval", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());

        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "allow_once"));
        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.False(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        var completed = await events.WaitForAsync("turn.completed");
        Assert.Equal("The file is written.", completed.Str("result"));
        Assert.Equal("hi\n", await File.ReadAllTextAsync(made));

        // A second command, denied with a reason the model gets to read.
        await world.SendAsync(sessionId, "Now touch never.txt");
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Id > completed.Id);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(second.Str("approvalId")!, "deny", "Not in this repository, please."));
        var denied = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == second.Str("toolCallId"));
        Assert.True(denied.Json.GetProperty("isError").GetBoolean());
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > denied.Id);
        Assert.False(File.Exists(never), "A denied command ran.");
        var modelSaw = world.Model.Requests[^1];
        Assert.Contains(modelSaw.LastToolResults(), r => r.Content.Contains("rejected", StringComparison.Ordinal));
        Assert.True(modelSaw.Contains("Not in this repository, please."), "The owner's reason did not reach the model.");

        // The stream told the whole story, in the same event kinds every agent produces.
        var kinds = events.Received.Select(e => e.Event).ToHashSet();
        Assert.Superset(new HashSet<string> { "message.user", "message.delta", "message", "tool.call", "tool.result", "approval.requested", "approval.resolved", "usage", "turn.completed" }, kinds);
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "I'll write the file.");
    }

    [Fact]
    public async Task CodexSession_ServerRestart_ContinuesTheSameConversation()
    {
        await using var world = await AgentWorld.CodexAsync();
        world.Model.Enqueue(ScriptedReply.Text("Noted: papaya."));
        var sessionId = await world.StartSessionAsync("Remember the word papaya.");
        long lastSeq;
        await using (var events = await world.EventsAsync(sessionId))
        {
            lastSeq = (await events.WaitForAsync("turn.completed")).Id;
        }

        await world.RestartServerAsync();
        world.Model.Enqueue(ScriptedReply.Text("The word was papaya."));
        await world.SendAsync(sessionId, "Which word did I ask you to remember?");
        await using var after = await world.EventsAsync(sessionId, lastSeq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var completed = await after.WaitForAsync("turn.completed");
        Assert.Equal("The word was papaya.", completed.Str("result"));

        // A new Codex process answered, and the model saw the earlier exchange: the thread was resumed, not restarted.
        var request = world.Model.Requests[^1];
        Assert.Equal("Which word did I ask you to remember?", request.LastUserText());
        Assert.True(request.Contains("Remember the word papaya."), "The earlier user message is missing after the restart.");
        Assert.True(request.Contains("Noted: papaya."), "The earlier answer is missing after the restart.");
    }

    [Fact]
    public async Task CodexSession_CancelWhileModelThinks_StopsTurnAndStaysUsable()
    {
        await using var world = await AgentWorld.CodexAsync();
        var release = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(release.Task, "This answer never arrives."), ScriptedReply.Text("Back again."));
        var sessionId = await world.StartSessionAsync("Think about it for a long time.");
        await using var events = await world.EventsAsync(sessionId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await world.Model.WaitForRequestAsync(r => r.ConsumedScript, timeout.Token);

        await world.CancelAsync(sessionId);
        var stopped = await events.WaitForAsync("turn.completed");
        Assert.Equal("cancelled", stopped.Str("stopReason")); // Codex says "interrupted"; every agent's stopped turn reads the same
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > stopped.Id);
        Assert.DoesNotContain(events.Received, e => e.Event == "message" && e.Str("text") == "This answer never arrives.");

        await world.SendAsync(sessionId, "Are you still there?");
        var next = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > stopped.Id);
        Assert.Equal("Back again.", next.Str("result"));
        release.TrySetResult();
    }

    [Fact]
    public async Task Health_CodexInstalled_ReportsItsVersion()
    {
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        try
        {
            await using var server = await TestServer.StartAsync(agents: AgentClis.Codex(model, home));
            var health = await server.Anonymous.GetOkAsync("/api/health");
            var codex = health.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("id").GetString() == "codex");
            Assert.True(codex.GetProperty("available").GetBoolean());
            Assert.Equal("0.169.0", codex.GetProperty("version").GetString());
        }
        finally
        {
            TempPaths.Delete(home);
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task CreateSession_CodexFailsToStart_Answers503WithItsStderr()
    {
        var fake = TempPaths.NewDirectory("pc-fake-codex");
        var script = Path.Combine(fake, "codex");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho 'config.toml: unknown model provider fake' >&2\nexit 3\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            await using var server = await TestServer.StartAsync(agents: new Dictionary<string, AgentCommand>
            {
                ["codex"] = new AgentCommand(script, new Dictionary<string, string?>()),
            });
            var phone = await server.PairAsync();
            var repository = TempPaths.NewGitRepository();
            try
            {
                var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository, name = "demo" });
                var response = await phone.Http.PostAsJsonAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions", new { agent = "codex", prompt = "hi" });
                var problem = await ApiAssert.StartFailsAsync(phone.Http, response, "AGENT_UNAVAILABLE");
                Assert.Contains("unknown model provider fake", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
            finally
            {
                TempPaths.Delete(repository);
            }
        }
        finally
        {
            TempPaths.Delete(fake);
        }
    }
}
