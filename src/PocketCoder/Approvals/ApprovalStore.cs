using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Realtime;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;

namespace PocketCoder.Approvals;

public sealed record Approval(
    string Id,
    string SessionId,
    string ProjectId,
    string ToolCallId,
    string Tool,
    string Kind,
    string Title,
    string Input,
    string? Plan,
    string RulePattern,
    string Status,
    DateTimeOffset CreatedAt,
    string? Decision,
    string? DecidedBy,
    DateTimeOffset? DecidedAt,
    string? Message,
    string? UpdatedInput,
    bool CanEditInput,
    string Risk = RiskClasses.Other,
    string DeciderRole = Teams.Roles.Approver,
    int Needed = 1)
{
    /// <summary>The payload of <c>approval.requested</c>: everything a phone needs to show what will run.</summary>
    /// <param name="editContext">For an edit: the file's lines around it, read when asking (kept only in the event).</param>
    public ApprovalRequestedEvent RequestedEvent(EditContext? editContext = null) =>
        new(Id, ToolCallId, Tool, Kind, Title, Json(Input), Plan, CanEditInput, CreatedAt.ToDb(), RulePattern, editContext, Risk, DeciderRole, Needed);

    public ApprovalResolvedEvent ResolvedEvent() =>
        new(Id, ToolCallId, Status, Decision, DecidedBy, Message, UpdatedInput is null ? null : Json(UpdatedInput));

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

public static class ApprovalStatuses
{
    public const string Pending = "pending";
    public const string Decided = "decided";

    /// <summary>The agent withdrew the question (turn cancelled, session stopped, agent exited).</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The server stopped while it was pending.</summary>
    public const string Interrupted = "interrupted";
}

public static class Decisions
{
    public const string AllowOnce = "allow_once";
    public const string AllowSession = "allow_session";
    public const string AllowAlways = "allow_always";
    public const string Deny = "deny";
}

/// <summary>Reads of approvals and their delivery receipts. Writes go through the <see cref="Gatekeeper"/>.</summary>
public sealed class ApprovalStore(Database database, TimeProvider clock)
{
    internal const string Columns =
        "id, session_id, project_id, tool_call_id, tool, kind, title, input, plan, rule_pattern, status, created_at, decision, decided_by, decided_at, message, updated_input, can_edit_input, risk, decider_role, needed";

    public IReadOnlyList<Approval> List(string? status, string? sessionId) => database.Read(connection =>
    {
        var where = new List<string>();
        if (status == ApprovalStatuses.Pending)
        {
            where.Add("status = 'pending'");
        }
        else if (status == ApprovalStatuses.Decided)
        {
            where.Add("status <> 'pending'");
        }

        if (sessionId is not null)
        {
            where.Add("session_id = $session");
        }

        var sql = $"SELECT {Columns} FROM approvals {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY created_at LIMIT 500";
        return connection.Query(sql, Map, ("$session", sessionId));
    });

    /// <summary>The project's newest questions, for showing what a rule would have matched.</summary>
    public IReadOnlyList<Approval> Recent(string projectId, int limit) => database.Read(connection =>
        connection.Query($"SELECT {Columns} FROM approvals WHERE project_id = $project ORDER BY created_at DESC LIMIT $limit", Map,
            ("$project", projectId), ("$limit", limit)));

    public Approval? Find(string id) => database.Read(connection =>
        connection.Query($"SELECT {Columns} FROM approvals WHERE id = $id", Map, ("$id", id)).FirstOrDefault());

    internal static Approval? Find(DbWrite write, string id) =>
        write.Query($"SELECT {Columns} FROM approvals WHERE id = $id", Map, ("$id", id)).FirstOrDefault();

    /// <summary>Records that <paramref name="deviceId"/> has been shown these approvals (first time only).</summary>
    public void MarkDelivered(IEnumerable<string> approvalIds, string deviceId)
    {
        var ids = approvalIds.ToList();
        if (ids.Count == 0)
        {
            return;
        }

        var now = clock.GetUtcNow().ToDb();
        database.Write(write =>
        {
            foreach (var id in ids)
            {
                write.Execute(
                    "INSERT OR IGNORE INTO approval_deliveries (approval_id, device_id, delivered_at) SELECT $id, $device, $now WHERE EXISTS (SELECT 1 FROM approvals WHERE id = $id AND status = 'pending')",
                    ("$id", id), ("$device", deviceId), ("$now", now));
            }
        });
    }

    public IReadOnlyDictionary<string, List<string>> DeliveredTo(IEnumerable<string> approvalIds)
    {
        var ids = approvalIds.ToList();
        var result = ids.ToDictionary(id => id, _ => new List<string>(), StringComparer.Ordinal);
        if (ids.Count == 0)
        {
            return result;
        }

        database.Read(connection =>
        {
            foreach (var (approvalId, deviceId) in connection.Query(
                "SELECT approval_id, device_id FROM approval_deliveries WHERE approval_id IN (SELECT value FROM json_each($ids)) ORDER BY delivered_at",
                r => (r.GetString(0), r.GetString(1)), ("$ids", new JsonArray([.. ids.Select(i => JsonValue.Create(i))]).ToJsonString())))
            {
                result[approvalId].Add(deviceId);
            }

            return 0;
        });
        return result;
    }

    internal static Approval Map(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.GetString(7), r.NullableString(8), r.GetString(9), r.GetString(10), r.Time(11), r.NullableString(12),
        r.NullableString(13), r.NullableTime(14), r.NullableString(15), r.NullableString(16), r.GetInt32(17) != 0, r.GetString(18), r.GetString(19),
        r.GetInt32(20));

    /// <summary>Who has allowed each of these calls so far (a call that needs two people), in the order they did.</summary>
    public IReadOnlyDictionary<string, List<string>> AllowedBy(IEnumerable<string> approvalIds)
    {
        var result = approvalIds.Distinct().ToDictionary(id => id, _ => new List<string>(), StringComparer.Ordinal);
        if (result.Count == 0)
        {
            return result;
        }

        database.Read(connection =>
        {
            foreach (var (approvalId, person) in connection.Query(
                "SELECT approval_id, person_name FROM approval_votes WHERE approval_id IN (SELECT value FROM json_each($ids)) ORDER BY at",
                r => (r.GetString(0), r.GetString(1)), ("$ids", new JsonArray([.. result.Keys.Select(i => JsonValue.Create(i))]).ToJsonString())))
            {
                result[approvalId].Add(person);
            }

            return 0;
        });
        return result;
    }
}
