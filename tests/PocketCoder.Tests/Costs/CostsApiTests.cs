using System.Globalization;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Costs;

/// <summary>
/// Costs at a glance (issue #55): <c>GET /api/costs</c> sums exactly the usage events the sessions' own logs hold, by day,
/// project, agent, person and session, with the budgets beside them; the CSV says the same, safe to open in a spreadsheet.
/// </summary>
public sealed class CostsApiTests
{
    /// <summary>Each turn reports its usage (a message with "free" in it, no cost, as an agent that says none), then ends.</summary>
    private static FakeAgent Spender() => new()
    {
        Script = async (session, prompt) =>
        {
            var free = prompt.Text.Contains("free", StringComparison.Ordinal);
            await session.Sink!.OnEventAsync(new UsageReport(100 + prompt.Text.Length, 20, 7, 3, free ? null : 0.0125m, false), CancellationToken.None);
            await session.EndTurnAsync();
        },
    };

    [Fact]
    public async Task Costs_ByEveryGrouping_SumExactlyTheUsageEvents_AndTheCsvSaysTheSame()
    {
        await using var world = await AgentWorld.FakeAsync(Spender());
        var olu = await world.Server.PairPersonAsync("Olu", Role.Operator);
        var viewer = await world.Server.PairPersonAsync("Vic", Role.Viewer);
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy",
            new { budget = new { period = "month", project = new { tokens = 100_000 }, session = new { costUsd = 5 } } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        // A title that a spreadsheet would run as a formula, and a second person's session with a turn that costs nothing known.
        var mine = await world.StartSessionAsync("=HYPERLINK(\"http://127.0.0.1/x\",\"open\")");
        await events.WaitForAsync("turn.completed");
        var theirs = (await olu.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = FakeAgent.AgentId, prompt = "Tidy the docs" }))
            .GetProperty("id").GetString()!;
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == theirs);
        await ApiAssert.OkJsonAsync(await olu.Http.PostAsJsonAsync($"/api/sessions/{theirs}/messages", new { text = "a free one" }));
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == theirs && CountUsage(world, theirs) == 2);

        // Olu's session spent yesterday, as far as the report can tell (the time each usage event was recorded at).
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var yesterday = today.AddDays(-1);
        world.Server.Services.GetRequiredService<Database>().Write(write => write.Execute(
            "UPDATE events SET at = $day || substr(at, 11) WHERE session_id = $session",
            ("$day", yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), ("$session", theirs)));

        var usage = (await UsageEventsAsync(world, mine)).Concat(await UsageEventsAsync(world, theirs)).ToList();
        Assert.Equal(3, usage.Count);
        var period = $"from={yesterday:yyyy-MM-dd}&to={today:yyyy-MM-dd}";
        foreach (var by in new[] { "day", "project", "agent", "person", "session" })
        {
            var report = await viewer.Http.GetOkAsync($"/api/costs?{period}&by={by}");
            var total = report.GetProperty("total");
            Assert.Equal(usage.Sum(u => u.GetProperty("inputTokens").GetInt64()), total.GetProperty("inputTokens").GetInt64());
            Assert.Equal(usage.Sum(u => u.GetProperty("outputTokens").GetInt64()), total.GetProperty("outputTokens").GetInt64());
            Assert.Equal(usage.Sum(u => u.GetProperty("cacheReadTokens").GetInt64()), total.GetProperty("cacheReadTokens").GetInt64());
            Assert.Equal(usage.Sum(u => u.GetProperty("cacheWriteTokens").GetInt64()), total.GetProperty("cacheWriteTokens").GetInt64());
            Assert.Equal(usage.Sum(u => u.TryGetProperty("costUsd", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetDecimal() : 0), total.GetProperty("costUsd").GetDecimal());
            Assert.Equal(3, total.GetProperty("turns").GetInt32());
            Assert.Equal(1, total.GetProperty("unpricedTurns").GetInt32());
            var rows = report.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(total.GetProperty("tokens").GetInt64(), rows.Sum(r => r.GetProperty("tokens").GetInt64()));
            Assert.Equal(by switch { "project" or "agent" => 1, _ => 2 }, rows.Count);
        }

        var byDay = (await world.Http.GetOkAsync($"/api/costs?{period}&by=day")).GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal([$"{yesterday:yyyy-MM-dd}", $"{today:yyyy-MM-dd}"], byDay.Select(r => r.GetProperty("key").GetString()));
        Assert.Equal(2, byDay[0].GetProperty("turns").GetInt32());
        var byPerson = (await world.Http.GetOkAsync($"/api/costs?{period}&by=person")).GetProperty("rows").EnumerateArray().ToList();
        Assert.Contains(byPerson, r => r.GetProperty("label").GetString() == "Olu" && r.GetProperty("turns").GetInt32() == 2);
        // A day outside the period counts nothing: only today's session.
        var todayOnly = await world.Http.GetOkAsync($"/api/costs?from={today:yyyy-MM-dd}&to={today:yyyy-MM-dd}&by=session");
        Assert.Equal(mine, Assert.Single(todayOnly.GetProperty("rows").EnumerateArray()).GetProperty("key").GetString());

        // The budgets beside it: the project's cap over its month, and the cap of each session.
        var budget = Assert.Single((await world.Http.GetOkAsync("/api/costs")).GetProperty("budgets").EnumerateArray());
        Assert.Equal(world.ProjectId, budget.GetProperty("projectId").GetString());
        Assert.Equal(100_000, budget.GetProperty("project").GetProperty("capTokens").GetInt64());
        Assert.Equal(5m, budget.GetProperty("sessionCap").GetProperty("costUsd").GetDecimal());

        var csv = await viewer.Http.GetAsync($"/api/costs.csv?{period}&by=session");
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"pocketcoder-costs-by-session-{yesterday:yyyy-MM-dd}-to-{today:yyyy-MM-dd}.csv", csv.Content.Headers.ContentDisposition?.FileNameStar
            ?? csv.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("\"session\",\"label\",\"input_tokens\",\"output_tokens\",\"cache_read_tokens\",\"cache_write_tokens\",\"tokens\",\"cost_usd\",\"turns\",\"unpriced_turns\"", lines[0]);
        Assert.Equal(4, lines.Length);
        // The title that is a formula is text with a leading quote, never a cell a spreadsheet runs.
        Assert.Contains(lines, line => line.StartsWith($"\"{mine}\",\"'=HYPERLINK(\"\"http://127.0.0.1/x\"\"", StringComparison.Ordinal));
        var totals = lines[^1].Split(',');
        Assert.Equal("\"total\"", totals[0]);
        Assert.Equal(usage.Sum(u => u.GetProperty("inputTokens").GetInt64() + u.GetProperty("outputTokens").GetInt64()).ToString(CultureInfo.InvariantCulture), totals[6]);
        Assert.Equal("0.025", totals[7]);
    }

    [Theory]
    [InlineData("from=2026-13-01", "COST_PERIOD_INVALID")]
    [InlineData("from=yesterday", "COST_PERIOD_INVALID")]
    [InlineData("from=2026-11-27&to=2026-11-26", "COST_PERIOD_INVALID")]
    [InlineData("from=2024-01-01&to=2026-01-01", "COST_PERIOD_TOO_LONG")]
    [InlineData("by=week", "COST_GROUPING_INVALID")]
    public async Task Costs_BadPeriodOrGrouping_IsA400WithAStableCode(string query, string code)
    {
        await using var world = await AgentWorld.FakeAsync(Spender());
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/costs?{query}"), HttpStatusCode.BadRequest, code);
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/costs.csv?{query}"), HttpStatusCode.BadRequest, code);
    }

    private static int CountUsage(AgentWorld world, string sessionId) =>
        int.Parse(world.Server.ReadDatabase("SELECT COUNT(*) FROM events WHERE session_id = $s AND kind = 'usage'", ("$s", sessionId))!, CultureInfo.InvariantCulture);

    private static async Task<List<JsonElement>> UsageEventsAsync(AgentWorld world, string sessionId) =>
        [.. (await world.Http.GetOkAsync($"/api/sessions/{sessionId}/events/page?limit=1000")).GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("kind").GetString() == "usage").Select(e => e.GetProperty("data").Clone())];
}
