using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace PocketCoder.Bench;

/// <summary>Idle memory and start-up: the published pocketcoder against the published bare app, as OS processes.</summary>
public sealed class ExternalBench(string pocketcoderDirectory, string bareDirectory, int startupRuns)
{
    private string PocketCoderExe => Path.Combine(pocketcoderDirectory, "pocketcoder");

    private string BareExe => Path.Combine(bareDirectory, "bareapp");

    public async Task<List<Row>> RunAsync()
    {
        var rows = new List<Row>();
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(5) };
        var data = Temp.Directory("pcbench-data");

        // Start-up: one discarded run each (disk cache, first-run migrations), then alternate so drift hits both alike.
        var pcTimes = new List<double>();
        var bareTimes = new List<double>();
        for (var run = 0; run <= startupRuns; run++)
        {
            await using (var pc = StartPocketCoder(data))
            {
                var t = (await pc.WaitHealthyAsync(http, TimeSpan.FromSeconds(30))).TotalMilliseconds;
                if (run > 0)
                {
                    pcTimes.Add(t);
                }
            }

            await using (var bare = StartBare())
            {
                var t = (await bare.WaitHealthyAsync(http, TimeSpan.FromSeconds(30))).TotalMilliseconds;
                if (run > 0)
                {
                    bareTimes.Add(t);
                }
            }
        }

        var pcStart = Stats.Median(pcTimes);
        var bareStart = Stats.Median(bareTimes);
        rows.Add(Ratio($"Start-up: exec to first 200 /api/health (median of {startupRuns})", pcStart, bareStart, "ms", 1.5));

        // Idle memory: 5 s after exec, then after 1,000 API requests.
        var (pcIdle, pcBusy) = await MemoryAsync(StartPocketCoder(data), http, PocketCoderRequestsAsync(data));
        var (bareIdle, bareBusy) = await MemoryAsync(StartBare(), http, BareRequestsAsync());
        rows.Add(Ratio("Idle RSS 5 s after start", pcIdle, bareIdle, "MiB", 1.3));
        rows.Add(Ratio("RSS after 1,000 API requests", pcBusy, bareBusy, "MiB", 1.3));
        Temp.Delete(data);
        return rows;
    }

    private OsProcess StartPocketCoder(string data)
    {
        var url = OsProcess.FreeLoopbackUrl();
        return OsProcess.Start(PocketCoderExe, ["serve", "--listen", url.ToString().TrimEnd('/'), "--data", data], url);
    }

    private OsProcess StartBare()
    {
        var url = OsProcess.FreeLoopbackUrl();
        return OsProcess.Start(BareExe, ["--urls", url.ToString().TrimEnd('/')], url);
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
    private Func<Uri, Task> PocketCoderRequestsAsync(string data) => async baseUrl =>
    {
        using var client = new HttpClient { BaseAddress = baseUrl };
        var code = JsonDocument.Parse(await Cli.RunAsync(PocketCoderExe, "pair", "--json", "--data", data)).RootElement.GetProperty("code").GetString();
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
