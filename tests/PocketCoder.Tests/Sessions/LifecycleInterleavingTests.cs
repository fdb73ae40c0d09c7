using System.Globalization;
using System.Text.RegularExpressions;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Sessions;

/// <summary>
/// Random interleavings, from several callers at once, of what people and time do to sessions (create, message, queue edits,
/// stop, cancel, resume, the agent limit raised and lowered, turns ending, calls asked and allowed or denied, a call waiting
/// past the pause and the agent paused on it, a look that starts a paused agent ahead of the decision, idle suspension, a
/// server restart, rewind and fork, agents crashing) against the fake agent. After every step: no more agent processes than the
/// highest limit set. Before the limit is raised to let everything settle: nobody waits in line while a slot is free. At
/// quiescence: every agent process holds a slot and every slot an agent process; a session said stopped, failed or queued has
/// no agent process, and every agent process belongs to a session said to have one; every message sent ran once or is still
/// shown in its queue, and none was refused 409 but as docs/api.md says a message may be; every approval was decided at most
/// once and its call ran at most once; no request answered 5xx. Each of last round's races between start, stop, pause and slots
/// broke one of these; which of them this test finds with its guard taken out, and why not the others, is the table in
/// docs/testing.md ("Last round's seven races").
/// <para>
/// A seed that fails is named with the steps each caller took (in the order they ended), and replays alone with
/// <c>POCKETCODER_LIFECYCLE_SEED</c>; <c>POCKETCODER_LIFECYCLE_SEEDS</c> runs that many (the suite runs a few). The callers
/// race on a real server, so a seed picks the steps, not their timing: a failing seed is run a few times to replay. It does not
/// shrink (CsCheck's shrinking assumes a run the seed decides whole; here the thread pool decides the rest), the step log stands
/// in for it. <c>POCKETCODER_LIFECYCLE_LOGS</c>, a folder, keeps every passing seed's step log there too.
/// </para>
/// </summary>
public sealed partial class LifecycleInterleavingTests
{
    private const int Callers = 3;
    private const int StepsPerCaller = 12;

    /// <summary>How long a call waits for the owner before its agent is paused (the world's setting; the clock is moved past it).</summary>
    private static readonly TimeSpan PauseAfter = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task RandomInterleavings_LeaveEveryAgentProcessSlotMessageAndApprovalAccountedFor()
    {
        foreach (var seed in Seeds())
        {
            var log = new StepLog();
            try
            {
                await RunAsync(seed, log, run => Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => run.CallerAsync(caller, new Random(seed * 31 + caller)))),
                    Environment.GetEnvironmentVariable("POCKETCODER_LIFECYCLE_SLOW") is { } slow ? () => Task.Delay(Random.Shared.Next(int.Parse(slow, CultureInfo.InvariantCulture) + 1)) : null);
                if (Environment.GetEnvironmentVariable("POCKETCODER_LIFECYCLE_LOGS") is { Length: > 0 } folder)
                {
                    await File.WriteAllTextAsync(Path.Combine(folder, $"seed-{seed}.log"), log.ToString());
                }
            }
            catch (Exception exception)
            {
                throw new Xunit.Sdk.XunitException(
                    $"Seed {seed} (replay with POCKETCODER_LIFECYCLE_SEED={seed}): {exception.Message}\nSteps, as they ended:\n{log}");
            }
        }
    }

    /// <summary>
    /// Last round's races that random steps seldom meet, each as the steps that do (<see cref="Run.ScriptedAsync"/>), run
    /// <see cref="RaceRepeats"/> times over in one world against an agent that takes up to the given milliseconds to start and
    /// to exit (a race whose window is a stop's wait for the old process needs that wait longer than what races it). Each fails
    /// with its guard taken out of today's code; docs/testing.md has the table of all seven and what each mutation found.
    /// </summary>
    public static TheoryData<string, string, int> KnownRaces => new()
    {
        { "a87a864: a message as its session is stopped starts an agent on the stopping session", "limit 5; create; idle; stop + message", 300 },
        { "c33744c: a stop of a session in line leaves its start in line, which runs when a slot comes", "limit 1; create; create; stop; turns", 20 },
        { "c33744c: a new session stopped as its agent comes up says stopped with the agent running", "limit 5; create; stop", 300 },
        { "b7077a4: a message and a resume of a failed session each start its agent", "limit 5; create; idle; crash; message + resume + message", 20 },
    };

    private const int RaceRepeats = 3;

    [Theory]
    [MemberData(nameof(KnownRaces))]
    public async Task KnownRace_LeavesEverythingAccountedFor(string race, string script, int slowestMs)
    {
        var log = new StepLog();
        try
        {
            await RunAsync(1, log, async run =>
            {
                for (var time = 0; time < RaceRepeats; time++)
                {
                    await run.ScriptedAsync(script);
                }
            }, () => Task.Delay(Random.Shared.Next(slowestMs + 1)));
        }
        catch (Exception exception)
        {
            throw new Xunit.Sdk.XunitException($"{race}: {exception.Message}\nSteps, as they ended:\n{log}");
        }
    }

    private static IEnumerable<int> Seeds()
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_LIFECYCLE_SEED") is { } one)
        {
            return [int.Parse(one, CultureInfo.InvariantCulture)];
        }

        var count = int.TryParse(Environment.GetEnvironmentVariable("POCKETCODER_LIFECYCLE_SEEDS"), out var n) ? n : 3;
        var first = int.TryParse(Environment.GetEnvironmentVariable("POCKETCODER_LIFECYCLE_FIRST_SEED"), out var f) ? f : 1;
        return Enumerable.Range(first, count);
    }

    private static async Task RunAsync(int seed, StepLog log, Func<Run, Task> drive, Func<Task>? takes)
    {
        var turns = new TurnGate();
        var calls = new CallsRun();
        var fake = new FakeAgent
        {
            // Stopped on a call that waits past the threshold and told the decision after a resume, as Codex is.
            ResumesOnDecision = true,
            Script = (session, prompt) => ScriptAsync(session, prompt, turns, calls),
            Takes = takes,
        };
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(fake, clock, PauseAfter);
        var run = new Run(world, turns, fake, clock, calls, log, seed);
        await run.SetLimitAsync(new Random(seed).Next(1, 6));
        await drive(run);

        await run.QuiesceAsync();
        await run.CheckAsync();
    }

    [GeneratedRegex(@"^m\d+-\d+-ask(-edited)?$")]
    private static partial Regex AsksFirst();

    [GeneratedRegex(@"echo (m\d+-\d+-ask)")]
    private static partial Regex AskedCommand();

    /// <summary>
    /// The fake agent's turn: a message that asks first waits on someone's decision (a pause, a withdrawal on cancel); told after
    /// a pause that its call was allowed, it makes that call again (the grant lets it through once). Then it waits for the turn
    /// gate and answers.
    /// </summary>
    private static async Task ScriptAsync(FakeAgentSession session, PocketCoder.Agents.AgentPrompt prompt, TurnGate turns, CallsRun calls)
    {
        var cancels = session.Cancels;
        var command = AsksFirst().IsMatch(prompt.Text) ? $"echo {prompt.Text.Replace("-edited", "", StringComparison.Ordinal)}"
            : prompt.Text.Contains("The owner ALLOWED it", StringComparison.Ordinal) && AskedCommand().Match(prompt.Text) is { Success: true } asked
                ? asked.Value
                : null;
        if (command is not null)
        {
            try
            {
                if ((await session.AskToRunAsync(command)).Allow && !session.Gone)
                {
                    calls.Ran(command);
                }
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
    }

    /// <summary>What every turn waits on: released now and then by a step, and for good before the checks.</summary>
    private sealed class TurnGate
    {
        private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Current => Volatile.Read(ref _gate).Task;

        public void Release() => Interlocked.Exchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult();

        public void Open() => Volatile.Read(ref _gate).TrySetResult();
    }

    /// <summary>The calls the fake agent ran on an allow: each at most once.</summary>
    private sealed class CallsRun
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _ran = new(StringComparer.Ordinal);

        public void Ran(string command) => _ran.AddOrUpdate(command, 1, (_, n) => n + 1);

        public IEnumerable<string> Twice => _ran.Where(r => r.Value > 1).Select(r => r.Key);
    }

    /// <summary>Each step as it ended: which caller, what, on which session, and what the server answered.</summary>
    private sealed class StepLog
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
        private readonly System.Diagnostics.Stopwatch _since = System.Diagnostics.Stopwatch.StartNew();

        public void Add(string line) => _lines.Enqueue($"{_since.ElapsedMilliseconds,6} ms {line}");

        public override string ToString() => string.Join("\n", _lines) + "\n";
    }
}
