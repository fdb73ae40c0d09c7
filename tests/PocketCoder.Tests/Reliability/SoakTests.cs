using System.Globalization;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Sessions.Running;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reliability;

/// <summary>
/// What an owner does, with what an owner gets: the sandbox on (bubblewrap installed), the server's defaults, and time.
/// Every agent has a session waiting on an approval and one sitting idle (in a second project), for longer than .NET takes to
/// retire an idle thread-pool thread (about 20 s: that used to SIGKILL every sandboxed agent). None may exit; then each is
/// allowed or messaged and finishes with its earlier turn in context. `bench/run.sh` runs the same for ten minutes
/// (<c>POCKETCODER_SOAK_SECONDS</c>) and reports, per agent, what survived and what each session's processes hold
/// (<c>POCKETCODER_SOAK_REPORT</c>). Both sessions' streams stay open throughout, as a phone left on them: past the server's
/// pause threshold (five minutes by default) the waiting session's agent is paused all the same, and its decision resumes it.
/// </summary>
public sealed class SoakTests
{
    /// <summary>Longer than thread-pool retirement with room to spare, unless the bench asks for longer.</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("POCKETCODER_SOAK_SECONDS"), CultureInfo.InvariantCulture, out var seconds) && seconds >= 75 ? seconds : 75);

    [Fact]
    public async Task EveryAgent_SandboxedSessionsWaitingAndIdle_SurviveTheWait_ThenFinishWithTheirEarlierTurns()
    {
        var worlds = await Task.WhenAll(
            AgentWorld.ClaudeAsync(), AgentWorld.CodexAsync(), AgentWorld.OpenCodeAsync(), AgentWorld.GeminiAsync(), AgentWorld.ClaudeAcpAsync(),
            AgentWorld.CopilotAsync(), AgentWorld.QwenAsync());
        try
        {
            var soaks = await Task.WhenAll(worlds.Select(Soak.StartAsync));
            try
            {
                // Time passes, every stream watched for the session ending: each watch ends at such an event, or at the wait's end.
                var watches = soaks.SelectMany(soak => soak.Streams).Select(stream => stream.WaitForAsync(IsFailure, Wait)).ToList();
                await Task.WhenAll(watches).ContinueWith(_ => { }, TaskScheduler.Default);
                await ReportAsync(soaks);
                if (soaks.FirstOrDefault(soak => soak.Streams.Any(stream => stream.Received.Any(IsFailure))) is { } failed)
                {
                    Assert.Fail($"{failed.World.Agent}: a session ended while it waited: {Describe(failed)}");
                }

                Assert.All(watches, watch => Assert.IsType<TimeoutException>(watch.Exception?.InnerException));
                await Task.WhenAll(soaks.Select(soak => soak.FinishAsync()));
            }
            finally
            {
                await Task.WhenAll(soaks.Select(soak => soak.DisposeAsync().AsTask()));
            }
        }
        finally
        {
            await Task.WhenAll(worlds.Select(world => world.DisposeAsync().AsTask()));
        }
    }

    private static bool IsFailure(SseEvent e) => e.Event == "session.status" && e.Str("status") is "failed" or "interrupted" or "stopped";

    private static string Describe(Soak soak) =>
        string.Join("; ", soak.Streams.SelectMany(stream => stream.Received).Where(e => !e.Event.StartsWith("message", StringComparison.Ordinal))
            .Select(e => $"{e.Event} {e.Data}"));

    /// <summary>For the bench: one JSON line per agent, what survived the wait and the memory of each session's processes.</summary>
    private static async Task ReportAsync(IEnumerable<Soak> soaks)
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_SOAK_REPORT") is not { Length: > 0 } report)
        {
            return;
        }

        var lines = soaks.Select(soak => JsonSerializer.Serialize(new
        {
            agent = soak.World.Agent,
            seconds = (int)Wait.TotalSeconds,
            waitingAlive = !soak.Streams[0].Received.Any(IsFailure),
            idleAlive = !soak.Streams[1].Received.Any(IsFailure),
            waitingPaused = soak.Streams[0].Received.Any(e => e.Event == "session.status" && e.Str("reason") == PausedCalls.PausedReason),
            waitingRssKiB = ProcessesIn(soak.World.Repository).Sum(RssKiB),
            idleRssKiB = ProcessesIn(soak.IdleRepository).Sum(RssKiB),
        }));
        await File.AppendAllLinesAsync(report, lines);
    }

    /// <summary>The processes working in a folder: a session's agent (its sandbox included) and what it runs.</summary>
    private static IEnumerable<int> ProcessesIn(string folder) => Directory.EnumerateDirectories("/proc")
        .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
        .Where(pid => pid > 0 && pid != Environment.ProcessId && WorksIn(pid, folder));

    private static bool WorksIn(int pid, string folder)
    {
        try
        {
            return new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget is { } cwd && (cwd == folder || cwd.StartsWith(folder + "/", StringComparison.Ordinal));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long RssKiB(int pid)
    {
        try
        {
            return File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).FirstOrDefault();
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>One agent's two sessions: one asked a question and waiting for the owner, one idle after its first turn (in a project of its own).</summary>
    private sealed class Soak(AgentWorld world, string waiting, SseClient waitingEvents, string approvalId, string idle, SseClient idleEvents,
        string idleRepository) : IAsyncDisposable
    {
        public AgentWorld World { get; } = world;

        public string IdleRepository { get; } = idleRepository;

        /// <summary>The waiting session's stream, then the idle one's.</summary>
        public IReadOnlyList<SseClient> Streams { get; } = [waitingEvents, idleEvents];

        public static async Task<Soak> StartAsync(AgentWorld world)
        {
            Assert.Equal("sandboxed", (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}")).GetProperty("sandbox").GetString());
            var idleRepository = TempPaths.NewGitRepository();
            var idleProject = (await world.Http.PostOkAsync("/api/projects", new { path = idleRepository })).GetProperty("id").GetString();
            world.Model.Enqueue(ScriptedReply.Text("Noted: HERON."));
            var idle = (await world.Http.PostOkAsync($"/api/projects/{idleProject}/sessions",
                new { agent = world.Agent, prompt = "Remember the word HERON." })).GetProperty("id").GetString()!;
            var idleEvents = await world.EventsAsync(idle);
            await idleEvents.WaitForAsync("turn.completed");
            await idleEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");

            world.Model.Enqueue(world.ShellCall("echo waited > waited.txt"));
            var waiting = await world.StartSessionAsync("Remember the word OSPREY, then write waited.txt.");
            var waitingEvents = await world.EventsAsync(waiting);
            var asked = await waitingEvents.WaitForAsync("approval.requested");
            return new Soak(world, waiting, waitingEvents, asked.Str("approvalId")!, idle, idleEvents, idleRepository);
        }

        public async Task FinishAsync()
        {
            // Paused past the threshold (the bench's ten minutes), an agent other than Claude Code is told the decision as it
            // resumes and asks the call again; Claude Code is resumed with the call still pending and answered in place.
            if (waitingEvents.Received.Any(e => e.Event == "session.status" && e.Str("reason") == PausedCalls.PausedReason) && World.Agent != "claude-code")
            {
                World.Model.Enqueue(World.ShellCall("echo waited > waited.txt"));
            }

            World.Model.Enqueue(ScriptedReply.Text("Written."));
            await ApiAssert.OkJsonAsync(await World.DecideAsync(approvalId, "allow_once"));
            await waitingEvents.WaitForAsync("turn.completed");
            Assert.True(File.Exists(Path.Combine(World.Repository, "waited.txt")), $"{World.Agent}: the allowed command did not run: {Describe(this)}");
            Assert.True(World.Model.Requests.Last(r => r.ConsumedScript).Contains("OSPREY"), $"{World.Agent}: the allowed call's turn lost its prompt");

            World.Model.Enqueue(ScriptedReply.Text("The word was HERON."));
            await World.SendAsync(idle, "Which word did I ask you to remember?");
            await idleEvents.WaitForAsync(e => e.Event == "turn.completed" && e.Id > idleEvents.Received.First(f => f.Event == "turn.completed").Id);
            Assert.True(World.Model.Requests.Last(r => r.ConsumedScript).Contains("HERON"), $"{World.Agent}: the idle session lost its earlier turn");

            foreach (var session in (string[])[waiting, idle])
            {
                Assert.DoesNotContain(Streams.SelectMany(s => s.Received), IsFailure);
                Assert.NotEqual("failed", (await World.SessionAsync(session)).GetProperty("status").GetString());
            }
        }

        public async ValueTask DisposeAsync()
        {
            await waitingEvents.DisposeAsync();
            await idleEvents.DisposeAsync();
            TempPaths.Delete(IdleRepository);
        }
    }
}
