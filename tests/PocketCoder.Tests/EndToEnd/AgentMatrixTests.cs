using System.Net;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// The eight things every named agent is held to, each REAL CLI against the fake model, sandboxed as by default: text and its
/// usage, a tool call put to the owner and denied, allow, edit-then-allow (or refused up front where the agent cannot run an
/// edited input), cancel, and resume after a restart. One theory per capability, so a run names exactly what an agent (or a
/// newer release of it: scripts/check-newest-agents.sh) can no longer do. What an agent's protocol cannot do is said in
/// <see cref="RunsEditedInput"/>, in docs/agents.md, and to the phone (<c>canEditInput</c>). Each agent has one world for the
/// class (server, fake model, repository), and each test a session of its own that it stops at the end: a world per test was
/// most of this class's 14 minutes in CI.
/// </summary>
public sealed class AgentMatrixTests(AgentMatrixTests.Worlds worlds) : IClassFixture<AgentMatrixTests.Worlds>
{
    public static TheoryData<string> Agents => [.. AgentWorld.Named];

    /// <summary>One world per agent, made when its first test runs and disposed with the class.</summary>
    public sealed class Worlds : IAsyncLifetime
    {
        private readonly Dictionary<string, Task<AgentWorld>> _worlds = new(StringComparer.Ordinal);

        /// <summary>The agent's world, with nothing left in the model's script by an earlier test.</summary>
        public async Task<AgentWorld> OfAsync(string agent)
        {
            Task<AgentWorld> world;
            lock (_worlds)
            {
                if (!_worlds.TryGetValue(agent, out world!))
                {
                    _worlds[agent] = world = AgentWorld.NamedAsync(agent);
                }
            }

            var started = await world;
            started.Model.ClearScript();
            return started;
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            foreach (var world in _worlds.Values.Where(w => w.IsCompletedSuccessfully))
            {
                await world.Result.DisposeAsync();
            }
        }
    }

    /// <summary>Runs a test's session in the agent's shared world, and stops the session after (its agent then exits).</summary>
    private async Task InWorldAsync(string agent, Func<AgentWorld, Func<string, Task<string>>, Task> test)
    {
        var world = await worlds.OfAsync(agent);
        var started = new List<string>();
        try
        {
            await test(world, async prompt =>
            {
                var id = await world.StartSessionAsync(prompt);
                started.Add(id);
                return id;
            });
        }
        finally
        {
            foreach (var id in started)
            {
                using var stopped = await world.Http.DeleteAsync($"/api/sessions/{id}");
            }
        }
    }

    /// <summary>
    /// Agents that run the input an "edit, then allow" sends back. The rest never see an edited input (their protocols answer
    /// a permission with an option, not a new input), so the server refuses it up front and the phone offers no edit.
    /// </summary>
    private static readonly HashSet<string> RunsEditedInput = ["claude-code", "pi"];

    [Theory]
    [MemberData(nameof(Agents))]
    public Task Text_TheModelsAnswerReachesThePhone_AndItsTokensAreReported(string agent) => InWorldAsync(agent, async (world, start) =>
    {
        world.Model.Enqueue(ScriptedReply.Text("Plain words from the model."));
        var sessionId = await start("say something");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync(e => e.Event == "message" && (e.Str("text") ?? "").Contains("Plain words from the model.", StringComparison.Ordinal));
        var ended = await TurnCompletedAsync(events);
        var usage = events.Received.Where(e => e.Event == "usage" && e.Id < ended.Id).ToList();
        Assert.True(usage.Count > 0, "no usage event before the turn ended");
        Assert.Contains(usage, e => e.Json.GetProperty("inputTokens").GetInt64() > 0);
    });

    /// <summary>A call waits for the owner, with its command shown and nothing run; denied, nothing runs and the turn ends.</summary>
    [Theory]
    [MemberData(nameof(Agents))]
    public Task ToolCall_PutToTheOwnerWithItsCommand_NothingRuns_DenyEndsTheTurn(string agent) => InWorldAsync(agent, async (world, start) =>
    {
        world.Model.Enqueue(world.ShellCall("touch denied.txt"), ScriptedReply.Text("Understood."));
        var sessionId = await start("touch a file");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync(e => e.Event is "approval.requested" or "tool.result" or "turn.completed");
        Assert.Equal("approval.requested", asked.Event);
        Assert.Contains("touch denied.txt", asked.Json.GetProperty("input").GetRawText(), StringComparison.Ordinal);
        Assert.Equal("execute", asked.Str("kind"));
        Assert.False(File.Exists(Path.Combine(world.Repository, "denied.txt")));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "deny", "Not now."));
        await TurnCompletedAsync(events);
        Assert.False(File.Exists(Path.Combine(world.Repository, "denied.txt")));
    });

    /// <summary>
    /// Allowed, the command runs, and the call's row on the phone shows that command (not an empty call): some agents announce a
    /// call before its input is known and tell it later (Qwen Code, claude-agent-acp), which the row takes in place.
    /// </summary>
    [Theory]
    [MemberData(nameof(Agents))]
    public Task Allow_TheCommandRuns_AndItsRowShowsIt(string agent) => InWorldAsync(agent, async (world, start) =>
    {
        const string command = "echo allowed > allowed.txt";
        world.Model.Enqueue(world.ShellCall(command), ScriptedReply.Text("Written."));
        var sessionId = await start("write a file");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        await TurnCompletedAsync(events);
        Assert.Equal("allowed\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "allowed.txt")));

        var (rows, input) = ShownCall(events.Received, asked.Str("toolCallId")!);
        Assert.Equal(1, rows);
        Assert.True(Texts(input).Any(text => text.Contains(command, StringComparison.Ordinal)), $"the row shows {input.GetRawText()}, not what ran");
    });

    [Theory]
    [MemberData(nameof(Agents))]
    public Task EditThenAllow_TheEditedCommandRuns_OrIsRefusedUpFront(string agent) => InWorldAsync(agent, async (world, start) =>
    {
        world.Model.Enqueue(world.ShellCall("touch asked.txt"), ScriptedReply.Text("Done."));
        var sessionId = await start("touch a file");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        var approvalId = asked.Str("approvalId")!;
        var edited = new { command = "touch edited.txt", description = "run it" };

        Assert.Equal(RunsEditedInput.Contains(agent), asked.Json.GetProperty("canEditInput").GetBoolean());
        if (RunsEditedInput.Contains(agent))
        {
            await ApiAssert.OkJsonAsync(await world.DecideAsync(approvalId, "allow_once", updatedInput: edited));
            await TurnCompletedAsync(events);
            Assert.True(File.Exists(Path.Combine(world.Repository, "edited.txt")), "the edited command did not run");
        }
        else
        {
            await ApiAssert.ProblemAsync(await world.DecideAsync(approvalId, "allow_once", updatedInput: edited),
                HttpStatusCode.UnprocessableEntity, "EDITED_INPUT_UNSUPPORTED");
            Assert.Equal("pending", (await world.Http.GetOkAsync($"/api/approvals/{approvalId}")).GetProperty("status").GetString());
            await ApiAssert.OkJsonAsync(await world.DecideAsync(approvalId, "deny"));
            await TurnCompletedAsync(events);
            Assert.False(File.Exists(Path.Combine(world.Repository, "edited.txt")));
        }

        Assert.False(File.Exists(Path.Combine(world.Repository, "asked.txt")), "the command as asked ran");
    });

    [Theory]
    [MemberData(nameof(Agents))]
    public Task Cancel_WhileACallWaits_TheTurnEndsNothingRuns_AndTheSessionGoesOn(string agent) => InWorldAsync(agent, async (world, start) =>
    {
        // Only the call: a cancelled turn asks the model nothing more, so the next reply queued is the next turn's.
        world.Model.Enqueue(world.ShellCall("touch cancelled.txt"));
        var sessionId = await start("touch a file");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");

        await world.CancelAsync(sessionId);
        var ended = await TurnCompletedAsync(events);
        Assert.NotEqual("pending", (await world.Http.GetOkAsync($"/api/approvals/{asked.Str("approvalId")}")).GetProperty("status").GetString());
        // A turn the owner stopped is told as stopped, whatever the agent calls it (Claude Code: an error): the phone must not show a failure (#51).
        Assert.Equal("cancelled", ended.Str("stopReason"));
        Assert.False(ended.Json.GetProperty("isError").GetBoolean());

        world.Model.Enqueue(ScriptedReply.Text("Still here."));
        await world.SendAsync(sessionId, "are you there?");
        await events.WaitForAsync(e => e.Event == "message" && e.Id > ended.Id && (e.Str("text") ?? "").Contains("Still here.", StringComparison.Ordinal));
        await TurnCompletedAsync(events, after: ended.Id);
        Assert.False(File.Exists(Path.Combine(world.Repository, "cancelled.txt")));
    });

    [Theory]
    [MemberData(nameof(Agents))]
    public Task Resume_AfterARestart_TheModelIsToldTheEarlierTurn(string agent) => InWorldAsync(agent, async (world, start) =>
    {
        world.Model.Enqueue(ScriptedReply.Text("Noted."));
        var sessionId = await start("Remember the word QUINCE.");
        await using (var events = await world.EventsAsync(sessionId))
        {
            await TurnCompletedAsync(events);
        }

        await world.RestartServerAsync();
        var lastSeq = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await using (var events = await world.EventsAsync(sessionId))
        {
            world.Model.Enqueue(ScriptedReply.Text("QUINCE."));
            await world.SendAsync(sessionId, "Which word?");
            await TurnCompletedAsync(events, after: lastSeq);
        }

        var body = world.Model.Requests.Last(r => r.ConsumedScript).Body.GetRawText();
        Assert.Contains("Remember the word QUINCE.", body, StringComparison.Ordinal);
        Assert.Contains("Noted.", body, StringComparison.Ordinal);
    });

    /// <summary>
    /// A call as the phone shows it (web/src/events.ts): how many rows its <c>tool.call</c> events make (one), and its input
    /// after every <c>tool.call.updated</c>.
    /// </summary>
    private static (int Rows, JsonElement Input) ShownCall(IEnumerable<SseEvent> received, string toolCallId)
    {
        var ofCall = received.Where(e => e.Event is "tool.call" or "tool.call.updated" && e.Str("toolCallId") == toolCallId).ToList();
        var rows = ofCall.Count(e => e.Event == "tool.call");
        Assert.True(rows > 0, $"no tool.call for {toolCallId}");
        return (rows, ofCall.Last().Json.GetProperty("input"));
    }

    /// <summary>Every string in a JSON value: a call's input says its command in a field of its own agent's naming.</summary>
    private static IEnumerable<string> Texts(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => [value.GetString()!],
        JsonValueKind.Object => value.EnumerateObject().SelectMany(property => Texts(property.Value)),
        JsonValueKind.Array => value.EnumerateArray().SelectMany(Texts),
        _ => [],
    };

    /// <summary>The turn's end; an error on the way fails the test with its words instead of a timeout.</summary>
    private static async Task<SseEvent> TurnCompletedAsync(SseClient events, long after = 0)
    {
        var ended = await events.WaitForAsync(e => e.Id > after && e.Event is "turn.completed" or "session.error");
        Assert.True(ended.Event == "turn.completed", "session.error: " + ended.Json.GetRawText());
        return ended;
    }
}
