using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Approvals;

/// <param name="Tool">The agent's tool name (<c>Bash</c>, <c>Edit</c> ...) or <c>*</c> for any.</param>
/// <param name="Pattern">A glob matched against the command of execute-type tools or the path of read/edit tools.</param>
public sealed record Rule(string Id, string ProjectId, string Tool, string Pattern, string Action, DateTimeOffset CreatedAt, string? CreatedBy);

public static class RuleActions
{
    public const string Allow = "allow";
    public const string Deny = "deny";
    public const string Ask = "ask";
}

/// <summary>Per-project rules, shown and removable; every change is in the ledger.</summary>
public sealed class Rules(Database database, Ledger.LedgerStore ledger, TimeProvider clock)
{
    private const string Columns = "id, project_id, tool, pattern, action, created_at, created_by";

    public IReadOnlyList<Rule> List(string projectId) => database.Read(connection => connection.Query(
        $"SELECT {Columns} FROM rules WHERE project_id = $project ORDER BY created_at", Map, ("$project", projectId)));

    public Rule Add(string projectId, string tool, string pattern, string action, Actor actor) =>
        database.Write(write => Add(write, projectId, tool, pattern, action, actor));

    public Rule Add(DbWrite write, string projectId, string tool, string pattern, string action, Actor actor)
    {
        var rule = new Rule(Guid.NewGuid().ToString("N"), projectId, tool, pattern, action, clock.GetUtcNow(), actor.Name);
        write.Execute($"INSERT INTO rules ({Columns}) VALUES ($id, $project, $tool, $pattern, $action, $at, $by)",
            ("$id", rule.Id), ("$project", projectId), ("$tool", tool), ("$pattern", pattern), ("$action", action),
            ("$at", rule.CreatedAt.ToDb()), ("$by", actor.Name));
        ledger.Append(write, actor.Name, "rule.added", rule.Id,
            new JsonObject { ["projectId"] = projectId, ["tool"] = tool, ["pattern"] = pattern, ["action"] = action });
        return rule;
    }

    /// <summary>Changes a rule in place (same id); the ledger keeps what it was and what it became.</summary>
    public Rule Change(string projectId, string ruleId, string tool, string pattern, string action, Actor actor) => database.Write(write =>
    {
        var before = Existing(write, projectId, ruleId);
        write.Execute("UPDATE rules SET tool = $tool, pattern = $pattern, action = $action WHERE id = $id",
            ("$tool", tool), ("$pattern", pattern), ("$action", action), ("$id", ruleId));
        ledger.Append(write, actor.Name, "rule.changed", ruleId, new JsonObject
        {
            ["projectId"] = projectId,
            ["from"] = new JsonObject { ["tool"] = before.Tool, ["pattern"] = before.Pattern, ["action"] = before.Action },
            ["to"] = new JsonObject { ["tool"] = tool, ["pattern"] = pattern, ["action"] = action },
        });
        return before with { Tool = tool, Pattern = pattern, Action = action };
    });

    public void Remove(string projectId, string ruleId, Actor actor) => database.Write(write =>
    {
        var rule = Existing(write, projectId, ruleId);
        write.Execute("DELETE FROM rules WHERE id = $id", ("$id", ruleId));
        ledger.Append(write, actor.Name, "rule.removed", rule.Id,
            new JsonObject { ["projectId"] = projectId, ["tool"] = rule.Tool, ["pattern"] = rule.Pattern, ["action"] = rule.Action });
    });

    private static Rule Existing(DbWrite write, string projectId, string ruleId) =>
        write.Query($"SELECT {Columns} FROM rules WHERE id = $id AND project_id = $project", Map, ("$id", ruleId), ("$project", projectId))
            .FirstOrDefault() ?? throw ApiProblem.NotFound(ErrorCodes.RuleNotFound, $"No rule '{ruleId}' in project '{projectId}'.");

    private static Rule Map(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.Time(5), r.NullableString(6));
}
