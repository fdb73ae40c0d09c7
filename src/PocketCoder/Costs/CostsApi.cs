using System.Text;
using PocketCoder.Errors;

namespace PocketCoder.Costs;

/// <summary>
/// Costs at a glance (issue #55): one report over the usage events, as JSON for the screen and as CSV to keep. Any paired
/// person may read it, as they may read every session and its usage events already (docs/security.md, "Who may do what").
/// </summary>
public static class CostsApi
{
    public static IServiceCollection AddCosts(this IServiceCollection services) => services.AddSingleton<CostReport>();

    public static void MapCosts(this IEndpointRouteBuilder api)
    {
        api.MapGet("/costs", (string? from, string? to, string? by, CostReport report, TimeProvider clock) =>
            report.Read(CostPeriod.Parse(from, to, clock.GetUtcNow()), Grouping(by))).WithName("GetCosts");
        api.MapGet("/costs.csv", ExportAsync).WithName("ExportCosts").Produces<string>(StatusCodes.Status200OK, "text/csv");
    }

    /// <summary>The same report as a download: one line per group, then the total, named for what it holds.</summary>
    private static IResult ExportAsync(string? from, string? to, string? by, CostReport report, TimeProvider clock)
    {
        var grouping = Grouping(by);
        var costs = report.Read(CostPeriod.Parse(from, to, clock.GetUtcNow()), grouping);
        return TypedResults.Stream(async stream =>
        {
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 16 * 1024);
            await writer.WriteAsync(CsvCells.Line(CsvCells.Text(grouping), CsvCells.Text("label"), CsvCells.Text("input_tokens"), CsvCells.Text("output_tokens"),
                CsvCells.Text("cache_read_tokens"), CsvCells.Text("cache_write_tokens"), CsvCells.Text("tokens"), CsvCells.Text("cost_usd"),
                CsvCells.Text("turns"), CsvCells.Text("unpriced_turns")));
            foreach (var row in costs.Rows.Append(costs.Total))
            {
                await writer.WriteAsync(CsvCells.Line(CsvCells.Text(row.Key), CsvCells.Text(row.Label), CsvCells.Number(row.InputTokens),
                    CsvCells.Number(row.OutputTokens), CsvCells.Number(row.CacheReadTokens), CsvCells.Number(row.CacheWriteTokens), CsvCells.Number(row.Tokens),
                    CsvCells.Number(row.CostUsd), CsvCells.Number(row.Turns), CsvCells.Number(row.UnpricedTurns)));
            }
        }, "text/csv; charset=utf-8", $"pocketcoder-costs-by-{grouping}-{costs.From}-to-{costs.To}.csv");
    }

    private static string Grouping(string? by) => by is null ? CostGrouping.Day
        : CostGrouping.All.Contains(by, StringComparer.Ordinal) ? by
        : throw ApiProblem.BadRequest(ErrorCodes.CostGroupingInvalid, $"'by' is one of {string.Join(", ", CostGrouping.All)}.");
}
