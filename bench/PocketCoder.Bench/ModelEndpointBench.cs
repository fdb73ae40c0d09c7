using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;

namespace PocketCoder.Bench;

/// <summary>
/// Issue #66: what holding the agent's key outside the sandbox costs its model requests. In a sandboxed session of the real Claude
/// Code (its key held: <c>ANTHROPIC_BASE_URL</c> inside is PocketCoder's injecting model endpoint), a command sends the same
/// requests to the same fake model two ways, interleaved: through that endpoint (the head read, the placeholder swapped for the
/// real key, the request sent on over a connection of the server's own) and through the plain tunnel to the model's address (the
/// relay a model on loopback gets, bytes spliced as they come). Each request is a new connection both ways, as the endpoint serves
/// one request per connection. Timed by curl inside: a small request (added latency), and a 10 MB streamed answer, paced at
/// 1 Gbit/s (the target) and at loopback speed (what the endpoint's CPU costs).
/// </summary>
internal static class ModelEndpointBench
{
    private const long Streamed = 10L << 20;

    public static async Task<List<Row>> RunAsync(HttpClient http, FakeModelServer model, string sandboxedProject, bool quick)
    {
        var (requests, streams) = quick ? (20, 2) : (60, 5);
        var plain = $"http://127.0.0.1:{model.BaseUrl.Port}";
        string Curl(string label, string baseUrl, string query) =>
            $"curl -s -o /dev/null -H \"x-api-key: $ANTHROPIC_API_KEY\" -H 'content-type: application/json' -d '{{\"model\":\"bench\",\"max_tokens\":1}}' " +
            $"-w '{label} %{{time_total}} %{{size_download}}\\n' \"{baseUrl}/bench/stream?{query}\"";
        var command =
            $"for i in $(seq {requests}); do {Curl("held", "$ANTHROPIC_BASE_URL", "bytes=2048")}; {Curl("plain", plain, "bytes=2048")}; done; " +
            $"for i in $(seq {streams}); do {Curl("heldpaced", "$ANTHROPIC_BASE_URL", $"bytes={Streamed}&paced=1")}; {Curl("plainpaced", plain, $"bytes={Streamed}&paced=1")}; " +
            $"{Curl("heldfast", "$ANTHROPIC_BASE_URL", $"bytes={Streamed}")}; {Curl("plainfast", plain, $"bytes={Streamed}")}; done";
        model.Enqueue(ScriptedReply.ToolUse("Bash", new { command, description = "time the model endpoint" }), ScriptedReply.Text("Timed."));
        using var response = await http.PostAsJsonAsync($"/api/projects/{sandboxedProject}/sessions",
            new { agent = "claude-code", prompt = "time the model endpoint", mode = "trusted" });
        response.EnsureSuccessStatusCode();
        var session = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var output = await NetworkBench.ToolResultAsync(http, session);
        (await http.DeleteAsync($"/api/sessions/{session}")).EnsureSuccessStatusCode();

        var times = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.Split(' ') is [var label, var seconds, var bytes] && long.TryParse(bytes, CultureInfo.InvariantCulture, out var size)
                && size == (label is "held" or "plain" ? 2048 : Streamed))
            {
                (times.TryGetValue(label, out var list) ? list : times[label] = []).Add(double.Parse(seconds, CultureInfo.InvariantCulture) * 1000);
            }
        }

        string[] labels = ["held", "plain", "heldpaced", "plainpaced", "heldfast", "plainfast"];
        if (labels.FirstOrDefault(label => !times.ContainsKey(label)) is { } missing)
        {
            throw new InvalidOperationException($"The timing command printed no whole '{missing}' answer (the sandbox's key not held?): {output}");
        }

        double Median(string label) => Stats.Median(times[label]);
        var added = Median("held") - Median("plain");
        var paced = Median("heldpaced") / Median("plainpaced");
        var fast = Median("heldfast") / Median("plainfast");
        return
        [
            new Row($"Secrets: a model request through the injecting endpoint vs the plain tunnel, a new connection each, to its last byte (median of {times["held"].Count})",
                $"{Stats.F(Median("held"), 2)} ms", $"{Stats.F(Median("plain"), 2)} ms tunnel", $"+{Stats.F(added, 2)} ms", "< 2 ms added", added < 2 ? "met" : "MISSED"),
            new Row($"Secrets: a streamed {Streamed >> 20} MB model answer over a 1 Gbit/s link, injecting endpoint vs plain tunnel (median of {times["heldpaced"].Count})",
                $"{Stats.F(Median("heldpaced"), 0)} ms", $"{Stats.F(Median("plainpaced"), 0)} ms tunnel", $"{paced:0.000}x", "< 1.05x", paced < 1.05 ? "met" : "MISSED"),
            new Row($"Secrets: the same {Streamed >> 20} MB at loopback speed (the endpoint's CPU for a second hop)",
                $"{Stats.F(Median("heldfast"), 0)} ms", $"{Stats.F(Median("plainfast"), 0)} ms tunnel", $"{fast:0.00}x the time", "report", "n/a"),
        ];
    }
}
