using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>
/// What a phone opens stays fast with a data folder of millions of events (issue #52) when each query reads its page off
/// an index: SQLite's own plan for each says so, on the migrated schema. A plan that scans a whole table or sorts every
/// row before taking a page fails here; the timings themselves are the bench's (docs/performance.md, "Scale that stays flat").
/// </summary>
[Trait("Category", "Unit")]
public sealed class QueryPlanTests : IDisposable
{
    private readonly string _data = TempPaths.NewDirectory("pc-plans");
    private readonly Database _database;

    public QueryPlanTests()
    {
        _database = new Database(_data);
        _database.Migrate();
    }

    public static TheoryData<string, string> PagedQueries() => new()
    {
        { "a session's newest page, and each page back", PocketCoder.Realtime.EventLog.PageSql },
        { "a session's events after a cursor (the stream's catch-up)", PocketCoder.Realtime.EventLog.AfterSql },
        { "the session list", PocketCoder.Sessions.SessionStore.ListSql },
        { "a project's session list", PocketCoder.Sessions.SessionStore.ListProjectSql },
        { "the session list's page after a cursor", PocketCoder.Sessions.SessionStore.ListBeforeSql },
        { "a project's session list's page after a cursor", PocketCoder.Sessions.SessionStore.ListProjectBeforeSql },
        { "the session holding an agent's conversation", PocketCoder.Sessions.SessionStore.OfConversationSql },
        { "whether a session has a conversation", PocketCoder.Sessions.SessionStore.HasConversationSql },
        { "a page of the ledger (and the export's and verify's walk)", PocketCoder.Ledger.LedgerStore.PageSql },
        { "the folders once added as projects", PocketCoder.Projects.Folders.RecentSql },
    };

    [Theory]
    [MemberData(nameof(PagedQueries))]
    public void PagedQuery_ReadsAnIndex_NeverScansNorSortsTheWholeTable(string what, string sql)
    {
        var plan = Plan(sql);
        Assert.True(plan.All(step => !IsFullScan(step)), $"{what} scans a whole table: {string.Join(" | ", plan)}");
        Assert.True(plan.All(step => !step.Contains("TEMP B-TREE", StringComparison.Ordinal)), $"{what} sorts every row first: {string.Join(" | ", plan)}");
    }

    /// <summary>
    /// Costs at a glance read a period's usage events off their time (migration 035), whichever sessions they are of, and
    /// each one's session by its key: never every event. Grouping sorts only the period's own rows, as it must.
    /// </summary>
    [Theory]
    [InlineData("day")]
    [InlineData("project")]
    [InlineData("agent")]
    [InlineData("person")]
    [InlineData("session")]
    public void CostReport_ReadsThePeriodOffTheUsageIndex(string by)
    {
        var plan = Plan(PocketCoder.Costs.CostReport.Sql(by));
        Assert.True(plan.All(step => !IsFullScan(step)), $"the costs by {by} scan a whole table: {string.Join(" | ", plan)}");
        Assert.Contains(plan, step => step.StartsWith("SEARCH e USING INDEX events_usage_at (at>? AND at<?)", StringComparison.Ordinal));
    }

    /// <summary>
    /// "SCAN t" reads every row; "SCAN t USING INDEX …" walks an index in order, stopping at the LIMIT; "SCAN CONSTANT ROW"
    /// is the one row an EXISTS answers with.
    /// </summary>
    private static bool IsFullScan(string step) =>
        step.StartsWith("SCAN ", StringComparison.Ordinal) && !step.Contains(" USING ", StringComparison.Ordinal) && step != "SCAN CONSTANT ROW";

    private List<string> Plan(string sql)
    {
        using var connection = _database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        // Every parameter the query names, bound to a value of its kind: the plan does not depend on the values.
        foreach (var name in System.Text.RegularExpressions.Regex.Matches(sql, @"\$[a-z]+").Select(m => m.Value).Distinct())
        {
            command.Parameters.Add(new SqliteParameter(name, name is "$session" or "$id" or "$project" or "$agent" or "$conversation" ? "x" : 1));
        }

        using var reader = command.ExecuteReader();
        var steps = new List<string>();
        while (reader.Read())
        {
            steps.Add(reader.GetString(3));
        }

        return steps;
    }

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
    }
}
