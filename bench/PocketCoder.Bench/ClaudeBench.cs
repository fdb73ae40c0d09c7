using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FakeLlm;

namespace PocketCoder.Bench;

/// <summary>
/// The published server driving the REAL Claude Code CLI (tests/agents) against the fake model in this process:
/// the per-prompt overhead of a warm session, and the memory of many idle sessions.
/// </summary>
public sealed class ClaudeBench(string pocketcoderDirectory, string claude, bool quick)
{
    private string PocketCoderExe => Path.Combine(pocketcoderDirectory, "pocketcoder");

    public async Task<List<Row>> RunAsync()
    {
        var rows = new List<Row>();
        await using var model = await FakeModelServer.StartAsync();
        await using (var world = await StartServerAsync(model))
        {
            rows.AddRange(await PerPromptAsync(world.Http, model, world.ProjectId));
            rows.Add(await ManySessionsAsync(world.Http, model, world.ProjectId, world.Server));
            rows.AddRange(await SandboxAsync(world.Http, model, world.ProjectId, world.Server));
        }

        rows.AddRange(await PausedWaitsAsync(model));
        return rows;
    }

    /// <summary>
    /// Issue #40: what suspended sessions cost the published server, as an outside check sees it. A server whose idle
    /// sessions are suspended after a minute; its RSS 5 s after its start, then with sessions opened (one turn each) and idle,
    /// then once its own timer has suspended them all (no claude left) and 5 s more. Per session: the growth / sessions.
    /// </summary>
    public async Task<List<Row>> RunSuspendedAsync()
    {
        var sessions = 5;
        await using var model = await FakeModelServer.StartAsync();
        await using var world = await StartServerAsync(model, "--suspend-idle-minutes", "1");
        var wait = TimeSpan.FromSeconds(5) - Stopwatch.GetElapsedTime(world.Server.StartedAt);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        var before = world.Server.RssMiB();
        Probe(world.Server.Pid, "before");
        var rounds = new List<(double Before, double Open, double Suspended)>();
        for (var round = 0; round < 2; round++)
        {
            var start = world.Server.RssMiB();
            for (var i = 0; i < sessions; i++)
            {
                model.Enqueue(ScriptedReply.Text($"Session {round}.{i} ready."));
                await WaitIdleAsync(world.Http, await CreateSessionAsync(world.Http, world.ProjectId, $"hello {round}.{i}"), 0);
            }

            var open = world.Server.RssMiB();
            var started = Stopwatch.GetTimestamp();
            while (OsProcess.Descendants(world.Server.Pid).Any(pid => ProcessName(pid) == "claude"))
            {
                if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(4))
                {
                    throw new TimeoutException("the idle sessions were not suspended within 4 minutes");
                }

                await Task.Delay(500);
            }

            await Task.Delay(TimeSpan.FromSeconds(5));
            rounds.Add((start, open, world.Server.RssMiB()));
            Probe(world.Server.Pid, $"after round {round + 1}");
        }

        var first = (rounds[0].Suspended - before) / sessions;
        var more = (rounds[1].Suspended - rounds[1].Before) / sessions;
        return
        [
            new Row($"{sessions} claude sessions suspended by the server's timer, the first after its start: server RSS growth each (published server, {Stats.F(before)} → {Stats.F(rounds[0].Suspended)} MiB)",
                $"{Stats.F(first, 2)} MiB", $"open and idle: {Stats.F((rounds[0].Open - before) / sessions, 2)} MiB each", "", "< 2 MiB", first < 2 ? "met" : "MISSED"),
            new Row($"  {sessions} more, suspended the same way: server RSS growth each (→ {Stats.F(rounds[1].Suspended)} MiB)",
                $"{Stats.F(more, 2)} MiB", $"open and idle: {Stats.F((rounds[1].Open - rounds[1].Before) / sessions, 2)} MiB each", "", "< 2 MiB", more < 2 ? "met" : "MISSED"),
        ];
    }

    /// <summary>
    /// With POCKETCODER_BENCH_SMAPS=1, where the server's RSS is, by mapping (the JIT's code is memfd:doublemapper, the GC
    /// heap and native allocations anon, each assembly's pages its file): what grew between two points, and so why.
    /// </summary>
    private static void Probe(int pid, string when)
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_BENCH_SMAPS") != "1")
        {
            return;
        }

        var byKind = new Dictionary<string, long>();
        var kind = "";
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-') && !line.Contains(':' + " "))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                kind = parts.Length >= 6 ? (parts[5].StartsWith('/') ? Path.GetFileName(parts[5]) : parts[5]) : "anon";
            }
            else if (line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                byKind[kind] = byKind.GetValueOrDefault(kind) + long.Parse(line[4..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        var threads = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal));
        Console.Error.WriteLine($"RSS by mapping, {when}: {threads} " + string.Join(" ", byKind.OrderByDescending(k => k.Value).Take(14).Select(k => $"{k.Key}={k.Value}")));
    }

    /// <summary>The paused-wait rows alone (<c>--only paused</c>).</summary>
    public async Task<List<Row>> RunPausedAsync()
    {
        await using var model = await FakeModelServer.StartAsync();
        return await PausedWaitsAsync(model);
    }

    /// <summary>A published server of its own (data folder, HOME, repository), paired, with one project.</summary>
    internal sealed class BenchServer(OsProcess server, HttpClient http, string projectId, IReadOnlyList<string> folders) : IAsyncDisposable
    {
        public OsProcess Server { get; } = server;

        public HttpClient Http { get; } = http;

        public string ProjectId { get; } = projectId;

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Server.DisposeAsync();
            foreach (var folder in folders)
            {
                Temp.Delete(folder);
            }
        }
    }

    internal async Task<BenchServer> StartServerAsync(FakeModelServer model, params string[] flags)
    {
        var data = Temp.Directory("pcbench-claude");
        var home = Temp.Directory("pcbench-home");
        var repository = await Temp.GitRepositoryAsync();
        var url = OsProcess.FreeLoopbackUrl();
        var environment = new Dictionary<string, string?>
        {
            ["POCKETCODER_CLAUDE_PATH"] = claude,
            ["HOME"] = home,
            ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
            ["ANTHROPIC_API_KEY"] = "fake-key",
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            ["DISABLE_AUTOUPDATER"] = "1",
            ["CLAUDE_CONFIG_DIR"] = null,
            ["ANTHROPIC_AUTH_TOKEN"] = null,
        };
        var server = OsProcess.Start(PocketCoderExe, ["serve", "--listen", url.ToString().TrimEnd('/'), "--data", data, .. flags], url, environment);
        var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(120) };
        await server.WaitHealthyAsync(http, TimeSpan.FromSeconds(30));
        var code = JsonDocument.Parse(await Cli.RunAsync(PocketCoderExe, "pair", "--json", "--data", data)).RootElement.GetProperty("code").GetString();
        var paired = await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "bench" });
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await paired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        var project = await (await http.PostAsJsonAsync("/api/projects", new { path = repository })).Content.ReadFromJsonAsync<JsonElement>();
        return new BenchServer(server, http, project.GetProperty("id").GetString()!, [data, home, repository]);
    }

    /// <summary>
    /// Issue #19: what sessions waiting for the owner hold, with their agents running and once paused (their processes
    /// stopped), in one server whose threshold is short; and how long a decision takes to reach the resumed agent's
    /// command (the decision to the command's file appearing).
    /// </summary>
    private async Task<List<Row>> PausedWaitsAsync(FakeModelServer model)
    {
        var sessions = quick ? 3 : 5;
        await using var world = await StartServerAsync(model, "--pause-waiting-seconds", "20");
        var repository = (await world.Http.GetFromJsonAsync<JsonElement>($"/api/projects/{world.ProjectId}")).GetProperty("path").GetString()!;
        var waiting = new List<string>();
        for (var i = 0; i < sessions; i++)
        {
            // One script for all sessions, in the order they ask: each one's reply after the decision is queued then.
            model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = $"echo {i} > paused-{i}.txt", description = "Write" }));
            var id = await CreateSessionAsync(world.Http, world.ProjectId, $"write {i}");
            waiting.Add(await PendingApprovalAsync(world.Http, id));
        }

        var (running, runningProcesses) = world.Server.TreeRssMiB();
        var deadline = Stopwatch.GetTimestamp();
        while (OsProcess.Descendants(world.Server.Pid).Any(pid => ProcessName(pid) == "claude"))
        {
            if (Stopwatch.GetElapsedTime(deadline) > TimeSpan.FromSeconds(120))
            {
                throw new TimeoutException("the waiting agents were not paused within 120 s");
            }

            await Task.Delay(200);
        }

        var (paused, pausedProcesses) = world.Server.TreeRssMiB();
        var resumes = new List<double>();
        for (var i = 0; i < sessions; i++)
        {
            var file = Path.Combine(repository, $"paused-{i}.txt");
            model.Enqueue(ScriptedReply.Text("Written."));
            var start = Stopwatch.GetTimestamp();
            (await world.Http.PostAsJsonAsync($"/api/approvals/{waiting[i]}/decision", new { decision = "allow_once" })).EnsureSuccessStatusCode();
            while (!File.Exists(file))
            {
                if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException($"the resumed agent did not run the allowed command of session {i}");
                }

                await Task.Delay(20);
            }

            resumes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return
        [
            new Row($"{sessions} claude sessions waiting for the owner: total RSS once paused ({pausedProcesses} processes)", $"{Stats.F(paused)} MiB",
                $"{Stats.F(running)} MiB with their agents running ({runningProcesses} processes)", $"{paused / running:0.00}x", "report", "n/a"),
            new Row($"Paused wait: the owner's allow to the resumed agent's command done (median / max of {sessions})",
                $"{Stats.F(Stats.Median(resumes))} / {Stats.F(resumes.Max())} ms", "", "", "report", "n/a"),
        ];
    }

    private static async Task<string> PendingApprovalAsync(HttpClient http, string sessionId)
    {
        var start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(60))
        {
            var pending = await http.GetFromJsonAsync<JsonElement>("/api/approvals?status=pending");
            foreach (var approval in pending.EnumerateArray().Where(a => a.GetProperty("sessionId").GetString() == sessionId))
            {
                return approval.GetProperty("id").GetString()!;
            }

            await Task.Delay(50);
        }

        var session = await http.GetFromJsonAsync<JsonElement>($"/api/sessions/{sessionId}");
        throw new TimeoutException($"session {sessionId} asked for nothing within 60 s: {session}");
    }

    private async Task<List<Row>> PerPromptAsync(HttpClient http, FakeModelServer model, string projectId)
    {
        model.Enqueue(ScriptedReply.Text("Ready."));
        var sessionId = await CreateSessionAsync(http, projectId, "warm up");
        await WaitIdleAsync(http, sessionId, 0);

        var prompts = quick ? 5 : 15;
        var arrival = new List<double>();
        var accepted = new List<double>();
        for (var i = 0; i < prompts; i++)
        {
            var marker = $"prompt-{i}-{Guid.NewGuid():N}";
            model.Enqueue(ScriptedReply.Text("ok"));
            var arrived = model.WaitForRequestAsync(r => r.LastUserText().Contains(marker, StringComparison.Ordinal), CancellationToken.None);
            var before = await LastSeqAsync(http, sessionId);
            var start = Stopwatch.GetTimestamp();
            using var response = await http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text = marker });
            accepted.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            response.EnsureSuccessStatusCode();
            await arrived.WaitAsync(TimeSpan.FromSeconds(60));
            arrival.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            await WaitIdleAsync(http, sessionId, before);
        }

        var median = Stats.Median(arrival);
        return
        [
            new Row($"Per prompt, warm claude session: POST /messages to model request (median / max of {prompts})",
                $"{Stats.F(median)} / {Stats.F(arrival.Max())} ms", "", "", "< 50 ms", median < 50 ? "met" : "MISSED"),
            new Row("  of which PocketCoder: POST /messages answered 202 (prompt on the agent's stdin), median / max",
                $"{Stats.F(Stats.Median(accepted))} / {Stats.F(accepted.Max())} ms", "", "", "", ""),
        ];
    }

    private async Task<Row> ManySessionsAsync(HttpClient http, FakeModelServer model, string projectId, OsProcess server)
    {
        // The per-prompt session above is still open: nine more make ten.
        const int sessions = 10;
        var serverOnly = server.RssMiB();
        for (var i = 1; i < sessions; i++)
        {
            model.Enqueue(ScriptedReply.Text($"Session {i} ready."));
            var id = await CreateSessionAsync(http, projectId, $"hello {i}");
            await WaitIdleAsync(http, id, 0);
        }

        await Task.Delay(TimeSpan.FromSeconds(quick ? 1 : 5));
        var (total, processes) = server.TreeRssMiB();
        var serverRss = server.RssMiB();
        return new Row($"{sessions} claude sessions open and idle: total RSS, server + agents ({processes} processes); before suspension",
            $"{Stats.F(total)} MiB (server {Stats.F(serverRss)} MiB)", $"server with 1 session {Stats.F(serverOnly)} MiB", "",
            "report; after suspension: not measured (the bench does not wait 15 minutes)", "n/a");
    }

    /// <summary>
    /// What the sandbox costs: a session's start to its first idle (agent started, first turn done) in a sandboxed project
    /// against an unsandboxed one, alternating, in the same run; and the memory of the bubblewrap processes per session.
    /// </summary>
    private async Task<List<Row>> SandboxAsync(HttpClient http, FakeModelServer model, string sandboxedProject, OsProcess server)
    {
        var plainRepository = await Temp.GitRepositoryAsync();
        try
        {
            var plain = await (await http.PostAsJsonAsync("/api/projects", new { path = plainRepository })).Content.ReadFromJsonAsync<JsonElement>();
            var plainProject = plain.GetProperty("id").GetString()!;
            (await http.PatchAsJsonAsync($"/api/projects/{plainProject}", new { sandbox = "none" })).EnsureSuccessStatusCode();
            var sandboxedMode = (await http.GetFromJsonAsync<JsonElement>($"/api/projects/{sandboxedProject}")).GetProperty("sandbox").GetString();
            if (sandboxedMode != "sandboxed")
            {
                return [new Row("Sandbox: session start, sandboxed vs not", "not measured", "", "", "bubblewrap does not work here", "n/a")];
            }

            var runs = quick ? 3 : 7;
            var sandboxed = new List<double>();
            var unsandboxed = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                foreach (var (project, times) in new[] { (sandboxedProject, sandboxed), (plainProject, unsandboxed) })
                {
                    model.Enqueue(ScriptedReply.Text("Ready."));
                    var start = Stopwatch.GetTimestamp();
                    var id = await CreateSessionAsync(http, project, $"start {i}");
                    await WaitIdleAsync(http, id, 0);
                    times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }

            // Every bubblewrap process under the server (each sandboxed agent has two: the sandbox and its init), per sandboxed session.
            var bwraps = OsProcess.Descendants(server.Pid).Where(pid => ProcessName(pid) == "bwrap").ToList();
            var sandboxedSessions = (await http.GetFromJsonAsync<JsonElement>($"/api/sessions?projectId={sandboxedProject}")).EnumerateArray()
                .Count(s => s.GetProperty("status").GetString() != "stopped");
            var perSession = sandboxedSessions == 0 ? 0 : bwraps.Sum(Pss) / sandboxedSessions;
            var ratio = Stats.Median(sandboxed) / Stats.Median(unsandboxed);
            return
            [
                new Row($"Sandbox: claude session start to first idle, sandboxed (median of {runs})", $"{Stats.F(Stats.Median(sandboxed))} ms",
                    $"{Stats.F(Stats.Median(unsandboxed))} ms unsandboxed", $"{ratio:0.00}x", "report", "n/a"),
                new Row($"Sandbox: memory of bubblewrap per sandboxed session (PSS, {bwraps.Count} processes, {sandboxedSessions} sessions)",
                    $"{Stats.F(perSession)} MiB", "", "", "< 2 MiB", perSession < 2 ? "met" : "MISSED"),
            ];
        }
        finally
        {
            Temp.Delete(plainRepository);
        }
    }

    private static string ProcessName(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Proportional set size in MiB: shared pages split between the processes sharing them (bwrap's are mostly shared).</summary>
    private static double Pss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/smaps_rollup").FirstOrDefault(l => l.StartsWith("Pss:", StringComparison.Ordinal));
            return line is null ? 0 : double.Parse(line[4..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    internal static async Task<string> CreateSessionAsync(HttpClient http, string projectId, string prompt)
    {
        using var response = await http.PostAsJsonAsync($"/api/projects/{projectId}/sessions", new { agent = "claude-code", prompt });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Creating a session failed: {(int)response.StatusCode} {body}");
        }

        return JsonElement.Parse(body).GetProperty("id").GetString()!;
    }

    internal static async Task<long> LastSeqAsync(HttpClient http, string sessionId) =>
        (await http.GetFromJsonAsync<JsonElement>($"/api/sessions/{sessionId}")).GetProperty("lastSeq").GetInt64();

    /// <summary>Follows the session's events after <paramref name="afterSeq"/> until a turn has completed and the session is idle.</summary>
    internal static async Task WaitIdleAsync(HttpClient http, string sessionId, long afterSeq)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var response = await http.GetAsync($"/api/sessions/{sessionId}/events?after={afterSeq}", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var completed = false;
        var kind = "";
        while (await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                kind = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                completed |= kind == "turn.completed";
                if (completed && kind == "session.status" && JsonElement.Parse(line[6..]).GetProperty("status").GetString() == "idle")
                {
                    return;
                }
            }
        }

        throw new InvalidOperationException($"The event stream of session {sessionId} ended before the turn did.");
    }
}
