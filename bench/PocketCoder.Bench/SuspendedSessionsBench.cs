using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime;
using System.Text.Json;
using FakeLlm;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents.Processes;
using PocketCoder.Auth;
using PocketCoder.Server;
using PocketCoder.Sessions;
using PocketCoder.Sessions.Live;

namespace PocketCoder.Bench;

/// <summary>
/// What a suspended session still costs the server (issue #40): sessions of the REAL Claude Code CLI, each through one turn
/// and idle, then suspended (their agents stopped), in a server in this process so that its managed heap can be measured after
/// a full compacting collection. Per session: (after suspension − before any of them) / sessions, for the managed heap and for
/// this process's RSS. Then one of them answers a message, resumed, as a phone's return would do.
/// </summary>
public sealed class SuspendedSessionsBench(string claude, bool quick)
{
    public async Task<List<Row>> RunAsync()
    {
        var count = quick ? 5 : 10;
        await using var model = await FakeModelServer.StartAsync();
        var data = Temp.Directory("pcbench-suspend");
        var home = Temp.Directory("pcbench-suspend-home");
        var repository = await Temp.GitRepositoryAsync();
        var app = PocketCoderServer.Build(new PocketCoderOptions
        {
            DataDirectory = data,
            Listen = "http://127.0.0.1:0",
            ConsoleLogging = false,
            // Suspension is asked for below, not left to the minute timer.
            SuspendIdleAfter = TimeSpan.Zero,
            AgentCommands = new Dictionary<string, AgentCommand>
            {
                ["claude-code"] = new AgentCommand(claude, new Dictionary<string, string?>
                {
                    ["HOME"] = home,
                    ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
                    ["ANTHROPIC_API_KEY"] = "fake-key",
                    ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
                    ["DISABLE_AUTOUPDATER"] = "1",
                    ["CLAUDE_CONFIG_DIR"] = null,
                    ["ANTHROPIC_AUTH_TOKEN"] = null,
                }),
            },
        });
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(120) };
            var code = app.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
            var paired = await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "bench" });
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                (await paired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
            var projectId = (await (await http.PostAsJsonAsync("/api/projects", new { path = repository })).Content.ReadFromJsonAsync<JsonElement>())
                .GetProperty("id").GetString()!;
            var live = app.Services.GetRequiredService<LiveSessions>();
            var suspensions = app.Services.GetRequiredService<Suspensions>();

            // One session first, through the whole cycle: what is paid once per process is not any session's.
            await OpenAsync(http, model, projectId, "warm-up");
            await SuspendAllAsync(live, suspensions, 1);
            var first = Measure();
            var before = first;

            // Two rounds of sessions opened and suspended: the second says what each one more costs, once the first has
            // paid for whatever the server does once (code first run, pools grown).
            var ids = new List<string>();
            var rounds = new List<((double Heap, double Rss) Open, (double Heap, double Rss) Suspended)>();
            for (var round = 0; round < 2; round++)
            {
                for (var i = 0; i < count; i++)
                {
                    ids.Add(await OpenAsync(http, model, projectId, $"session {round}.{i}"));
                }

                var opened = Measure();
                await SuspendAllAsync(live, suspensions, count);
                rounds.Add((opened, Measure()));
                await GcDumpAsync($"round{round + 1}");
            }

            var open = rounds[1].Open;
            before = rounds[0].Suspended;
            var after = rounds[1].Suspended;

            // A phone returns: a message to a suspended session resumes its agent, which answers.
            model.Enqueue(ScriptedReply.Text("Back."));
            var lastSeq = await ClaudeBench.LastSeqAsync(http, ids[0]);
            var asked = Stopwatch.GetTimestamp();
            (await http.PostAsJsonAsync($"/api/sessions/{ids[0]}/messages", new { text = "are you there?" })).EnsureSuccessStatusCode();
            await ClaudeBench.WaitIdleAsync(http, ids[0], lastSeq);
            var answered = Stopwatch.GetElapsedTime(asked).TotalMilliseconds;

            var heapEach = (after.Heap - before.Heap) / count;
            var rssEach = (after.Rss - before.Rss) / count;
            return
            [
                new Row($"{count} more claude sessions suspended (after {count} others): server memory each, managed heap after a full GC / RSS (in-process server)",
                    $"{Stats.F(heapEach * 1024, 0)} KiB / {Stats.F(rssEach, 2)} MiB",
                    $"open and idle: {Stats.F((open.Heap - before.Heap) / count * 1024, 0)} KiB / {Stats.F((open.Rss - before.Rss) / count, 2)} MiB each", "",
                    "< 2 MiB RSS each", rssEach < 2 ? "met" : "MISSED"),
                new Row($"  the first {count} after one warm-up session: each", $"{Stats.F((rounds[0].Suspended.Heap - first.Heap) / count * 1024, 0)} KiB / {Stats.F((rounds[0].Suspended.Rss - first.Rss) / count, 2)} MiB",
                    "", "", "report", "n/a"),
                new Row("A suspended claude session answers: message sent to its turn done and idle (resumed agent)", $"{Stats.F(answered, 0)} ms", "", "", "report", "n/a"),
            ];
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Temp.Delete(data);
            Temp.Delete(home);
            Temp.Delete(repository);
        }
    }

    /// <summary>
    /// With POCKETCODER_BENCH_GCDUMP=PREFIX (and dotnet-gcdump installed), the heap after each round's suspension, as
    /// PREFIX.round1.gcdump and PREFIX.round2.gcdump: `dotnet-gcdump report` on each says what they hold, by type.
    /// </summary>
    private static async Task GcDumpAsync(string when)
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_BENCH_GCDUMP") is { Length: > 0 } prefix)
        {
            await Cli.RunAsync("dotnet-gcdump", "collect", "-p", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-o", $"{prefix}.{when}.gcdump");
        }
    }

    private static async Task<string> OpenAsync(HttpClient http, FakeModelServer model, string projectId, string prompt)
    {
        model.Enqueue(ScriptedReply.Text($"Ready: {prompt}."));
        var id = await ClaudeBench.CreateSessionAsync(http, projectId, prompt);
        await ClaudeBench.WaitIdleAsync(http, id, 0);
        return id;
    }

    private static async Task SuspendAllAsync(LiveSessions live, Suspensions suspensions, int expected)
    {
        var suspended = await suspensions.SuspendIdleAsync(CancellationToken.None);
        if (suspended != expected || live.RunnerCount != 0)
        {
            throw new InvalidOperationException($"{suspended} sessions were suspended, not {expected} ({live.RunnerCount} still live)");
        }

        // Their processes are gone once suspension returns; what they leave is collected below.
        if (OsProcess.Descendants(Environment.ProcessId).Count > 0)
        {
            await Task.Delay(500);
        }
    }

    /// <summary>The managed heap after full compacting collections (MiB) and this process's RSS (MiB).</summary>
    private static (double Heap, double Rss) Measure()
    {
        for (var i = 0; i < 3; i++)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return (GC.GetTotalMemory(false) / 1048576.0, OsProcess.Rss(Environment.ProcessId));
    }
}
