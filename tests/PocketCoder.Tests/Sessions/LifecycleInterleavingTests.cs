using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Sessions;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Sessions;

/// <summary>
/// Random interleavings, from several callers at once, of what people do to sessions (create, message, stop, cancel, resume,
/// the agent limit raised and lowered, turns ending, calls asked and allowed or denied, agents crashing) against the fake agent, then the invariants at quiescence: every agent
/// process holds a slot and every slot an agent process; a session said stopped, failed or queued has no agent process, and
/// every agent process belongs to a session said to have one; nobody's message ran twice; no request answered 5xx. Each of
/// last round's races between start, stop, pause and slots broke one of these. A seed that fails is named, and replays
/// alone with <c>POCKETCODER_LIFECYCLE_SEED</c>; <c>POCKETCODER_LIFECYCLE_SEEDS</c> runs that many (the suite runs a few).
/// </summary>
public sealed class LifecycleInterleavingTests
{
    private const int Callers = 3;
    private const int StepsPerCaller = 10;

    [Fact]
    public async Task RandomInterleavings_LeaveEveryAgentProcessAndSlotAccountedFor()
    {
        foreach (var seed in Seeds())
        {
            try
            {
                await RunAsync(seed);
            }
            catch (Exception exception)
            {
                throw new Xunit.Sdk.XunitException($"Seed {seed} (replay with POCKETCODER_LIFECYCLE_SEED={seed}): {exception.Message}");
            }
        }
    }

    private static IEnumerable<int> Seeds()
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_LIFECYCLE_SEED") is { } one)
        {
            return [int.Parse(one, CultureInfo.InvariantCulture)];
        }

        var count = int.TryParse(Environment.GetEnvironmentVariable("POCKETCODER_LIFECYCLE_SEEDS"), out var n) ? n : 3;
        return Enumerable.Range(1, count);
    }

    private static async Task RunAsync(int seed)
    {
        var turns = new TurnGate();
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                var cancels = session.Cancels;
                // Some prompts ask to run a command first: the turn waits on someone's decision (a pause, a withdrawal on cancel).
                if (prompt.Text.Contains("ask", StringComparison.Ordinal))
                {
                    try
                    {
                        await session.AskToRunAsync($"echo {prompt.Text}");
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }

                await turns.Current;
                // As a real agent does, a turn cancelled meanwhile says nothing more (it was told as ended when cancelled).
                if (session.Cancels == cancels)
                {
                    await FakeAgent.Echo(session, prompt);
                }
            },
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        var run = new Run(world, turns, fake, seed);
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => run.CallerAsync(new Random(seed * 31 + caller))));

        await run.QuiesceAsync();
        await run.CheckAsync(fake);
    }

    /// <summary>What every turn waits on: released now and then by a step, and for good before the checks.</summary>
    private sealed class TurnGate
    {
        private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Current => Volatile.Read(ref _gate).Task;

        public void Release() => Interlocked.Exchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult();

        public void Open() => Volatile.Read(ref _gate).TrySetResult();
    }

    private sealed class Run(AgentWorld world, TurnGate turns, FakeAgent fake, int seed)
    {
        private readonly ConcurrentBag<string> _sessions = [];
        private readonly ConcurrentBag<string> _failures = [];
        private int _messages;

        public async Task CallerAsync(Random random)
        {
            for (var step = 0; step < StepsPerCaller; step++)
            {
                var known = _sessions.ToArray();
                var session = known.Length == 0 ? null : known[random.Next(known.Length)];
                var (what, response) = (random.Next(13), session) switch
                {
                    (10, _) => ("decide", await DecideOneAsync(random)),
                    (11, _) => ("crash", Crash(random)),
                    (< 3, _) or (_, null) => ("create", await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions",
                        new { agent = world.Agent, prompt = Text() })),
                    (< 5, _) => ("message", await world.Http.PostAsJsonAsync($"/api/sessions/{session}/messages", new { text = Text() })),
                    (5, _) => ("stop", await world.Http.DeleteAsync($"/api/sessions/{session}")),
                    (6, _) => ("cancel", await world.Http.PostAsync($"/api/sessions/{session}/cancel", null)),
                    (7, _) => ("resume", await world.Http.PostAsync($"/api/sessions/{session}/resume", null)),
                    (8, _) => ("limit", await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = random.Next(1, 4) })),
                    _ => ("turns", null),
                };
                if (what == "crash" || (what == "decide" && response is null))
                {
                    continue;
                }

                if (what == "turns")
                {
                    turns.Release();
                    continue;
                }

                if ((int)response!.StatusCode >= 500)
                {
                    _failures.Add($"{what} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }

                if (what == "create" && response.StatusCode == HttpStatusCode.Created)
                {
                    _sessions.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
                }
            }

            Assert.True(_failures.IsEmpty, string.Join("\n", _failures));
        }

        // One message in three asks to run a command first.
        private string Text() => Interlocked.Increment(ref _messages) is var n && n % 3 == 0 ? $"m{seed}-{n}-ask" : $"m{seed}-{n}";

        /// <summary>Someone allows or denies one of the calls waiting (null when none waits).</summary>
        private async Task<HttpResponseMessage?> DecideOneAsync(Random random)
        {
            var pending = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().ToList();
            if (pending.Count == 0)
            {
                return null;
            }

            var approval = pending[random.Next(pending.Count)].GetProperty("id").GetString()!;
            var decided = await world.DecideAsync(approval, random.Next(2) == 0 ? "allow_once" : "deny");
            // Two callers may decide the same call: the second is told it is decided, never that it ran twice.
            return decided.StatusCode == HttpStatusCode.Conflict ? null : decided;
        }

        /// <summary>An agent process ends on its own, as a crash would: its session must say so and hold no slot.</summary>
        private HttpResponseMessage? Crash(Random random)
        {
            var alive = fake.Started.Where(p => !p.Exited.IsCompleted).ToList();
            if (alive.Count > 0)
            {
                alive[random.Next(alive.Count)].Exit();
            }

            return null;
        }

        /// <summary>Every turn may end, every session in line may start: until nothing starts, runs or waits for a slot.</summary>
        public async Task QuiesceAsync()
        {
            turns.Open();
            (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 100 })).EnsureSuccessStatusCode();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                // Whatever still waits on someone is decided.
                foreach (var waiting in (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray())
                {
                    await world.DecideAsync(waiting.GetProperty("id").GetString()!, "allow_once");
                }

                var statuses = await StatusesAsync();
                var resources = await world.Http.GetOkAsync("/api/resources");
                if (resources.GetProperty("queued").GetArrayLength() == 0
                    && statuses.Values.All(s => SessionLifecycle.State(s).AtRest)
                    && await NoQueuedMessageAboutToStartAsync(statuses))
                {
                    return;
                }

                if (DateTime.UtcNow >= deadline)
                {
                    var restless = statuses.First(s => !SessionLifecycle.State(s.Value).AtRest).Key;
                    var page = await world.Http.GetOkAsync($"/api/sessions/{restless}/events/page?limit=40");
                    Assert.Fail("Never came to rest: " + string.Join(", ", statuses.Select(s => $"{s.Key[..8]} {s.Value}")) + $"; {restless[..8]}'s last events: "
                        + string.Join(" ", page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()
                            + (e.GetProperty("data").TryGetProperty("status", out var st) ? "=" + st.GetString() : ""))));
                }

                await Task.Delay(50);
            }
        }

        /// <summary>
        /// An idle session whose queue is not held starts its next message by itself (off the turn that just ended), so it is
        /// not yet at rest: a session said idle between the two would otherwise be read as quiet and then be seen running.
        /// </summary>
        private async Task<bool> NoQueuedMessageAboutToStartAsync(Dictionary<string, string> statuses)
        {
            foreach (var session in statuses.Where(s => s.Value == "idle").Select(s => s.Key))
            {
                var queue = await world.Http.GetOkAsync($"/api/sessions/{session}/queue");
                if (queue.GetProperty("messages").GetArrayLength() > 0 && !queue.GetProperty("held").GetBoolean())
                {
                    return false;
                }
            }

            return true;
        }

        public async Task CheckAsync(FakeAgent fake)
        {
            var statuses = await StatusesAsync();
            var live = fake.Started.Where(p => !p.Exited.IsCompleted).Select(p => Path.GetFileName(p.Options!.LogDirectory)).ToList();
            var resources = await world.Http.GetOkAsync("/api/resources");
            Assert.True(live.Count == resources.GetProperty("running").GetInt32(),
                $"{live.Count} agent process(es) alive, {resources.GetProperty("running").GetInt32()} slot(s) held");
            Assert.Equal(live.Count, live.Distinct().Count());
            foreach (var session in live)
            {
                Assert.True(statuses.GetValueOrDefault(session) is "idle", $"Session {session} has an agent process but says {statuses.GetValueOrDefault(session)}");
            }

            // What the lifecycle table says of each state: where no agent may run, none does.
            foreach (var (session, status) in statuses.Where(s => SessionLifecycle.State(s.Value).Agent == AgentProcess.None))
            {
                Assert.True(!live.Contains(session), $"Session {session} says {status} but its agent process runs");
            }

            var ran = new List<string>();
            foreach (var session in statuses.Keys)
            {
                var page = await world.Http.GetOkAsync($"/api/sessions/{session}/events/page?limit=1000");
                ran.AddRange(page.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "message.user")
                    .Select(e => e.GetProperty("data").GetProperty("text").GetString()!));
            }

            var twice = ran.GroupBy(t => t).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(twice.Count == 0, "Ran twice: " + string.Join(", ", twice));
        }

        private async Task<Dictionary<string, string>> StatusesAsync()
        {
            var statuses = new Dictionary<string, string>();
            foreach (var session in _sessions.Distinct())
            {
                statuses[session] = (await world.Http.GetOkAsync($"/api/sessions/{session}")).GetProperty("status").GetString()!;
            }

            return statuses;
        }
    }
}
