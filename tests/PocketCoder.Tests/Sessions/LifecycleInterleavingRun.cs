using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Sessions.Live;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Sessions;

public sealed partial class LifecycleInterleavingTests
{
    /// <summary>One seed's run: the callers' steps, and what they leave to check.</summary>
    private sealed partial class Run(AgentWorld world, TurnGate turns, FakeAgent fake, ManualClock clock, CallsRun calls, StepLog log, int seed)
    {
        private readonly ConcurrentBag<string> _sessions = [];
        private readonly ConcurrentBag<string> _failures = [];

        // Every message a request put in (its text, then its session): it runs once, or is still shown in the queue.
        private readonly ConcurrentDictionary<string, string> _sent = new(StringComparer.Ordinal);

        // Every message refused 409 (its text, then its session and the refusal's code): refused for the server's own
        // housekeeping (a suspension, a restart of its agent) it is lost to the person who sent it.
        private readonly ConcurrentDictionary<string, (string Session, string Code)> _refused = new(StringComparer.Ordinal);

        // Every approval answered 200 to a decision, and how many times.
        private readonly ConcurrentDictionary<string, int> _decided = new(StringComparer.Ordinal);

        // Steps take a share each; a restart takes them all, so no request meets a server going down.
        private readonly SemaphoreSlim _shares = new(Callers, Callers);
        private readonly SemaphoreSlim _restarting = new(1, 1);
        private string? _last;
        private int _messages;
        private int _highestLimit;
        private int _restarts;

        public async Task CallerAsync(int caller, Random random)
        {
            for (var step = 0; step < StepsPerCaller; step++)
            {
                var known = _sessions.ToArray();
                var session = known.Length == 0 ? null : known[random.Next(known.Length)];
                var pick = random.Next(21);
                if (pick == 16 && Interlocked.Increment(ref _restarts) <= 1)
                {
                    await RestartAsync();
                    log.Add($"c{caller} restart");
                    continue;
                }

                await _shares.WaitAsync();
                try
                {
                    var (what, said) = await StepAsync(pick, session, random);
                    log.Add($"c{caller} {what} {session?[..8]} {said}");
                    AgentsWithinTheLimit(what);
                }
                finally
                {
                    _shares.Release();
                }
            }

            Assert.True(_failures.IsEmpty, string.Join("\n", _failures));
        }

        /// <summary>
        /// A race's steps (<see cref="KnownRaces"/>): rounds one after the other (<c>;</c> between them), the steps of a round at
        /// once (<c>+</c> between them), each on the session created last; <c>limit N</c> sets the agent limit.
        /// </summary>
        public async Task ScriptedAsync(string script)
        {
            foreach (var round in script.Split(';', StringSplitOptions.TrimEntries))
            {
                var steps = round.Split('+', StringSplitOptions.TrimEntries);
                await Task.WhenAll(steps.Select(async (name, caller) =>
                {
                    var (what, said) = name.StartsWith("limit ", StringComparison.Ordinal)
                        ? (name, $"{(int)(await SetLimitAsync(int.Parse(name[6..], System.Globalization.CultureInfo.InvariantCulture))).StatusCode}")
                        : name == "crash" ? ("crash", await CrashLastAsync())
                        : name == "idle" ? ("idle", await IdleLastAsync())
                        : await StepAsync(StepKinds[name], name == "create" ? null : Volatile.Read(ref _last), new Random(seed * 31 + caller));
                    log.Add($"c{caller} {what} {Volatile.Read(ref _last)?[..8]} {said}");
                    AgentsWithinTheLimit(what);
                }));
            }

            Assert.True(_failures.IsEmpty, string.Join("\n", _failures));
        }

        /// <summary>Turns end and what they ask is allowed until the session created last says idle, its agent up between turns.</summary>
        private async Task<string> IdleLastAsync()
        {
            var session = Volatile.Read(ref _last)!;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            var status = "";
            while (status != "idle" && DateTime.UtcNow < deadline)
            {
                turns.Release();
                foreach (var waiting in (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray())
                {
                    await DecideAsync(waiting.GetProperty("id").GetString()!, "allow_once");
                }

                await Task.Delay(10);
                status = (await world.Http.GetOkAsync($"/api/sessions/{session}")).GetProperty("status").GetString()!;
            }

            // Queued here with the limit free for it: the sessions before it hold slots nobody runs in, or run an agent too many.
            Assert.True(status == "idle", $"Session {session[..8]} never came to idle (says {status}) with {fake.Started.Count(p => !p.Gone)} " +
                $"agent process(es) up, the limit at most {Volatile.Read(ref _highestLimit)}");
            return status;
        }

        /// <summary>The agent process of the session created last ends on its own, and the session has said so (failed).</summary>
        private async Task<string> CrashLastAsync()
        {
            var session = Volatile.Read(ref _last)!;
            var process = fake.Started.LastOrDefault(p => Path.GetFileName(p.Options!.LogDirectory) == session && !p.Gone);
            Assert.True(process is not null, $"Session {session[..8]} has no agent process to crash");
            process!.Exit();
            await process.Exited.WaitAsync(TimeSpan.FromSeconds(10));
            // Said failed as the exit is handled, a moment after the process is gone.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            var status = (await world.Http.GetOkAsync($"/api/sessions/{session}")).GetProperty("status").GetString()!;
            while (status != "failed" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
                status = (await world.Http.GetOkAsync($"/api/sessions/{session}")).GetProperty("status").GetString()!;
            }

            return status;
        }

        /// <summary>The step each name in a script stands for (its pick in <see cref="StepAsync"/>).</summary>
        private static readonly Dictionary<string, int> StepKinds = new(StringComparer.Ordinal)
        {
            ["create"] = 0, ["message"] = 2, ["stop"] = 5, ["cancel"] = 6, ["resume"] = 7, ["turns"] = 9, ["decide"] = 10,
            ["pause"] = 12, ["look"] = 13, ["suspend"] = 15, ["rewind"] = 17, ["fork"] = 18,
        };

        /// <summary>One step; says what it was and what the server answered (null: nothing was asked of it).</summary>
        private async Task<(string What, string? Said)> StepAsync(int pick, string? session, Random random)
        {
            (string What, HttpResponseMessage? Response) step = (pick, session) switch
            {
                (10, _) => ("decide", await DecideOneAsync(random)),
                (11, _) => ("crash", Crash(random)),
                (12, _) => ("pause", await PastThePauseAsync()),
                (13, _) => ("look", await LookAsync(random)),
                (15, _) => ("suspend", await SuspendIdleAsync()),
                (< 2, _) or (_, null) => ("create", await CreateAsync()),
                (< 5, _) => ("message", await SendAsync(session)),
                (5, _) => ("stop", await world.Http.DeleteAsync($"/api/sessions/{session}")),
                (6, _) => ("cancel", await world.Http.PostAsync($"/api/sessions/{session}/cancel", null)),
                (7, _) => ("resume", await world.Http.PostAsync($"/api/sessions/{session}/resume", null)),
                (8, _) => ("limit", await SetLimitAsync(random.Next(1, 6))),
                (14, _) => ("queue-edit", await EditQueueAsync(session, random)),
                (17, _) => ("rewind", await CarryOnAsync(session, $"turns/1/rewind?others=keep")),
                (18, _) => ("fork", await CarryOnAsync(session, $"turns/1/fork")),
                // 9, 19, 20: turns waiting on the gate end (often enough for rewinds and forks to find one).
                _ => ("turns", null),
            };
            if (step.What == "turns")
            {
                turns.Release();
            }

            if (step.Response is not { } response)
            {
                return (step.What, null);
            }

            var body = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode >= 500)
            {
                _failures.Add($"{step.What} answered {(int)response.StatusCode}: {body}");
            }

            return (step.What, $"{(int)response.StatusCode} {(response.IsSuccessStatusCode && step.What != "look" ? "" : body[..Math.Min(body.Length, 120)])}");
        }

        // One message in two asks to run a command first.
        private string Text() => Interlocked.Increment(ref _messages) is var n && n % 2 == 0 ? $"m{seed}-{n}-ask" : $"m{seed}-{n}";

        private async Task<HttpResponseMessage> CreateAsync()
        {
            var text = Text();
            var response = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt = text });
            if (response.StatusCode == HttpStatusCode.Created)
            {
                var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
                _sessions.Add(id);
                Volatile.Write(ref _last, id);
                _sent[text] = id;
            }

            return response;
        }

        private async Task<HttpResponseMessage> SendAsync(string session)
        {
            var text = Text();
            // Recorded before it is sent: it may run before the answer comes back.
            _sent[text] = session;
            var response = await world.Http.PostAsJsonAsync($"/api/sessions/{session}/messages", new { text });
            if (!response.IsSuccessStatusCode)
            {
                _sent.TryRemove(text, out _);
                if (response.StatusCode == HttpStatusCode.Conflict)
                {
                    var code = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;
                    _refused[text] = (session, code);
                }
            }

            return response;
        }

        /// <summary>A rewind or a fork: the session it answers with carries the conversation on.</summary>
        private async Task<HttpResponseMessage> CarryOnAsync(string session, string path)
        {
            var response = await world.Http.PostAsJsonAsync($"/api/sessions/{session}/{path}", new { });
            if (response.StatusCode == HttpStatusCode.Created)
            {
                _sessions.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
            }

            return response;
        }

        public async Task<HttpResponseMessage> SetLimitAsync(int limit)
        {
            // Raised before it is asked for: processes may start on it before the answer.
            InterlockedMax(ref _highestLimit, limit);
            var response = await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit });
            response.EnsureSuccessStatusCode();
            return response;
        }

        private static void InterlockedMax(ref int target, int value)
        {
            for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
            {
                if (Interlocked.CompareExchange(ref target, value, seen) == seen)
                {
                    return;
                }
            }
        }

        /// <summary>After every step: never more agent processes up than the highest limit set so far.</summary>
        private void AgentsWithinTheLimit(string after)
        {
            var up = fake.Started.Where(p => !p.Gone).Select(p => Path.GetFileName(p.Options!.LogDirectory)).ToList();
            if (up.Count > Volatile.Read(ref _highestLimit))
            {
                _failures.Add($"after {after}: {up.Count} agent processes up ({string.Join(", ", up.Select(s => s[..8]))}), the limit at most {_highestLimit}");
            }
        }

        /// <summary>Someone allows or denies one of the calls waiting (null when none waits).</summary>
        private async Task<HttpResponseMessage?> DecideOneAsync(Random random)
        {
            if (await PendingAsync(random) is not { } approval)
            {
                return null;
            }

            return await DecideAsync(approval, random.Next(2) == 0 ? "allow_once" : "deny");
        }

        private async Task<HttpResponseMessage> DecideAsync(string approval, string decision)
        {
            var decided = await world.DecideAsync(approval, decision);
            if (decided.StatusCode == HttpStatusCode.OK)
            {
                _decided.AddOrUpdate(approval, 1, (_, n) => n + 1);
            }

            return decided;
        }

        private async Task<string?> PendingAsync(Random random)
        {
            var pending = (await world.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray().ToList();
            return pending.Count == 0 ? null : pending[random.Next(pending.Count)].GetProperty("id").GetString()!;
        }

        /// <summary>The owner's inbox shows a waiting call's card: its agent, paused on it, starts ahead of the decision.</summary>
        private async Task<HttpResponseMessage?> LookAsync(Random random) =>
            await PendingAsync(random) is { } approval ? await world.Http.PostAsync($"/api/approvals/{approval}/look", null) : null;

        /// <summary>Time passes: every call waiting since the last move has waited past the pause, and its agent is stopped.</summary>
        private Task<HttpResponseMessage?> PastThePauseAsync()
        {
            clock.Advance(PauseAfter + TimeSpan.FromSeconds(1));
            return Task.FromResult<HttpResponseMessage?>(null);
        }

        /// <summary>Time passes past the idle time, and the idle sessions are suspended (as the minute's tick would).</summary>
        private async Task<HttpResponseMessage?> SuspendIdleAsync()
        {
            clock.Advance(world.Server.Services.GetRequiredService<PocketCoder.Server.PocketCoderOptions>().SuspendIdleAfter + TimeSpan.FromSeconds(1));
            await world.Server.Services.GetRequiredService<Suspensions>().SuspendIdleAsync(CancellationToken.None);
            return null;
        }

        /// <summary>A waiting message is edited or taken out of the queue (null when none waits).</summary>
        private async Task<HttpResponseMessage?> EditQueueAsync(string session, Random random)
        {
            var queued = (await world.Http.GetOkAsync($"/api/sessions/{session}/queue")).GetProperty("messages").EnumerateArray().ToList();
            if (queued.Count == 0)
            {
                return null;
            }

            var message = queued[random.Next(queued.Count)];
            var (id, text) = (message.GetProperty("id").GetString()!, message.GetProperty("text").GetString()!);
            if (random.Next(2) == 0 || text.EndsWith("-edited", StringComparison.Ordinal))
            {
                var removed = await world.Http.DeleteAsync($"/api/sessions/{session}/queue/{id}");
                if (removed.IsSuccessStatusCode)
                {
                    // Removed by its id, in whatever words it had by then: another caller may have edited it since it was read.
                    _sent.TryRemove(text, out _);
                    _sent.TryRemove(text + "-edited", out _);
                }

                return removed;
            }

            // Recorded as edited before it is asked: the edited words may run before the answer comes back.
            _sent[text + "-edited"] = session;
            var edited = await world.Http.PatchAsJsonAsync($"/api/sessions/{session}/queue/{id}", new { text = text + "-edited" });
            _sent.TryRemove(edited.IsSuccessStatusCode ? text : text + "-edited", out _);
            return edited;
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

        /// <summary>The server stops like Ctrl+C and starts again on the same data folder, once every step under way has ended.</summary>
        private async Task RestartAsync()
        {
            await _restarting.WaitAsync();
            for (var share = 0; share < Callers; share++)
            {
                await _shares.WaitAsync();
            }

            try
            {
                // The limit is the owner's setting: it outlives the restart (the check after each step would see it not).
                await world.RestartServerAsync();
            }
            finally
            {
                _shares.Release(Callers);
                _restarting.Release();
            }
        }
    }
}
