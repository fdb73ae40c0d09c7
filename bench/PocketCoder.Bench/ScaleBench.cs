using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PocketCoder.Data;
using PocketCoder.Realtime;
using EventLog = PocketCoder.Realtime.EventLog;

namespace PocketCoder.Bench;

/// <summary>
/// Scale that stays flat (issue #52): a data folder of 2,000,000 events holding a session of 500,000 and one of 1,000,
/// served by the published server. Opening a session (its record and its newest page, as the phone does) and the server's
/// RSS after opening it, the long session against the short one; the session list and a search in that folder against the
/// same calls in a folder holding only the short session (the ledger's pages read its primary key: QueryPlanTests). Each figure's baseline is measured in the
/// same run. The folder is written straight into SQLite with the server's own schema (its migrations), not through agents:
/// what is measured is reading it back.
/// </summary>
public sealed partial class ScaleBench(string pocketcoderDirectory, bool quick)
{
    private const int ShortSession = 1_000;

    private string Exe => Path.Combine(pocketcoderDirectory, "pocketcoder");

    /// <param name="phoneOnly">Only the phone's rows (ScaleBench.Browser.cs): for tuning the web app without the server's.</param>
    public async Task<List<Row>> RunAsync(bool phoneOnly = false)
    {
        var (longSession, folderTotal) = quick ? (100_000, 400_000) : (500_000, 2_000_000);
        var big = Temp.Directory("pcbench-scale");
        var small = Temp.Directory("pcbench-scale-small");
        try
        {
            var building = Stopwatch.StartNew();
            var (shortId, longId) = Build(big, longSession, folderTotal);
            var (smallShortId, _) = Build(small, 0, 0);
            Console.Error.WriteLine($"  built {folderTotal:N0} events in {building.Elapsed.TotalSeconds:0} s");
            if (phoneOnly)
            {
                return await BrowserAsync(big, shortId, longId, quick ? 8 : 15, quick ? 10 : 25);
            }

            var rounds = quick ? 20 : 60;
            var rows = new List<Row>();

            // One process per session for RSS (each opened the same number of times); time to the first page from both.
            var (shortOpen, shortFirst, shortRss) = await OpenAsync(big, shortId, rounds);
            var (longOpen, longFirst, longRss) = await OpenAsync(big, longId, rounds);
            rows.Add(new Row($"Scale: opening a session of {longSession:N0} events (its record and newest page, median of {rounds}; the first after start)",
                $"{Stats.F(longOpen, 2)} ms (first {Stats.F(longFirst, 1)} ms)", $"{ShortSession:N0}-event session {Stats.F(shortOpen, 2)} ms (first {Stats.F(shortFirst, 1)} ms)",
                $"{Stats.F(longOpen / shortOpen, 2)}x", "<= 1.2x", longOpen / shortOpen <= 1.2 ? "met" : "MISSED"));
            rows.Add(new Row($"Scale: server RSS after opening it {rounds} times, in a data folder of {folderTotal:N0} events",
                $"{Stats.F(longRss, 1)} MiB", $"{ShortSession:N0}-event session {Stats.F(shortRss, 1)} MiB",
                $"{Stats.F(longRss / shortRss, 2)}x", "<= 1.2x", longRss / shortRss <= 1.2 ? "met" : "MISSED"));

            var bigLists = await ListsAsync(big, rounds);
            var smallLists = await ListsAsync(small, rounds);
            foreach (var (name, ms) in bigLists)
            {
                var baseline = smallLists[name];
                rows.Add(new Row($"Scale: {name} in a data folder of {folderTotal:N0} events (median of {rounds})", $"{Stats.F(ms, 2)} ms",
                    $"{Stats.F(baseline, 2)} ms with one {ShortSession:N0}-event session", $"{Stats.F(ms / baseline, 2)}x", "report", ""));
            }

            // What opening the long session cost before the page: the stream replayed every event from the start.
            var replay = await ReplayAsync(big, longId, longSession);
            rows.Add(new Row($"Scale: before the page, opening replayed the whole log ({longSession:N0} events over SSE from seq 0)",
                $"{Stats.F(replay, 0)} ms", $"the page: {Stats.F(longOpen, 2)} ms", $"{Stats.F(replay / longOpen, 0)}x", "report", ""));
            _ = smallShortId;

            rows.AddRange(await BrowserAsync(big, shortId, longId, quick ? 8 : 15, quick ? 10 : 25));
            return rows;
        }
        finally
        {
            Temp.Delete(big);
            Temp.Delete(small);
        }
    }

    /// <summary>
    /// A data folder with a project, a short session, a long one and enough sessions of 2,000 events to bring the folder to
    /// <paramref name="total"/> events: small assistant deltas, every 50th a whole message (the list's preview), every
    /// 1,000th a prompt (what search finds).
    /// </summary>
    private static (string Short, string Long) Build(string data, int longSession, int total)
    {
        using var database = new Database(data);
        database.Migrate();
        var log = new EventLog(database, new EventHub(), TimeProvider.System);
        var sessions = new Sessions.SessionStore(database, log, TimeProvider.System);
        var projectPath = Directory.CreateDirectory(Path.Combine(data, "project")).FullName;
        database.Write(write => write.Execute(
            "INSERT INTO projects (id, name, path, created_at) VALUES ('p1', 'scale', $path, $at)", ("$path", projectPath), ("$at", DateTimeOffset.UtcNow.ToDb())));
        string NewSession(string title) => database.Write(write => sessions.Create(write, "p1", "claude-code", null, "ask", title, status: "stopped")).Id;

        var shortId = NewSession("short");
        Fill(database, shortId, ShortSession);
        var longId = longSession > 0 ? NewSession("long") : shortId;
        if (longSession > 0)
        {
            Fill(database, longId, longSession);
        }

        for (var left = total - longSession - ShortSession; left > 0; left -= 2_000)
        {
            Fill(database, NewSession($"filler {left}"), Math.Min(2_000, left));
        }

        return (shortId, longId);
    }

    /// <summary>The words the event at <paramref name="seq"/> says (its item on the phone shows them).</summary>
    private static string Words(long seq) => (seq % 1_000, seq % 50) switch
    {
        (1, _) => $"Fix the build, step {seq}",
        (_, 0) => $"Message {seq}",
        _ => $"part {seq}",
    };

    /// <summary>Appends <paramref name="count"/> events after the session's last one, in transactions of 50,000.</summary>
    private static void Fill(Database database, string sessionId, int count)
    {
        using var connection = database.Open();
        var seq = (long)new Microsoft.Data.Sqlite.SqliteCommand("SELECT last_seq FROM sessions WHERE id = $id", connection)
        { Parameters = { new("$id", sessionId) } }.ExecuteScalar()!;
        var at = DateTimeOffset.UtcNow.ToDb();
        for (var done = 0; done < count;)
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO events (session_id, seq, kind, data, at) VALUES ($session, $seq, $kind, $data, $at)";
            var (pSeq, pKind, pData) = (insert.Parameters.Add("$seq", Microsoft.Data.Sqlite.SqliteType.Integer),
                insert.Parameters.Add("$kind", Microsoft.Data.Sqlite.SqliteType.Text), insert.Parameters.Add("$data", Microsoft.Data.Sqlite.SqliteType.Text));
            insert.Parameters.AddWithValue("$session", sessionId);
            insert.Parameters.AddWithValue("$at", at);
            insert.Prepare();
            for (var n = 0; n < 50_000 && done < count; n++, done++)
            {
                seq++;
                pSeq.Value = seq;
                (pKind.Value, pData.Value) = (seq % 1_000, seq % 50) switch
                {
                    (1, _) => (UserMessageEvent.Kind, EventLog.Payload(sessionId, seq, new UserMessageEvent(Words(seq), "phone"))),
                    (_, 0) => (MessageEvent.Kind, EventLog.Payload(sessionId, seq, new MessageEvent($"{Words(seq)}: the build passes and the tests are green."))),
                    _ => (MessageDeltaEvent.Kind, EventLog.Payload(sessionId, seq, new MessageDeltaEvent($"{Words(seq)} of a long answer, "))),
                };
                insert.ExecuteNonQuery();
            }

            using var last = connection.CreateCommand();
            last.Transaction = transaction;
            last.CommandText = "UPDATE sessions SET last_seq = $seq WHERE id = $id";
            last.Parameters.AddWithValue("$seq", seq);
            last.Parameters.AddWithValue("$id", sessionId);
            last.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    /// <summary>
    /// A fresh server on the folder, a paired phone, then the session opened <paramref name="rounds"/> times as the app
    /// opens it: its record and its newest page, side by side. Returns the median and the first, in ms, and the RSS after.
    /// </summary>
    private async Task<(double Median, double First, double RssMiB)> OpenAsync(string data, string sessionId, int rounds)
    {
        await using var server = await StartAsync(data);
        using var phone = await PhoneAsync(server.BaseUrl, data);
        var times = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var record = phone.GetStringAsync($"/api/sessions/{sessionId}");
            var page = phone.GetStringAsync($"/api/sessions/{sessionId}/events/page");
            await Task.WhenAll(record, page);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (!page.Result.Contains("\"lastSeq\"", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Not a page: {page.Result[..Math.Min(200, page.Result.Length)]}");
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        return (Stats.Median(times.Skip(1).ToList()), times[0], server.RssMiB());
    }

    private async Task<Dictionary<string, double>> ListsAsync(string data, int rounds)
    {
        await using var server = await StartAsync(data);
        using var phone = await PhoneAsync(server.BaseUrl, data);
        var calls = new Dictionary<string, string>
        {
            ["the session list"] = "/api/sessions",
            ["a search of every session's prompts"] = "/api/sessions?q=build",
        };
        var medians = new Dictionary<string, double>();
        foreach (var (name, path) in calls)
        {
            (await phone.GetAsync(path)).EnsureSuccessStatusCode();
            var times = new List<double>();
            for (var i = 0; i < rounds; i++)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await phone.GetAsync(path);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync();
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            medians[name] = Stats.Median(times);
        }

        return medians;
    }

    /// <summary>The old way in: the session's stream from its first event until its last arrived, in ms.</summary>
    private async Task<double> ReplayAsync(string data, string sessionId, int events)
    {
        await using var server = await StartAsync(data);
        using var phone = await PhoneAsync(server.BaseUrl, data);
        var start = Stopwatch.GetTimestamp();
        using var response = await phone.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events?after=0"),
            HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8, false, 64 * 1024);
        var last = $"id: {events + 1}";
        while (await reader.ReadLineAsync() is { } line && line != last)
        {
        }

        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private async Task<OsProcess> StartAsync(string data)
    {
        var url = OsProcess.FreeLoopbackUrl();
        var server = OsProcess.Start(Exe, ["serve", "--listen", url.ToString().TrimEnd('/'), "--data", data], url);
        using var health = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await server.WaitHealthyAsync(health, TimeSpan.FromSeconds(60));
        return server;
    }

    private async Task<HttpClient> PhoneAsync(Uri baseUrl, string data)
    {
        var phone = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(5) };
        var code = JsonDocument.Parse(await Cli.RunAsync(Exe, "pair", "--json", "--data", data)).RootElement.GetProperty("code").GetString();
        var paired = await phone.PostAsJsonAsync("/api/pair", new { code, deviceName = "bench phone" });
        paired.EnsureSuccessStatusCode();
        phone.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await paired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        (await phone.GetAsync("/api/health")).EnsureSuccessStatusCode();
        return phone;
    }
}
