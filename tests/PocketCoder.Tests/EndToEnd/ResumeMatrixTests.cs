using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Every agent, sandboxed as by default, carries one conversation through two server restarts in a row (another session of
/// the project started between them) and an idle suspension: each later turn reaches the model with all the turns before
/// it. One resume is not enough to find a loss: Gemini CLI 0.61 lost a conversation loaded twice, and one loaded in the
/// minute it began (docs/agents-acp.md, Resume); claude-agent-acp kept none when its sandbox did not let it write its
/// state (docs/agents-acp.md, Configuring agents). Three loads of the conversation find both; a third restart found
/// nothing more and cost each agent one more start (Kilo Code's alone is about 10 s of CPU).
/// </summary>
public sealed class ResumeMatrixTests
{
    private const string Word = "PERSIMMON";

    public static TheoryData<string> Agents => [.. AgentWorld.Named];

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task Conversation_TwoRestartsThenSuspension_EveryTurnRemembersTheEarlierOnes(string agent)
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.NamedAsync(agent, clock);
        Assert.Equal("sandboxed", (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}")).GetProperty("sandbox").GetString());

        world.Model.Enqueue(ScriptedReply.Text("Answer 0."));
        var sessionId = await world.StartSessionAsync($"Remember the word {Word}.");
        await using (var events = await world.EventsAsync(sessionId))
        {
            await events.WaitForAsync("turn.completed");
        }

        for (var turn = 1; turn <= 2; turn++)
        {
            await world.RestartServerAsync();
            await AskAsync(world, sessionId, turn);
            if (turn == 1)
            {
                // Another session of the project starts meanwhile: Gemini CLI cleans up its chat files at every start.
                world.Model.Enqueue(ScriptedReply.Text("Another answer."));
                var other = await world.StartSessionAsync("Another conversation.");
                await using var events = await world.EventsAsync(other);
                await events.WaitForAsync("turn.completed");
            }
        }

        await using (var events = await world.EventsAsync(sessionId))
        {
            clock.Advance(TimeSpan.FromMinutes(16));
            await events.WaitForAsync(e => e.Event == "session.status" && (e.Str("reason") ?? "").Contains("suspended", StringComparison.Ordinal));
        }

        await AskAsync(world, sessionId, 3);
    }

    /// <summary>One more turn; the model must be told the word and every answer it gave before.</summary>
    private static async Task AskAsync(AgentWorld world, string sessionId, int turn)
    {
        var lastSeq = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await using var events = await world.EventsAsync(sessionId);
        world.Model.Enqueue(ScriptedReply.Text($"Answer {turn}."));
        await world.SendAsync(sessionId, $"Question {turn}: which word?");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > lastSeq);

        var errors = events.Received.Where(e => e.Id > lastSeq && e.Event == "session.error").Select(e => e.Str("message")).ToList();
        Assert.True(errors.Count == 0, $"turn {turn}: {string.Join(" | ", errors)}");
        var asked = world.Model.Requests.Last(r => r.ConsumedScript);
        var body = asked.Body.GetRawText();
        Assert.True(body.Contains(Word, StringComparison.Ordinal), $"turn {turn}: the model was not told the word");
        for (var earlier = 0; earlier < turn; earlier++)
        {
            Assert.True(body.Contains($"Answer {earlier}.", StringComparison.Ordinal), $"turn {turn}: the model was not told its answer {earlier}");
        }
    }
}
