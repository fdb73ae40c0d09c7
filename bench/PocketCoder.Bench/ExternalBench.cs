using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace PocketCoder.Bench;

/// <summary>
/// Idle memory and start-up of the published pocketcoder against the published bare app, as OS processes: JIT
/// (ReadyToRun) builds always; the native (Native AOT) builds too when their folders are given. The native server is held
/// to the bare JIT app (it must cost no more than the least ASP.NET Core service does JITted) and to the bare native app.
/// </summary>
public sealed class ExternalBench(string pocketcoderDirectory, string bareDirectory, string? pocketcoderAotDirectory, string? bareAotDirectory, int startupRuns)
{
    private sealed record Build(string Name, string Directory, bool IsPocketCoder)
    {
        public string Exe => Path.Combine(Directory, IsPocketCoder ? "pocketcoder" : "bareapp");
    }

    public async Task<List<Row>> RunAsync()
    {
        var rows = new List<Row>();
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(5) };
        var data = Temp.Directory("pcbench-data");
        var pc = new Build("JIT", pocketcoderDirectory, true);
        var bare = new Build("JIT", bareDirectory, false);
        Build? pcAot = pocketcoderAotDirectory is null ? null : new Build("native", pocketcoderAotDirectory, true);
        Build? bareAot = bareAotDirectory is null ? null : new Build("native", bareAotDirectory, false);
        Build[] builds = [pc, bare, .. pcAot is null ? [] : new[] { pcAot }, .. bareAot is null ? [] : new[] { bareAot }];

        // Start-up: one discarded run each (disk cache, first-run migrations), then round-robin so drift hits all alike.
        var times = builds.ToDictionary(b => b, _ => new List<double>());
        for (var run = 0; run <= startupRuns; run++)
        {
            foreach (var build in builds)
            {
                await using var process = Start(build, data);
                var t = (await process.WaitHealthyAsync(http, TimeSpan.FromSeconds(30))).TotalMilliseconds;
                if (run > 0)
                {
                    times[build].Add(t);
                }
            }
        }

        // Idle memory: 5 s after exec, then after 1,000 API requests.
        var memory = new Dictionary<Build, (double Idle, double Busy)>();
        foreach (var build in builds)
        {
            memory[build] = await MemoryAsync(Start(build, data), http, build.IsPocketCoder ? PocketCoderRequestsAsync(build, data) : BareRequestsAsync());
        }

        Temp.Delete(data);
        var start = $"Start-up: exec to first 200 /api/health (median of {startupRuns})";
        void Compare(Build server, Build baseline, double startTarget, double memoryTarget)
        {
            var against = $"{server.Name} vs bare {baseline.Name}";
            rows.Add(Ratio($"{start}, {against}", Stats.Median(times[server]), Stats.Median(times[baseline]), "ms", startTarget));
            rows.Add(Ratio($"Idle RSS 5 s after start, {against}", memory[server].Idle, memory[baseline].Idle, "MiB", memoryTarget));
            rows.Add(Ratio($"RSS after 1,000 API requests, {against}", memory[server].Busy, memory[baseline].Busy, "MiB", memoryTarget));
        }

        Compare(pc, bare, 1.5, 1.3);
        if (pcAot is not null)
        {
            // Issue #40: the native server costs no more than the bare app JITted, and at most 1.5x the bare app native.
            Compare(pcAot, bare, 1.0, 1.0);
            if (bareAot is not null)
            {
                Compare(pcAot, bareAot, 1.5, 1.5);
            }
        }

        return rows;
    }

    private static OsProcess Start(Build build, string data)
    {
        var url = OsProcess.FreeLoopbackUrl();
        return build.IsPocketCoder
            ? OsProcess.Start(build.Exe, ["serve", "--listen", url.ToString().TrimEnd('/'), "--data", data], url)
            : OsProcess.Start(build.Exe, ["--urls", url.ToString().TrimEnd('/')], url);
    }

    private static async Task<(double Idle, double Busy)> MemoryAsync(OsProcess process, HttpClient http, Func<Uri, Task> requests)
    {
        await using (process)
        {
            await process.WaitHealthyAsync(http, TimeSpan.FromSeconds(30));
            var wait = TimeSpan.FromSeconds(5) - Stopwatch.GetElapsedTime(process.StartedAt);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var idle = process.RssMiB();
            await requests(process.BaseUrl);
            await Task.Delay(TimeSpan.FromSeconds(1));
            return (idle, process.RssMiB());
        }
    }

    /// <summary>A phone's everyday reads, authenticated: 1,000 in all, round-robin over the list endpoints.</summary>
    private static Func<Uri, Task> PocketCoderRequestsAsync(Build build, string data) => async baseUrl =>
    {
        using var client = new HttpClient { BaseAddress = baseUrl };
        var code = JsonDocument.Parse(await Cli.RunAsync(build.Exe, "pair", "--json", "--data", data)).RootElement.GetProperty("code").GetString();
        var paired = await client.PostAsJsonAsync("/api/pair", new { code, deviceName = "bench" });
        paired.EnsureSuccessStatusCode();
        var token = (await paired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        string[] paths = ["/api/health", "/api/projects", "/api/sessions", "/api/approvals?status=pending", "/api/devices"];
        for (var i = 0; i < 999; i++)
        {
            using var response = await client.GetAsync(paths[i % paths.Length]);
            response.EnsureSuccessStatusCode();
        }
    };

    private static Func<Uri, Task> BareRequestsAsync() => async baseUrl =>
    {
        using var client = new HttpClient { BaseAddress = baseUrl };
        for (var i = 0; i < 1000; i++)
        {
            using var response = await client.GetAsync("/api/health");
            response.EnsureSuccessStatusCode();
        }
    };

    public static Row Ratio(string measure, double pc, double baseline, string unit, double target)
    {
        var ratio = pc / baseline;
        return new Row(measure, $"{Stats.F(pc)} {unit}", $"{Stats.F(baseline)} {unit}", $"{Stats.F(ratio, 2)}x", $"<= {target}x",
            ratio <= target ? "met" : "MISSED");
    }
}
