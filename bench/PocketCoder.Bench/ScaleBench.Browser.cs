using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Bench;

/// <summary>
/// The phone's side of scale (issue #52): Debian's Chromium, paired with the published server, opens the long session and
/// the short one in turn (web/e2e/scale-bench.mjs measures; this runs it and makes the rows). The phone holds a window of
/// three pages of a transcript (web/src/transcriptWindow.ts), so neither its first screen nor its memory may grow with the
/// session's length, nor with the pages read back.
/// </summary>
public sealed partial class ScaleBench
{
    private async Task<List<Row>> BrowserAsync(string data, string shortId, string longId, int rounds, int pages)
    {
        await using var server = await StartAsync(data);
        using var bench = await PhoneAsync(server.BaseUrl, data);
        var sessions = new JsonObject
        {
            ["long"] = await NewestAsync(bench, longId),
            ["short"] = await NewestAsync(bench, shortId),
        };
        var code = JsonDocument.Parse(await Cli.RunAsync(Exe, "pair", "--json", "--data", data)).RootElement.GetProperty("code").GetString()!;
        using var result = await RunScriptAsync(["--url", server.BaseUrl.ToString(), "--code", code, "--sessions", sessions.ToJsonString(),
            "--rounds", (rounds + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "--pages", pages.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var root = result.RootElement;
        var longSession = (long)sessions["long"]!["lastSeq"]!;

        // The first opening of each warms the browser (the app's scripts compiled, its service worker installed): left out.
        double Median(string kind, string figure) =>
            Stats.Median(root.GetProperty(kind).EnumerateArray().Skip(1).Select(o => o.GetProperty(figure).GetDouble()).ToList());
        Row Pair(string measure, string figure, string unit, int decimals)
        {
            var (l, s) = (Median("long", figure), Median("short", figure));
            return new Row($"Scale, the phone: {measure} of a session of {longSession:N0} events (median of {rounds}, alternating, 390x844)",
                $"{Stats.F(l, decimals)} {unit}", $"{ShortSession:N0}-event session {Stats.F(s, decimals)} {unit}", $"{Stats.F(l / s, 2)}x", "<= 1.2x",
                l / s <= 1.2 ? "met" : "MISSED");
        }

        // The window holds three pages once the reader has paged back two: from there on, reading farther must cost nothing.
        var paged = root.GetProperty("pagedBack").EnumerateArray().ToList();
        var (full, back) = (paged[1].GetProperty("heap").GetDouble(), paged[^1].GetProperty("heap").GetDouble());
        return
        [
            Pair("time from navigation to the newest item on screen", "ms", "ms", 0),
            Pair("the page's JS heap after opening it (after a GC)", "heap", "MiB", 2),
            Pair("the page's renderer RSS after opening it", "rss", "MiB", 1),
            new Row($"Scale, the phone: the JS heap after paging back {pages} pages (200 events each) in that session (after a GC)",
                $"{Stats.F(back, 2)} MiB", $"after 2 pages (the window full) {Stats.F(full, 2)} MiB", $"{Stats.F(back / full, 2)}x", "<= 1.2x",
                back / full <= 1.2 ? "met" : "MISSED"),
        ];
    }

    /// <summary>What the phone waits for to call a session shown: its last seq, and words of its newest item.</summary>
    private static async Task<JsonObject> NewestAsync(HttpClient phone, string sessionId)
    {
        var lastSeq = (await phone.GetFromJsonAsync<JsonElement>($"/api/sessions/{sessionId}")).GetProperty("lastSeq").GetInt64();
        return new JsonObject { ["id"] = sessionId, ["lastSeq"] = lastSeq, ["newest"] = Words(lastSeq) };
    }

    /// <summary>Runs web/e2e/scale-bench.mjs and returns its result line; throws with its log when it fails.</summary>
    private static async Task<JsonDocument> RunScriptAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = WebDirectory(), RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("e2e/scale-bench.mjs");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();
        var log = await output + await errors;
        Console.Error.Write(string.Join('\n', log.Split('\n').Where(l => !l.StartsWith("result ", StringComparison.Ordinal)).Select(l => $"  {l}")));
        var line = log.Split('\n').FirstOrDefault(l => l.StartsWith("result ", StringComparison.Ordinal));
        return node.ExitCode == 0 && line is not null
            ? JsonDocument.Parse(line["result ".Length..])
            : throw new InvalidOperationException($"e2e/scale-bench.mjs exited {node.ExitCode}:\n{log}");
    }

    /// <summary>The repository's web/ folder (its node_modules hold playwright-core), found above the bench's binary.</summary>
    private static string WebDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "web", "e2e", "scale-bench.mjs")))
            {
                return Path.Combine(directory.FullName, "web");
            }
        }

        throw new InvalidOperationException("No web/e2e/scale-bench.mjs above the bench's binary.");
    }
}
