using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace PocketCoder.Bench;

/// <summary>
/// The first push after a start against the ones after it, as an outside check sees them: the published server, a device
/// paired and subscribed to a push service on loopback, then restarted (as after an update or a reboot) and asked for a test
/// push a moment after it answers, then for more. Each time runs from just before the request to the push's arrival.
/// Run for the JIT (ReadyToRun) build and, when given, the native binary: <paramref name="build"/> names which in the rows.
/// </summary>
public sealed class FirstPushBench(string pocketcoderDirectory, bool quick, string build = "JIT")
{
    /// <summary>How long after the first 200 the first push is asked for: the soonest a phone could ask after a restart.</summary>
    private static readonly TimeSpan AfterStart = TimeSpan.FromMilliseconds(500);

    private string Exe => Path.Combine(pocketcoderDirectory, "pocketcoder");

    public async Task<List<Row>> RunAsync()
    {
        var starts = quick ? 3 : 8;
        var pushesPerStart = quick ? 10 : 25;
        var data = Temp.Directory("pcbench-push");
        await using var stub = await PushStub.StartAsync();
        using var health = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string token;
        await using (var first = Start(data))
        {
            await first.WaitHealthyAsync(health, TimeSpan.FromSeconds(30));
            token = await PairAndSubscribeAsync(first.BaseUrl, data, stub.Endpoint);
        }

        var firsts = new List<double>();
        var warm = new List<double>();
        var all = new List<double>();
        for (var start = 0; start < starts; start++)
        {
            await using var server = Start(data);
            await server.WaitHealthyAsync(health, TimeSpan.FromSeconds(30));
            await Task.Delay(AfterStart);
            // A fresh client each start, with its connection opened beforehand (a health call), so the figure is the server's.
            using var phone = new HttpClient { BaseAddress = server.BaseUrl };
            phone.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            (await phone.GetAsync("/api/health")).EnsureSuccessStatusCode();
            for (var i = 0; i < pushesPerStart; i++)
            {
                var asked = Stopwatch.GetTimestamp();
                using var sent = await phone.PostAsync("/api/notifications/test", null);
                sent.EnsureSuccessStatusCode();
                var arrived = await stub.NextArrivalAsync();
                var ms = Stopwatch.GetElapsedTime(asked, arrived).TotalMilliseconds;
                (i == 0 ? firsts : warm).Add(ms);
                all.Add(ms);
            }
        }

        Temp.Delete(data);
        var p99 = Stats.Percentile(all, 99);
        return
        [
            new Row($"Push after a restart ({build}): the first, median / max ({starts} starts, asked {AfterStart.TotalMilliseconds:0} ms after the first 200)",
                $"{Stats.F(Stats.Median(firsts), 1)} / {Stats.F(firsts.Max(), 1)} ms", $"later pushes {Stats.F(Stats.Median(warm), 1)} / {Stats.F(warm.Max(), 1)} ms",
                $"{Stats.F(Stats.Median(firsts) / Stats.Median(warm), 1)}x", "", ""),
            new Row($"Push ({build}): test push asked to its arrival, p99 including each start's first ({all.Count} pushes)", $"{Stats.F(p99, 1)} ms",
                $"p50 {Stats.F(Stats.Median(all), 1)} ms", "", "p99 < 20 ms", p99 < 20 ? "met" : "MISSED"),
        ];
    }

    private OsProcess Start(string data)
    {
        var url = OsProcess.FreeLoopbackUrl();
        return OsProcess.Start(Exe, ["serve", "--listen", url.ToString().TrimEnd('/'), "--data", data], url);
    }

    private async Task<string> PairAndSubscribeAsync(Uri baseUrl, string data, string endpoint)
    {
        using var client = new HttpClient { BaseAddress = baseUrl };
        var code = JsonDocument.Parse(await Cli.RunAsync(Exe, "pair", "--json", "--data", data)).RootElement.GetProperty("code").GetString();
        var paired = await client.PostAsJsonAsync("/api/pair", new { code, deviceName = "bench phone" });
        paired.EnsureSuccessStatusCode();
        var token = (await paired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var subscribed = await client.PutAsJsonAsync("/api/notifications/web-push", new
        {
            endpoint,
            keys = new
            {
                p256dh = System.Buffers.Text.Base64Url.EncodeToString(PocketCoder.Notifications.WebPushCrypto.PublicKeyBytes(browser)),
                auth = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            },
        });
        subscribed.EnsureSuccessStatusCode();
        return token;
    }
}
