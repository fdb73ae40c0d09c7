using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The REAL OpenCode CLI (<c>opencode serve</c>, one per project) driven by the server, offline against the fake
/// model on the OpenAI Chat Completions wire: every command waits for the owner, sessions survive restarts,
/// turns can be stopped.
/// </summary>
public sealed class OpenCodeTests
{
    [Fact]
    public async Task OpenCodeSession_AllowThenDeny_RunsOnlyWhatTheOwnerAllowed()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("bash", new { command = "echo hi > made-by-agent.txt", description = "Write a file" }, "I'll write the file."),
            ScriptedReply.Text("The file is written."),
            ScriptedReply.ToolUse("bash", new { command = "touch never.txt", description = "Touch a file" }),
            ScriptedReply.Text("Understood, I did not touch it."));
        var made = Path.Combine(world.Repository, "made-by-agent.txt");
        var never = Path.Combine(world.Repository, "never.txt");

        var sessionId = await world.StartSessionAsync("Please write hi into made-by-agent.txt");
        await using var events = await world.EventsAsync(sessionId);

        var requested = await events.WaitForAsync("approval.requested");
        Assert.Equal("bash", requested.Str("tool"));
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

        await world.SendAsync(sessionId, "Now touch never.txt");
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Id > completed.Id);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(second.Str("approvalId")!, "deny", "Not in this repository, please."));
        var denied = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == second.Str("toolCallId"));
        Assert.True(denied.Json.GetProperty("isError").GetBoolean());
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > denied.Id);
        Assert.False(File.Exists(never), "A denied command ran.");
        Assert.Contains(world.Model.Requests[^1].LastToolResults(), r => r.Content.Contains("Not in this repository, please.", StringComparison.Ordinal));

        var kinds = events.Received.Select(e => e.Event).ToHashSet();
        Assert.Superset(new HashSet<string> { "message.user", "message.delta", "message", "tool.call", "tool.result", "approval.requested", "approval.resolved", "usage", "turn.completed" }, kinds);
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "I'll write the file.");

        // Nothing of the test set-up (or of PocketCoder) was written into the user's project.
        Assert.False(File.Exists(Path.Combine(world.Repository, "opencode.json")));
    }

    [Fact]
    public async Task OpenCodeSession_ServerRestart_ContinuesTheSameConversation()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
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

        var request = world.Model.Requests.Last(r => r.ConsumedScript);
        Assert.Equal("Which word did I ask you to remember?", request.LastUserText());
        Assert.True(request.Contains("Remember the word papaya."), "The earlier user message is missing after the restart.");
        Assert.True(request.Contains("Noted: papaya."), "The earlier answer is missing after the restart.");
    }

    [Fact]
    public async Task OpenCodeSession_CancelWhileModelThinks_StopsTurnAndStaysUsable()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        var release = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(release.Task, "This answer never arrives."), ScriptedReply.Text("Back again."));
        var sessionId = await world.StartSessionAsync("Think about it for a long time.");
        await using var events = await world.EventsAsync(sessionId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await world.Model.WaitForRequestAsync(r => r.ConsumedScript, timeout.Token);

        await world.CancelAsync(sessionId);
        var stopped = await events.WaitForAsync("turn.completed");
        Assert.Equal("cancelled", stopped.Str("stopReason"));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > stopped.Id);

        await world.SendAsync(sessionId, "Are you still there?");
        var next = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > stopped.Id);
        Assert.Equal("Back again.", next.Str("result"));
        Assert.DoesNotContain(events.Received, e => e.Event == "message" && e.Str("text") == "This answer never arrives.");
        release.TrySetResult();
    }

    [Fact]
    public async Task Health_OpenCodeInstalled_ReportsItsVersion()
    {
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        try
        {
            await using var server = await TestServer.StartAsync(agents: AgentClis.OpenCode(model, home));
            var health = await server.Anonymous.GetOkAsync("/api/health");
            var openCode = health.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("id").GetString() == "opencode");
            Assert.True(openCode.GetProperty("available").GetBoolean());
            Assert.Equal("1.18.33", openCode.GetProperty("version").GetString());
        }
        finally
        {
            TempPaths.Delete(home);
        }
    }
}
