using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FakeLlm;

namespace PocketCoder.Bench;

/// <summary>
/// Issue #50: what the sandbox's network costs, measured in one run against the same work without it. The published server
/// and the real Claude Code CLI; two projects of one server, one sandboxed (its connections through PocketCoder's proxy, the
/// host allowed by a rule) and one not (direct). In each, a command run by Claude: many small requests (time to first byte: a new
/// connection each) and two large downloads, timed by curl: one as fast as loopback goes (what the proxy can carry: the CPU of
/// a second hop, not a download anyone makes), and one over a link paced at 1 Gbit/s (a fast real download, where the target
/// applies); and the per-prompt latency of each project's session (the model on loopback: through the sandbox's relay, or direct);
/// then the model endpoint that puts the held key in, against the plain tunnel (<see cref="ModelEndpointBench"/>).
/// </summary>
public sealed class NetworkBench(string pocketcoderDirectory, string claude, bool quick)
{
    private const string Host = "bench.pocketcoder.test";

    public async Task<List<Row>> RunAsync()
    {
        var size = quick ? 20L << 20 : 100L << 20;
        await using var content = new DownloadServer(size);
        await using var model = await FakeModelServer.StartAsync();
        var bench = new ClaudeBench(pocketcoderDirectory, claude, quick);
        await using var world = await bench.StartServerAsync(model, "--network-host", $"{Host}=127.0.0.1");
        var http = world.Http;
        var sandboxed = world.ProjectId;
        if ((await http.GetFromJsonAsync<JsonElement>($"/api/projects/{sandboxed}")).GetProperty("sandbox").GetString() != "sandboxed")
        {
            return [new Row("Network: through the sandbox's proxy vs direct", "not measured", "", "", "bubblewrap does not work here", "n/a")];
        }

        (await http.PostAsJsonAsync($"/api/projects/{sandboxed}/rules", new { tool = "network", pattern = Host, action = "allow" })).EnsureSuccessStatusCode();
        var plainRepository = await Temp.GitRepositoryAsync();
        try
        {
            var plain = (await (await http.PostAsJsonAsync("/api/projects", new { path = plainRepository })).Content.ReadFromJsonAsync<JsonElement>())
                .GetProperty("id").GetString()!;
            (await http.PatchAsJsonAsync($"/api/projects/{plain}", new { sandbox = "none" })).EnsureSuccessStatusCode();
            var small = quick ? 15 : 40;
            var runs = quick ? 1 : 3;
            var (proxied, direct) = (new Measured(), new Measured());
            for (var run = 0; run < runs; run++)
            {
                await MeasureAsync(http, model, sandboxed, $"http://{Host}:{content.Port}", small, proxied);
                await MeasureAsync(http, model, plain, $"http://127.0.0.1:{content.Port}", small, direct);
            }

            var (promptProxied, promptDirect) = (await PerPromptAsync(http, model, sandboxed), await PerPromptAsync(http, model, plain));
            // The sandboxed Claude's key is held (the server's ANTHROPIC_API_KEY): its model requests go through the injecting endpoint.
            return [.. Rows(proxied, direct, promptProxied, promptDirect, size, small * runs),
                .. await ModelEndpointBench.RunAsync(http, model, sandboxed, quick)];
        }
        finally
        {
            Temp.Delete(plainRepository);
        }
    }

    private static List<Row> Rows(Measured proxied, Measured direct, double promptProxied, double promptDirect, long size, int connections)
    {
        var added = Stats.Median(proxied.FirstByte) - Stats.Median(direct.FirstByte);
        var ratio = Stats.Median(proxied.Paced) / Stats.Median(direct.Paced);
        var loopback = Stats.Median(proxied.Download) / Stats.Median(direct.Download);
        double MiBps(double ms) => size / 1048576.0 / (ms / 1000);
        return
        [
            new Row($"Network: a new connection through the sandbox's proxy, plain HTTP, time to first byte (median of {connections})",
                $"{Stats.F(Stats.Median(proxied.FirstByte), 2)} ms", $"{Stats.F(Stats.Median(direct.FirstByte), 2)} ms direct", $"+{Stats.F(added, 2)} ms",
                "< 2 ms added", added < 2 ? "met" : "MISSED"),
            new Row($"Network: a {size >> 20} MB download over a 1 Gbit/s link, through the sandbox's proxy (median of {proxied.Paced.Count})",
                $"{Stats.F(Stats.Median(proxied.Paced), 0)} ms", $"{Stats.F(Stats.Median(direct.Paced), 0)} ms direct", $"{ratio:0.000}x",
                "< 1.05x", ratio < 1.05 ? "met" : "MISSED"),
            new Row($"Network: the same {size >> 20} MB at loopback speed (what the proxy carries: its CPU for a second hop)",
                $"{Stats.F(MiBps(Stats.Median(proxied.Download)), 0)} MiB/s", $"{Stats.F(MiBps(Stats.Median(direct.Download)), 0)} MiB/s direct",
                $"{loopback:0.00}x the time", "report", "n/a"),
            new Row("Network: per prompt, the model on loopback through the sandbox's relay vs an unsandboxed session (median)",
                $"{Stats.F(promptProxied)} ms", $"{Stats.F(promptDirect)} ms unsandboxed", $"+{Stats.F(promptProxied - promptDirect)} ms", "report", "n/a"),
        ];
    }

    /// <summary>One turn in <paramref name="projectId"/> whose command times <paramref name="small"/> new connections and one download.</summary>
    private static async Task MeasureAsync(HttpClient http, FakeModelServer model, string projectId, string url, int small, Measured into)
    {
        var command = $"for i in $(seq {small}); do curl -s -o /dev/null -w 'first %{{time_starttransfer}}\\n' {url}/small; done; " +
                      $"curl -s -o /dev/null -w 'download %{{time_total}} %{{size_download}}\\n' {url}/big; " +
                      $"curl -s -o /dev/null -w 'paced %{{time_total}} %{{size_download}}\\n' {url}/paced";
        model.Enqueue(ScriptedReply.ToolUse("Bash", new { command, description = "time the network" }), ScriptedReply.Text("Timed."));
        using var response = await http.PostAsJsonAsync($"/api/projects/{projectId}/sessions", new { agent = "claude-code", prompt = "time it", mode = "trusted" });
        response.EnsureSuccessStatusCode();
        var session = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var output = await ToolResultAsync(http, session);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ');
            if (parts is ["first", var seconds])
            {
                into.FirstByte.Add(double.Parse(seconds, CultureInfo.InvariantCulture) * 1000);
            }
            else if (parts is [var kind and ("download" or "paced"), var total, var bytes] && long.Parse(bytes, CultureInfo.InvariantCulture) > 0)
            {
                (kind == "paced" ? into.Paced : into.Download).Add(double.Parse(total, CultureInfo.InvariantCulture) * 1000);
            }
        }

        if (into.Download.Count == 0 || into.Paced.Count == 0)
        {
            throw new InvalidOperationException($"The timing command printed no download: {output}");
        }

        (await http.DeleteAsync($"/api/sessions/{session}")).EnsureSuccessStatusCode();
    }

    /// <summary>The median time from POST /messages to the model's request, over a few prompts of one session in the project.</summary>
    private async Task<double> PerPromptAsync(HttpClient http, FakeModelServer model, string projectId)
    {
        model.Enqueue(ScriptedReply.Text("Ready."));
        var session = await ClaudeBench.CreateSessionAsync(http, projectId, "hello");
        await ClaudeBench.WaitIdleAsync(http, session, 0);
        var times = new List<double>();
        for (var i = 0; i < (quick ? 5 : 15); i++)
        {
            var marker = $"net-prompt-{i}-{Guid.NewGuid():N}";
            model.Enqueue(ScriptedReply.Text("ok"));
            var arrived = model.WaitForRequestAsync(r => r.LastUserText().Contains(marker, StringComparison.Ordinal), CancellationToken.None);
            var before = await ClaudeBench.LastSeqAsync(http, session);
            var start = Stopwatch.GetTimestamp();
            (await http.PostAsJsonAsync($"/api/sessions/{session}/messages", new { text = marker })).EnsureSuccessStatusCode();
            await arrived.WaitAsync(TimeSpan.FromSeconds(60));
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            await ClaudeBench.WaitIdleAsync(http, session, before);
        }

        (await http.DeleteAsync($"/api/sessions/{session}")).EnsureSuccessStatusCode();
        return Stats.Median(times);
    }

    /// <summary>The first tool result of the session, once its turn completed.</summary>
    internal static async Task<string> ToolResultAsync(HttpClient http, string sessionId)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var response = await http.GetAsync($"/api/sessions/{sessionId}/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var (kind, result) = ("", (string?)null);
        while (await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                kind = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                if (kind == "tool.result")
                {
                    result ??= JsonElement.Parse(line[6..]).GetProperty("content").GetString();
                }
                else if (kind == "turn.completed")
                {
                    return result ?? throw new InvalidOperationException("The turn ended without running the timing command.");
                }
            }
        }

        throw new InvalidOperationException("The event stream ended before the turn did.");
    }

    private sealed class Measured
    {
        public List<double> FirstByte { get; } = [];

        public List<double> Download { get; } = [];

        public List<double> Paced { get; } = [];
    }

    /// <summary>
    /// A plain HTTP server on loopback: <c>/small</c> answers two bytes, <c>/paced</c> the whole download at 1 Gbit/s (a chunk every
    /// 2 ms of 256 KiB, as a fast link delivers it), anything else the whole download as fast as it goes (zeros).
    /// </summary>
    private sealed class DownloadServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly long _size;

        public DownloadServer(long size)
        {
            _size = size;
            _listener.Start(128);
            _loop = Task.Run(ServeAsync);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private async Task ServeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => AnswerAsync(client));
            }
        }

        private async Task AnswerAsync(Socket client)
        {
            using (client)
            {
                try
                {
                    var buffer = new byte[8192];
                    var head = new StringBuilder();
                    while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && await client.ReceiveAsync(buffer, _stop.Token) is var read and > 0)
                    {
                        head.Append(Encoding.Latin1.GetString(buffer, 0, read));
                    }

                    var request = head.ToString();
                    var length = request.StartsWith("GET /small", StringComparison.Ordinal) ? 2 : _size;
                    var paced = request.StartsWith("GET /paced", StringComparison.Ordinal);
                    await client.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"), _stop.Token);
                    var chunk = new byte[256 * 1024];
                    var started = Stopwatch.GetTimestamp();
                    for (var sent = 0L; sent < length;)
                    {
                        if (paced && TimeSpan.FromSeconds(sent / 125e6) - Stopwatch.GetElapsedTime(started) is { TotalMilliseconds: > 0 } ahead)
                        {
                            await Task.Delay(ahead, _stop.Token);
                        }

                        var part = (int)Math.Min(chunk.Length, length - sent);
                        sent += await client.SendAsync(chunk.AsMemory(0, part), _stop.Token);
                    }

                    client.Shutdown(SocketShutdown.Send);
                }
                catch (Exception exception) when (exception is OperationCanceledException or SocketException)
                {
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
        }
    }
}
