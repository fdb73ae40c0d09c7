using System.Net.Http.Json;
using PocketCoder.Sessions;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Sessions;

public sealed partial class LifecycleInterleavingTests
{
    private sealed partial class Run
    {
        /// <summary>Every turn may end, every session in line may start: until nothing starts, runs or waits for a slot.</summary>
        public async Task QuiesceAsync()
        {
            await NoWaiterWhileASlotIsFreeAsync();
            turns.Open();
            (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 100 })).EnsureSuccessStatusCode();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            var calm = 0;
            while (true)
            {
                // Whatever still waits on someone is decided. A decision resumes a paused (or interrupted) agent in the
                // background, after the answer: a session said idle just then is not at rest, so rest is seen a few times
                // over with nothing decided in between.
                var decided = false;
                foreach (var waiting in (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray())
                {
                    await DecideAsync(waiting.GetProperty("id").GetString()!, "allow_once");
                    decided = true;
                }

                var statuses = await StatusesAsync();
                var resources = await world.Http.GetOkAsync("/api/resources");
                calm = !decided && resources.GetProperty("queued").GetArrayLength() == 0
                    && statuses.Values.All(s => SessionLifecycle.State(s).AtRest)
                    && await NoQueuedMessageAboutToStartAsync(statuses) ? calm + 1 : 0;
                if (calm == 3)
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
        /// Looked at first, with the limit as the steps left it (raising it, as rest is waited for below, would wake the waiter):
        /// nobody waits in line while a slot is free for them. Between a slot let go and the line moved the two disagree for an
        /// instant, so only a disagreement that lasts is a waiter stranded, whom no slot let go would ever reach.
        /// </summary>
        private async Task NoWaiterWhileASlotIsFreeAsync()
        {
            var slots = world.Server.Services.GetRequiredService<PocketCoder.Sessions.Running.AgentSlots>();
            for (var look = 0; slots.Waiting is { Count: > 0 } waiting && slots.Running < slots.Limit && slots.PerPersonLimit is null; look++)
            {
                Assert.True(look < 40, $"{string.Join(", ", waiting.Select(w => w[..8]))} wait(s) in line with {slots.Running} of {slots.Limit} slot(s) held");
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

        public async Task CheckAsync()
        {
            Assert.True(_failures.IsEmpty, string.Join("\n", _failures));
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

            await EveryMessageRanOnceOrIsShownAsync(statuses);
            var twice = _decided.Where(d => d.Value > 1).Select(d => d.Key).ToList();
            Assert.True(twice.Count == 0, "Decided twice: " + string.Join(", ", twice));
            Assert.True(!calls.Twice.Any(), "A call ran twice: " + string.Join(", ", calls.Twice));
        }

        /// <summary>
        /// Each message sent ran once (its <c>message.user</c>), or still waits in its session's queue for someone; and none was
        /// refused but as docs/api.md says a message may be.
        /// </summary>
        private async Task EveryMessageRanOnceOrIsShownAsync(Dictionary<string, string> statuses)
        {
            var sessions = statuses.Keys;
            var ran = new List<string>();
            var shown = new HashSet<string>(StringComparer.Ordinal);
            foreach (var session in sessions)
            {
                var page = await world.Http.GetOkAsync($"/api/sessions/{session}/events/page?limit=1000");
                ran.AddRange(page.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "message.user")
                    .Select(e => e.GetProperty("data").GetProperty("text").GetString()!));
                shown.UnionWith((await world.Http.GetOkAsync($"/api/sessions/{session}/queue")).GetProperty("messages").EnumerateArray()
                    .Select(m => m.GetProperty("text").GetString()!));
            }

            var twice = ran.GroupBy(t => t).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(twice.Count == 0, "Ran twice: " + string.Join(", ", twice));
            var lost = _sent.Where(s => !ran.Contains(s.Key) && !shown.Contains(s.Key)).Select(s => $"{s.Key} (to {s.Value[..8]})").ToList();
            Assert.True(lost.Count == 0, "Neither ran nor shown waiting: " + string.Join(", ", lost));
            var refused = _refused.Where(r => !RefusedAsDocumented(r.Value.Code, statuses.GetValueOrDefault(r.Value.Session)))
                .Select(r => $"{r.Key} (to {r.Value.Session[..8]}, {r.Value.Code}, now {statuses.GetValueOrDefault(r.Value.Session)})").ToList();
            Assert.True(refused.Count == 0, "Refused for the server's own reasons: " + string.Join(", ", refused));
        }

        /// <summary>
        /// The refusals docs/api.md gives a message: to a stopped session, a full queue, a conversation a terminal holds, an agent
        /// this server no longer knows. Any other 409 (the session suspended or its agent restarted as the message came) is the
        /// server's own housekeeping, and the person who sent the message loses it.
        /// </summary>
        private static bool RefusedAsDocumented(string code, string? status) => code switch
        {
            PocketCoder.Errors.ErrorCodes.SessionNotActive => status == "stopped",
            PocketCoder.Errors.ErrorCodes.QueueFull or PocketCoder.Errors.ErrorCodes.ConversationInUse or PocketCoder.Errors.ErrorCodes.AgentUnavailable => true,
            _ => false,
        };

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
