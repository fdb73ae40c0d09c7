using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Sessions.Running;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Reliability;

/// <summary>
/// Issue #52's bench rows, run by <c>bench/run.sh</c> (not by the test command: ten sessions of every agent, twice, take
/// most of a quarter of an hour and many GiB): N sessions of one agent, each waiting on the owner's answer to a shell call,
/// in the real server as its own process, sandboxed, against the fake model. Measured with the pause off (every agent running,
/// as long as the owner takes) and with it on (each agent stopped once its call has waited past the threshold): the server's
/// and its process tree's RSS; then, with the pause on, each call allowed in turn and timed to the command's file, i.e. the
/// resumed agent asking the call again and running it. Each agent's rows go to <c>POCKETCODER_WAITING_REPORT</c> (JSON
/// lines) for <c>PocketCoder.Bench</c>'s table. The asserts are what the rows rest on: no agent process left while paused,
/// and every allowed command run once.
/// </summary>
[Trait("Category", "Bench")]
public sealed class WaitingSessionsBench(ITestOutputHelper output)
{
    private static readonly int Sessions =
        int.TryParse(Environment.GetEnvironmentVariable("POCKETCODER_WAITING_SESSIONS"), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 10;

    public static TheoryData<string> Agents => ["claude-code", "codex", "opencode", "gemini", ClaudeAgentAcp.AgentId, "copilot", "qwen"];

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task SessionsWaitingOnTheOwner_PauseOnAgainstOff(string agent)
    {
        double off;
        await using (var running = await WaitingWorld.StartAsync(agent, pauseSeconds: 0))
        {
            await running.AskAllAsync(Sessions);
            off = running.TreeRssMiB();
        }

        await using var paused = await WaitingWorld.StartAsync(agent, pauseSeconds: 3);
        await paused.AskAllAsync(Sessions);
        await paused.UntilNoAgentAsync(TimeSpan.FromMinutes(3));
        // As the sessions go on waiting: once nothing has run for a few seconds, the server gives back what the busy time left.
        await paused.UntilTrimmedAsync(TimeSpan.FromMinutes(1));
        var on = paused.TreeRssMiB();
        var (resumes, ahead) = await paused.AllowEachAsync();

        var median = Median(resumes);
        var aheadMedian = ahead.Count > 0 ? Median(ahead) : 0;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{agent}: {Sessions} waiting, RSS pause on {on:0.0} MiB, off {off:0.0} MiB ({on / off:0.00}x); allow to command done median {median:0} ms, max {resumes.Max():0} ms; with the session open first {aheadMedian:0} ms"));
        if (Environment.GetEnvironmentVariable("POCKETCODER_WAITING_REPORT") is { Length: > 0 } report)
        {
            await File.AppendAllTextAsync(report, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["agent"] = agent, ["sessions"] = Sessions, ["pausedRssMiB"] = on, ["runningRssMiB"] = off,
                ["resumeMedianMs"] = median, ["resumeMaxMs"] = resumes.Max(),
                ["aheadMedianMs"] = aheadMedian, ["aheadMaxMs"] = ahead.Count > 0 ? ahead.Max() : 0,
            }) + "\n");
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>A `pocketcoder serve` of its own for one agent, configured as <see cref="AgentWorld"/> configures it in-process.</summary>
    private sealed class WaitingWorld : IAsyncDisposable
    {
        private readonly List<(string SessionId, string ApprovalId, string File)> _waiting = [];

        private WaitingWorld(string agent, FakeModelServer model, ServerProcess server, HttpClient http, string projectId, string repository, params string[] folders)
        {
            Agent = agent;
            Model = model;
            Server = server;
            Http = http;
            ProjectId = projectId;
            Repository = repository;
            Folders = folders;
        }

        private string Agent { get; }

        private FakeModelServer Model { get; }

        private ServerProcess Server { get; }

        private HttpClient Http { get; }

        private string ProjectId { get; }

        private string Repository { get; }

        private string[] Folders { get; }

        public static async Task<WaitingWorld> StartAsync(string agent, int pauseSeconds)
        {
            var model = await FakeModelServer.StartAsync();
            var home = TempPaths.NewDirectory("pc-home");
            var data = TempPaths.NewDirectory("pc-data");
            var environment = new Dictionary<string, string?>
            {
                ["POCKETCODER_PAUSE_WAITING_SECONDS"] = pauseSeconds.ToString(CultureInfo.InvariantCulture),
                ["POCKETCODER_DATA"] = null,
            };
            if (agent == ClaudeAgentAcp.AgentId)
            {
                ClaudeAgentAcp.Register(data, model, home);
            }
            else
            {
                var command = AgentWorld.CommandsOf(agent, model, home)[agent];
                environment[PathVariable(agent)] = command.Command;
                foreach (var (name, value) in command.Environment)
                {
                    environment[name] = value;
                }
            }

            // The server as shipped (bench/run.sh passes its native binary), or the test build's when run as a slice.
            var server = await ServerProcess.StartAsync(data, environment,
                Environment.GetEnvironmentVariable("POCKETCODER_WAITING_SERVER") is { Length: > 0 } shipped ? shipped : null);
            var http = await server.PairAsync();
            var repository = TempPaths.NewGitRepository();
            var project = await http.PostOkAsync("/api/projects", new { path = repository, name = "demo" });
            return new WaitingWorld(agent, model, server, http, project.GetProperty("id").GetString()!, repository, home, data, repository);
        }

        private static string PathVariable(string agent) => agent switch
        {
            "claude-code" => "POCKETCODER_CLAUDE_PATH",
            _ => $"POCKETCODER_{agent.ToUpperInvariant()}_PATH",
        };

        private ScriptedReply ShellCall(string command) => AgentWorld.ShellCallOf(Agent, command);

        /// <summary>Starts <paramref name="count"/> sessions, one after another, each asking one shell call that then waits on the owner.</summary>
        public async Task AskAllAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var file = $"waiting-{i}.txt";
                Model.Enqueue(ShellCall($"echo {i} > {file}"));
                var session = await Http.PostOkAsync($"/api/projects/{ProjectId}/sessions", new { agent = Agent, prompt = $"Write {file}" });
                var sessionId = session.GetProperty("id").GetString()!;
                await using var events = await SseClient.ConnectAsync(Http, $"/api/sessions/{sessionId}/events", null);
                var asked = await events.WaitForAsync("approval.requested", TimeSpan.FromMinutes(2));
                _waiting.Add((sessionId, asked.Str("approvalId")!, Path.Combine(Repository, file)));
            }
        }

        public async Task UntilNoAgentAsync(TimeSpan patience)
        {
            var clock = Stopwatch.StartNew();
            while (Server.Descendants().Count > 0)
            {
                Assert.True(clock.Elapsed < patience, $"{Agent}: agent processes still running after {patience}: the waits were not paused");
                await Task.Delay(250);
            }
        }

        /// <summary>Until the server says it gave memory back with no agent running (its log; <c>QuietTrim</c>).</summary>
        public async Task UntilTrimmedAsync(TimeSpan patience)
        {
            var clock = Stopwatch.StartNew();
            while (!Server.Log.Contains("No agent runs: memory given back", StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < patience, $"{Agent}: the server gave no memory back within {patience} of the last agent stopping");
                await Task.Delay(250);
            }
        }

        /// <summary>The server's and every process under it: VmRSS summed, MiB (shared pages count in each, the same both ways).</summary>
        public double TreeRssMiB() => new[] { Server.Pid }.Concat(Server.Descendants()).Sum(RssKiB) / 1024.0;

        /// <summary>
        /// Allows each waiting call in turn; per call, the milliseconds from the allow to its command's result. Every other call is
        /// allowed as from a notification, nobody having the session open (the agent starts on the allow: "cold"); the others
        /// as from the session's screen, opened first (the agent started while the owner reads the card: "ahead").
        /// </summary>
        public async Task<(List<double> Cold, List<double> Ahead)> AllowEachAsync()
        {
            var (cold, ahead) = (new List<double>(), new List<double>());
            for (var i = 0; i < _waiting.Count; i++)
            {
                var (sessionId, approvalId, file) = _waiting[i];
                // Claude Code is resumed with the call still pending and answered in place; the others ask it again.
                if (Agent != "claude-code")
                {
                    Model.Enqueue(ShellCall($"echo {Path.GetFileNameWithoutExtension(file)["waiting-".Length..]} > {Path.GetFileName(file)}"));
                }

                Model.Enqueue(ScriptedReply.Text("Written."));
                var opened = i % 2 == 1;
                var since = (await Http.GetOkAsync($"/api/sessions/{sessionId}")).GetProperty("lastSeq").GetInt64();
                // The session's own stream is the phone's screen on it; the stream of every event is a notification's view.
                await using var events = opened
                    ? await SseClient.ConnectAsync(Http, $"/api/sessions/{sessionId}/events", null)
                    : await SseClient.ConnectAsync(Http, "/api/events?tail=true", null);
                bool Ours(SseEvent e) => !opened || e.Id > since;
                bool OfSession(SseEvent e) => opened || e.Str("sessionId") == sessionId;
                if (opened && Agent != "claude-code")
                {
                    await events.WaitForAsync(e => Ours(e) && e.Event == "session.status" && e.Str("reason") == PausedCalls.ReadyReason, TimeSpan.FromMinutes(2));
                }

                var clock = Stopwatch.StartNew();
                (await Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision", new { decision = "allow_once" })).EnsureSuccessStatusCode();
                // Not the paused call's own end, which an agent may report as it loads the conversation again.
                await events.WaitForAsync(e => Ours(e) && OfSession(e) && e.Event == "tool.result" && !e.Json.GetProperty("isError").GetBoolean(),
                    TimeSpan.FromMinutes(2));
                (opened ? ahead : cold).Add(clock.Elapsed.TotalMilliseconds);
                Assert.True(File.Exists(file), $"{Agent}: the allowed command of session {sessionId} did not run");
                await events.WaitForAsync(e => Ours(e) && OfSession(e) && e.Event == "turn.completed", TimeSpan.FromMinutes(2));
            }

            return (cold, ahead);
        }

        private static long RssKiB(int pid)
        {
            try
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return 0; // Gone meanwhile.
            }
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Server.DisposeAsync();
            await Model.DisposeAsync();
            foreach (var folder in Folders)
            {
                TempPaths.Delete(folder);
            }
        }
    }
}
