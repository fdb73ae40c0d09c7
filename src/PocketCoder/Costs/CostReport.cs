using System.Globalization;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Teams;

namespace PocketCoder.Costs;

/// <summary>What a cost report is grouped by: the wire names of <c>by</c>.</summary>
public static class CostGrouping
{
    public const string Day = "day";
    public const string Project = "project";
    public const string Agent = "agent";
    public const string Person = "person";
    public const string Session = "session";

    public static readonly IReadOnlyList<string> All = [Day, Project, Agent, Person, Session];

    /// <summary>
    /// The key and label of each grouping, as SQL over the usage event <c>e</c>, its session <c>s</c> and project <c>p</c>.
    /// A session started before #52 recorded who started it has no person: it is grouped as nobody's (an empty key).
    /// </summary>
    internal static (string Key, string Label) Columns(string by) => by switch
    {
        Day => ("substr(e.at, 1, 10)", "substr(e.at, 1, 10)"),
        Project => ("s.project_id", "MAX(p.name)"),
        Agent => ("s.agent", "s.agent"),
        Person => ("COALESCE(s.started_by, '')", "COALESCE(s.started_by, '')"),
        Session => ("s.id", "MAX(COALESCE(s.short_title, s.title, s.id))"),
        _ => throw new ArgumentOutOfRangeException(nameof(by), by, "Not a cost grouping."),
    };
}

/// <summary>The days a report covers, both included (UTC).</summary>
public sealed record CostPeriod(DateOnly From, DateOnly To)
{
    /// <summary>The longest period one report reads: a year and a day (a leap year's whole).</summary>
    public const int MaxDays = 366;

    /// <summary>What a period defaults to without <c>from</c>: the last thirty days, today included.</summary>
    public const int DefaultDays = 30;

    public int Days => To.DayNumber - From.DayNumber + 1;

    /// <summary>The period the query names, or a 400 with a stable code: dates as yyyy-MM-dd, <c>from</c> not after <c>to</c>, at most <see cref="MaxDays"/>.</summary>
    public static CostPeriod Parse(string? from, string? to, DateTimeOffset now)
    {
        var end = to is null ? DateOnly.FromDateTime(now.UtcDateTime) : Day(to, "to");
        var start = from is null ? end.AddDays(1 - DefaultDays) : Day(from, "from");
        if (start > end)
        {
            throw ApiProblem.BadRequest(ErrorCodes.CostPeriodInvalid, $"'from' ({start:yyyy-MM-dd}) is after 'to' ({end:yyyy-MM-dd}).");
        }

        var period = new CostPeriod(start, end);
        if (period.Days > MaxDays)
        {
            throw ApiProblem.BadRequest(ErrorCodes.CostPeriodTooLong, $"A report covers at most {MaxDays} days; this one asks for {period.Days}.");
        }

        return period;
    }

    private static DateOnly Day(string text, string name) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? day
            : throw ApiProblem.BadRequest(ErrorCodes.CostPeriodInvalid, $"'{name}' must be a date as yyyy-MM-dd (UTC), like 2026-11-27.");
}

/// <summary>What one group spent. <c>tokens</c> is input plus output, as budgets count it; <c>unpricedTurns</c> are usage reports without a cost (an agent that says none).</summary>
public sealed record CostRow(string Key, string Label, long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens,
    long Tokens, decimal CostUsd, int Turns, int UnpricedTurns);

/// <summary>A project's caps beside what it spent: its project cap over its period now, and the cap each of its sessions has.</summary>
public sealed record CostBudget(string ProjectId, string ProjectName, string Period, DateTimeOffset PeriodStart, BudgetUse? Project, BudgetCap? SessionCap);

public sealed record CostReportResponse(string From, string To, string By, IReadOnlyList<CostRow> Rows, CostRow Total, IReadOnlyList<CostBudget> Budgets);

/// <summary>
/// Tokens and cost over a period, grouped by day, project, agent, person or session, from the usage events as recorded
/// (each one a turn's, <see cref="Realtime.UsageEvent"/>): a report sums exactly what the sessions' own logs hold.
/// </summary>
public sealed class CostReport(Database database, Projects.ProjectStore projects, TeamPolicies policies, Budgets budgets)
{
    /// <summary>The usage events in the period, off the index on their time (migration 035), each joined to its session by key.</summary>
    internal static string Sql(string by)
    {
        var (key, label) = CostGrouping.Columns(by);
        return $"""
            SELECT {key} AS k, {label},
                   SUM(COALESCE(json_extract(e.data, '$.inputTokens'), 0)), SUM(COALESCE(json_extract(e.data, '$.outputTokens'), 0)),
                   SUM(COALESCE(json_extract(e.data, '$.cacheReadTokens'), 0)), SUM(COALESCE(json_extract(e.data, '$.cacheWriteTokens'), 0)),
                   SUM(COALESCE(json_extract(e.data, '$.costUsd'), 0)), COUNT(*), SUM(json_extract(e.data, '$.costUsd') IS NULL)
            FROM events e
            JOIN sessions s ON s.id = e.session_id
            LEFT JOIN projects p ON p.id = s.project_id
            WHERE e.kind = 'usage' AND e.at >= $from AND e.at < $until
            GROUP BY k
            """;
    }

    public CostReportResponse Read(CostPeriod period, string by)
    {
        var rows = database.Read(connection => connection.Query(Sql(by), r =>
        {
            var input = r.GetInt64(2);
            var output = r.GetInt64(3);
            return new CostRow(r.GetString(0), r.GetString(1), input, output, r.GetInt64(4), r.GetInt64(5), input + output,
                Math.Round((decimal)r.GetDouble(6), 6), r.GetInt32(7), r.GetInt32(8));
        }, ("$from", period.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
           ("$until", period.To.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))));
        // Days in order; everything else most costly first (then most tokens), as a glance wants it.
        rows = by == CostGrouping.Day
            ? [.. rows.OrderBy(row => row.Key, StringComparer.Ordinal)]
            : [.. rows.OrderByDescending(row => row.CostUsd).ThenByDescending(row => row.Tokens).ThenBy(row => row.Label, StringComparer.Ordinal)];
        return new CostReportResponse(period.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), period.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            by, rows, Total(rows), Budgets());
    }

    private static CostRow Total(IReadOnlyList<CostRow> rows) => new("total", "Total",
        rows.Sum(row => row.InputTokens), rows.Sum(row => row.OutputTokens), rows.Sum(row => row.CacheReadTokens), rows.Sum(row => row.CacheWriteTokens),
        rows.Sum(row => row.Tokens), rows.Sum(row => row.CostUsd), rows.Sum(row => row.Turns), rows.Sum(row => row.UnpricedTurns));

    /// <summary>Every project with a cap: where its project cap stands now, and what each session may spend.</summary>
    private List<CostBudget> Budgets() => [.. projects.List().Select(project =>
    {
        var budget = policies.For(project.Id).Budget;
        if (budget.Project is null && budget.Session is null)
        {
            return null;
        }

        var status = budgets.Status(project.Id, null);
        return new CostBudget(project.Id, project.Name, budget.Period, status.PeriodStart, status.Project, budget.Session);
    }).OfType<CostBudget>()];
}
