using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace PocketCoder.Bench;

/// <summary>One published program as a user runs it: pocketcoder (serve) or the bare app.</summary>
public sealed record Published(string Name, string Executable, bool IsPocketCoder);

/// <summary>What one start of a program cost: exec to its first health answer, and its resident memory idle and after the requests.</summary>
public sealed record Footprint(double StartMs, double IdleMiB, double BusyMiB);

/// <summary>
/// Start-up, idle memory and memory after 1,000 requests of published programs, measured from outside as a user runs them:
/// each start in a HOME of its own that is empty (so pocketcoder makes its data folder, as a first run does), exec to the
/// first 200 from GET /api/health, VmRSS 5 s after exec, then again 1 s after 1,000 requests (pocketcoder's authenticated,
/// after a real `pocketcoder pair`). Every round starts each program once, the order rotated by one per round, so that the
/// machine's drift (2 shared cores) falls on all of them alike; figures are medians over the rounds, and only ratios to a
/// bare app in the same run mean anything.
/// </summary>
public sealed class FootprintBench(IReadOnlyList<Published> programs, int rounds)
{
    private static readonly TimeSpan IdleAt = TimeSpan.FromSeconds(5);

    public async Task<Dictionary<Published, List<Footprint>>> RunAsync()
    {
        var samples = programs.ToDictionary(p => p, _ => new List<Footprint>());
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < programs.Count; i++)
            {
                var program = programs[(i + round) % programs.Count];
                var sample = await MeasureAsync(program);
                Console.Error.WriteLine($"  round {round + 1}, {program.Name}: start-up {Stats.F(sample.StartMs)} ms, idle {Stats.F(sample.IdleMiB)} MiB, " +
                    $"after 1,000 requests {Stats.F(sample.BusyMiB)} MiB");
                samples[program].Add(sample);
            }
        }

        return samples;
    }

    /// <summary>The medians of each measure over the rounds.</summary>
    public static Footprint Median(IReadOnlyList<Footprint> samples) => new(Stats.Median([.. samples.Select(s => s.StartMs)]),
        Stats.Median([.. samples.Select(s => s.IdleMiB)]), Stats.Median([.. samples.Select(s => s.BusyMiB)]));

    private static async Task<Footprint> MeasureAsync(Published program)
    {
        var home = Temp.Directory("pcfoot-home");
        // A user's environment, minus anything that would point pocketcoder at a data folder other than the empty HOME's.
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home, ["XDG_DATA_HOME"] = null, ["XDG_CONFIG_HOME"] = null, ["XDG_STATE_HOME"] = null, ["POCKETCODER_DATA"] = null,
        };
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(5) };
            var url = OsProcess.FreeLoopbackUrl();
            var listen = url.ToString().TrimEnd('/');
            await using var process = program.IsPocketCoder
                ? OsProcess.Start(program.Executable, ["serve", "--listen", listen], url, environment)
                : OsProcess.Start(program.Executable, ["--urls", listen], url, environment);
            var start = (await process.WaitHealthyAsync(http, TimeSpan.FromSeconds(30))).TotalMilliseconds;
            var wait = IdleAt - Stopwatch.GetElapsedTime(process.StartedAt);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var idle = process.RssMiB();
            await (program.IsPocketCoder ? PocketCoderRequestsAsync(program, process.BaseUrl, environment) : BareRequestsAsync(process.BaseUrl));
            await Task.Delay(TimeSpan.FromSeconds(1));
            return new Footprint(start, idle, process.RssMiB());
        }
        finally
        {
            Temp.Delete(home);
        }
    }

    /// <summary>A phone's everyday reads, authenticated: the pairing and 999 GETs, round-robin over the list endpoints.</summary>
    private static async Task PocketCoderRequestsAsync(Published program, Uri baseUrl, IReadOnlyDictionary<string, string?> environment)
    {
        using var client = new HttpClient { BaseAddress = baseUrl };
        var pair = await Cli.RunAsync(program.Executable, ["pair", "--json"], environment);
        var code = JsonDocument.Parse(pair).RootElement.GetProperty("code").GetString();
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
    }

    private static async Task BareRequestsAsync(Uri baseUrl)
    {
        using var client = new HttpClient { BaseAddress = baseUrl };
        for (var i = 0; i < 1000; i++)
        {
            using var response = await client.GetAsync("/api/health");
            response.EnsureSuccessStatusCode();
        }
    }
}
