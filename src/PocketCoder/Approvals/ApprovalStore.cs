using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Realtime;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>The subagent that asked: the call that started it (Claude's Task/Agent call) and that call's title when the log had it.</summary>
public sealed record AskingSubagent(string CallId, string? Title);

public sealed record Approval(
    string Id,
    string SessionId,
    string ProjectId,
    string ToolCallId,
    string Tool,
    ApprovalKind Kind,
    string Title,
    string Input,
    string? Plan,
    string RulePattern,
    ApprovalStatus Status,
    DateTimeOffset CreatedAt,
    string? Decision,
    string? DecidedBy,
    DateTimeOffset? DecidedAt,
    string? Message,
    string? UpdatedInput,
    bool CanEditInput,
    string Risk = RiskClasses.Other,
    string DeciderRole = Teams.Roles.Approver,
    int Needed = 1,
    IReadOnlyList<string>? ReadSigns = null,
    AskingSubagent? AskedBy = null)
{
    /// <summary>What the server read in the call when it asked (<see cref="RiskSigns"/>); empty when nothing stood out.</summary>
    public IReadOnlyList<string> Signs => ReadSigns ?? [];

    /// <summary>The input as JSON: the one place every reader (the API, a chat card, a notification, the event) parses it.</summary>
    public JsonElement InputJson => Json(Input);

    /// <summary>A budget decision's input as its record; null for any other kind.</summary>
    public Teams.BudgetAsk? Budget => Kind is ApprovalKind.Budget ? InputJson.Deserialize(Server.WireJson.Default.BudgetAsk) : null;

    /// <summary>The payload of <c>approval.requested</c>: everything a phone needs to show what will run.</summary>
    /// <param name="editContext">For an edit: the file's lines around it, read when asking (kept only in the event).</param>
    public ApprovalRequestedEvent RequestedEvent(EditContext? editContext = null) =>
        new(Id, ToolCallId, Tool, Kind.ToWire(), Title, InputJson, Plan, CanEditInput, CreatedAt.ToDb(), RulePattern, editContext, Risk, DeciderRole, Needed, Signs,
            AlwaysPatterns.For(this));

    /// <summary>
    /// Whether <paramref name="rule"/> matches this call as it was asked (what the rules preview counts, and what an
    /// <c>allow_always</c>'s confirmed pattern must do): its command, or its path, as <see cref="RulePattern"/> keeps it,
    /// relative to the project where it was inside (one kept whole was outside it, and a path rule never matches it).
    /// </summary>
    public bool MatchedBy(Rule rule)
    {
        var subject = Glob.Unescape(RulePattern);
        var kind = Kind.AsToolKind;
        var command = kind is ToolKind.Execute or ToolKind.Network;
        var path = !command && RulePattern != "*" ? subject : null;
        var request = new PermissionRequest(ToolCallId, Tool, kind, Title, default, command ? subject : null, path, null);
        return Policy.RuleMatches(rule, request, path is not null && !Path.IsPathRooted(path) ? path : null);
    }

    public ApprovalResolvedEvent ResolvedEvent() =>
        new(Id, ToolCallId, Status.ToWire(), Decision, DecidedBy, Message, UpdatedInput is null ? null : Json(UpdatedInput));

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

public static class Decisions
{
    public const string AllowOnce = "allow_once";
    public const string AllowSession = "allow_session";
    public const string AllowAlways = "allow_always";
    public const string Deny = "deny";
}

/// <summary>
/// Every statement about approvals, their votes, deliveries and the grants decisions leave: reads for anyone, writes inside
/// the caller's transaction (the <see cref="Gatekeeper"/>'s, a revocation's), so a decision and all it changes commit together.
/// </summary>
public sealed class ApprovalStore(Database database, TimeProvider clock)
{
    internal const string Columns =
        "id, session_id, project_id, tool_call_id, tool, kind, title, input, plan, rule_pattern, status, created_at, decision, decided_by, decided_at, message, updated_input, can_edit_input, risk, decider_role, needed, risk_signs, asked_by_call, asked_by_title";

    /// <summary>The most approvals one list holds.</summary>
    public const int ListLimit = 500;

    /// <param name="status">Pending: those waiting; decided: every settled one (decided, cancelled or interrupted), as the API's
    /// <c>status=decided</c> lists them; null: all.</param>
    public IReadOnlyList<Approval> List(ApprovalStatus? status, string? sessionId) => database.Read(connection =>
    {
        var where = new List<string>();
        if (status == ApprovalStatus.Pending)
        {
            where.Add("status = 'pending'");
        }
        else if (status == ApprovalStatus.Decided)
        {
            where.Add("status <> 'pending'");
        }

        if (sessionId is not null)
        {
            where.Add("session_id = $session");
        }

        // Oldest first, at most ListLimit: the questions open longest, or the newest of those decided (the decided only grow).
        var filter = where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "";
        var sql = status == ApprovalStatus.Pending
            ? $"SELECT {Columns} FROM approvals {filter} ORDER BY created_at LIMIT {ListLimit}"
            : $"SELECT * FROM (SELECT {Columns} FROM approvals {filter} ORDER BY created_at DESC LIMIT {ListLimit}) ORDER BY created_at";
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

    internal static IReadOnlyList<Approval> Pending(DbWrite write) =>
        write.Query($"SELECT {Columns} FROM approvals WHERE status = 'pending'", Map);

    internal static void Insert(DbWrite write, Approval approval) => write.Execute(
        $"INSERT INTO approvals ({Columns}) VALUES ($id, $session, $project, $call, $tool, $kind, $title, $input, $plan, $pattern, $status, $at, NULL, NULL, NULL, NULL, NULL, $edit, $risk, $deciders, $needed, $signs, $askedByCall, $askedByTitle)",
        ("$status", approval.Status == ApprovalLifecycle.Asked ? approval.Status.ToWire()
            : throw new ArgumentException($"Approval '{approval.Id}' is asked {ApprovalLifecycle.Asked.ToWire()}, not {approval.Status.ToWire()}.", nameof(approval))),
        ("$id", approval.Id), ("$session", approval.SessionId), ("$project", approval.ProjectId), ("$call", approval.ToolCallId),
        ("$tool", approval.Tool), ("$kind", approval.Kind.ToWire()), ("$title", approval.Title), ("$input", approval.Input),
        ("$plan", approval.Plan), ("$pattern", approval.RulePattern), ("$at", approval.CreatedAt.ToDb()), ("$edit", approval.CanEditInput),
        ("$risk", approval.Risk), ("$deciders", approval.DeciderRole), ("$needed", approval.Needed), ("$signs", string.Join(',', approval.Signs)),
        ("$askedByCall", approval.AskedBy?.CallId), ("$askedByTitle", approval.AskedBy?.Title));

    /// <summary>Records a person's decision (the one that settles it).</summary>
    /// <exception cref="Errors.ApiProblem">409 <c>APPROVAL_ALREADY_DECIDED</c> when the row was settled after
    /// <paramref name="approval"/> was read: the later decider learns it lost, and its transaction rolls back.</exception>
    internal static Approval MarkDecided(DbWrite write, Approval approval, string decision, string by, DateTimeOffset at, string? message, string? updated)
    {
        var to = Move(write, approval, ApprovalEvent.DecisionMade,
            "decision = $decision, decided_by = $by, decided_at = $at, message = $message, updated_input = $updated",
            ("$decision", decision), ("$by", by), ("$at", at.ToDb()), ("$message", message), ("$updated", updated))
            ?? throw Errors.ApiProblem.Conflict(Errors.ErrorCodes.ApprovalAlreadyDecided,
                $"This approval is already {Find(write, approval.Id)?.Status.ToWire() ?? "gone"}.");
        return approval with { Status = to, Decision = decision, DecidedBy = by, DecidedAt = at, Message = message, UpdatedInput = updated };
    }

    /// <summary>Settles it without a person's decision (withdrawn by the agent, interrupted by a restart); null when it was
    /// settled after <paramref name="approval"/> was read (nothing is written: whatever settled it first stands).</summary>
    internal static Approval? MarkSettled(DbWrite write, Approval approval, ApprovalEvent @event, DateTimeOffset at, string message) =>
        Move(write, approval, @event, "decided_by = $by, decided_at = $at, message = $message",
            ("$by", Auth.Actor.System.Name), ("$at", at.ToDb()), ("$message", message)) is { } to
            ? approval with { Status = to, DecidedBy = Auth.Actor.System.Name, DecidedAt = at, Message = message }
            : null;

    /// <summary>
    /// The one status write: the state the table gives, written only where the row still holds the state it moved from. Null
    /// when it no longer does (someone settled it first): a lost race, which each writer answers in its own way.
    /// </summary>
    /// <exception cref="InvalidOperationException">The table does not let <paramref name="event"/> move the state the writer
    /// read: a writer that did not ask <see cref="ApprovalLifecycle.Next"/> first (a bug, not a race).</exception>
    private static ApprovalStatus? Move(DbWrite write, Approval approval, ApprovalEvent @event, string set, params (string, object?)[] values)
    {
        var to = ApprovalLifecycle.Move(approval.Id, approval.Status, @event);
        var moved = write.Execute($"UPDATE approvals SET status = $to, {set} WHERE id = $id AND status = $from",
            [.. values, ("$to", to.ToWire()), ("$id", approval.Id), ("$from", approval.Status.ToWire())]);
        return moved == 1 ? to : null;
    }

    /// <summary>Marks it escalated to the owners, once; false when it was decided meanwhile or already escalated.</summary>
    internal static bool MarkEscalated(DbWrite write, string approvalId, DateTimeOffset at) =>
        write.Execute("UPDATE approvals SET escalated_at = $at WHERE id = $id AND status = 'pending' AND escalated_at IS NULL",
            ("$at", at.ToDb()), ("$id", approvalId)) == 1;

    /// <summary>An "allow for this session" grant: the tool's later calls of this kind are allowed unasked in the session.</summary>
    internal static void Grant(DbWrite write, Approval approval) =>
        write.Execute("INSERT INTO session_grants (session_id, tool, risk) VALUES ($session, $tool, $risk) ON CONFLICT DO UPDATE SET risk = excluded.risk",
            ("$session", approval.SessionId), ("$tool", approval.Tool), ("$risk", approval.Risk));

    /// <summary>The tools the session's grants cover.</summary>
    public IReadOnlySet<string> GrantedTools(string sessionId) => database.Read(connection => connection.Query(
        "SELECT tool FROM session_grants WHERE session_id = $session", r => r.GetString(0), ("$session", sessionId))).ToHashSet(StringComparer.Ordinal);

    /// <summary>The kinds of call the session's grants allow unasked.</summary>
    public static IReadOnlyList<string> GrantedRisks(SqliteConnection connection, string sessionId) =>
        connection.Query(GrantedRisksSql, r => r.GetString(0), ("$session", sessionId));

    /// <inheritdoc cref="GrantedRisks(SqliteConnection, string)"/>
    internal static IReadOnlyList<string> GrantedRisks(DbWrite write, string sessionId) => write.Query(GrantedRisksSql, r => r.GetString(0), ("$session", sessionId));

    private const string GrantedRisksSql = "SELECT DISTINCT risk FROM session_grants WHERE session_id = $session";

    /// <summary>One allow of a call that needs several people's.</summary>
    internal static void AddVote(DbWrite write, string approvalId, Teams.Decider person, string deviceId, DateTimeOffset at) => write.Execute(
        "INSERT INTO approval_votes (approval_id, person_id, person_name, device_id, at) VALUES ($id, $person, $name, $device, $at)",
        ("$id", approvalId), ("$person", person.PersonId), ("$name", person.Name), ("$device", deviceId), ("$at", at.ToDb()));

    /// <summary>Every allow recorded for the call, oldest first, whether it still counts or not.</summary>
    internal static IReadOnlyList<Vote> Votes(DbWrite write, string approvalId) => write.Query(
        "SELECT person_id, person_name, device_id FROM approval_votes WHERE approval_id = $id ORDER BY at",
        r => new Vote(r.GetString(0), r.GetString(1), r.GetString(2)), ("$id", approvalId));

    internal static void RemoveVote(DbWrite write, string approvalId, Vote vote) => write.Execute(
        "DELETE FROM approval_votes WHERE approval_id = $id AND person_id = $person AND device_id = $device",
        ("$id", approvalId), ("$person", vote.PersonId), ("$device", vote.DeviceId));

    /// <summary>The pending calls on which a vote of this person, or cast from this device, waits.</summary>
    internal static IReadOnlyList<Approval> PendingVotedBy(DbWrite write, string? personId, string? deviceId) => write.Query(
        $"SELECT {Columns} FROM approvals WHERE status = 'pending' AND id IN (SELECT approval_id FROM approval_votes WHERE person_id = $person OR device_id = $device)",
        Map, ("$person", personId), ("$device", deviceId));

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
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), ApprovalKind.FromWire(r.GetString(5)), r.GetString(6),
        r.GetString(7), r.NullableString(8), r.GetString(9), ApprovalLifecycle.FromWire(r.GetString(10)), r.Time(11), r.NullableString(12),
        r.NullableString(13), r.NullableTime(14), r.NullableString(15), r.NullableString(16), r.GetInt32(17) != 0, r.GetString(18), r.GetString(19),
        r.GetInt32(20), r.GetString(21).Split(',', StringSplitOptions.RemoveEmptyEntries),
        r.NullableString(22) is { } askedBy ? new AskingSubagent(askedBy, r.NullableString(23)) : null);

    /// <summary>Who has allowed each of these calls so far (a call that needs two people), in the order they did.</summary>
    public IReadOnlyDictionary<string, List<string>> AllowedBy(IEnumerable<string> approvalIds) => VotesOf(approvalIds, vote => vote.PersonName);

    /// <summary>The people (ids) whose allow each of these calls holds so far.</summary>
    public IReadOnlyDictionary<string, List<string>> VoterIds(IEnumerable<string> approvalIds) => VotesOf(approvalIds, vote => vote.PersonId);

    private Dictionary<string, List<string>> VotesOf(IEnumerable<string> approvalIds, Func<Vote, string> pick)
    {
        var result = approvalIds.Distinct().ToDictionary(id => id, _ => new List<string>(), StringComparer.Ordinal);
        if (result.Count == 0)
        {
            return result;
        }

        database.Read(connection =>
        {
            foreach (var (approvalId, vote) in connection.Query(
                "SELECT approval_id, person_id, person_name, device_id FROM approval_votes WHERE approval_id IN (SELECT value FROM json_each($ids)) ORDER BY at",
                r => (r.GetString(0), new Vote(r.GetString(1), r.GetString(2), r.GetString(3))),
                ("$ids", new JsonArray([.. result.Keys.Select(i => JsonValue.Create(i))]).ToJsonString())))
            {
                result[approvalId].Add(pick(vote));
            }

            return 0;
        });
        return result;
    }
}

/// <summary>One person's allow of a call that needs several, from one of their devices.</summary>
public sealed record Vote(string PersonId, string PersonName, string DeviceId);
