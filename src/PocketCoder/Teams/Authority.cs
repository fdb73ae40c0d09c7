using Microsoft.Data.Sqlite;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Data;

namespace PocketCoder.Teams;

/// <summary>
/// Asks <see cref="DecisionRights"/> about a device acting now: finds the person behind it (active, not revoked), their role
/// where the subject is, the project's team policy and a session's standing grants, and answers with the table's
/// <see cref="Right"/>. The system's own actors (the policy, a timeout, the server) act on no one's authority and are not
/// asked: what they do was decided by a person before (a rule, a timeout the owner set).
/// </summary>
public sealed class Authority(Database database, TeamPolicies policies)
{
    public static bool IsSystem(Actor actor) => actor == Actor.System || actor == Actor.Policy || actor == Actor.Timeout;

    /// <summary>The table's answer for <paramref name="actor"/> doing <paramref name="act"/> in <paramref name="projectId"/> (null: no project).</summary>
    public Right Check(Actor actor, string? projectId, Act act) =>
        IsSystem(actor) ? Right.Yes : DecisionRights.Check(Who(actor, projectId), act, Policy(projectId));

    /// <exception cref="Errors.ApiProblem">The table's refusal.</exception>
    public void Ensure(Actor actor, string? projectId, Act act) => Check(actor, projectId, act).Ensure();

    /// <summary>In a decision's own transaction: the table's answer as that transaction sees the person.</summary>
    public Right Check(DbWrite write, Actor actor, string projectId, Act act) =>
        IsSystem(actor) ? Right.Yes : DecisionRights.Check(Who(write, actor.Id, actor.Name, projectId), act, Policy(projectId));

    /// <summary>In a transaction: whether <paramref name="actor"/> may steer the session as it is now (its mode and grants).</summary>
    public Right CheckSteer(DbWrite write, string sessionId, Actor actor)
    {
        var session = write.Query("SELECT project_id, mode FROM sessions WHERE id = $id", r => (Project: r.GetString(0), Mode: r.GetString(1)), ("$id", sessionId));
        if (session.Count == 0 || IsSystem(actor))
        {
            return Right.Yes;
        }

        var grants = ApprovalStore.GrantedRisks(write, sessionId);
        return DecisionRights.Check(Who(write, actor.Id, actor.Name, session[0].Project), new Steer(session[0].Mode, grants), Policy(session[0].Project));
    }

    /// <summary>What <paramref name="actor"/> may do with each of these approvals now (keyed by id): one read of the person per project.</summary>
    public IReadOnlyDictionary<string, ApprovalOffers> OffersFor(Actor actor, IReadOnlyCollection<Approval> approvals, ApprovalStore store)
    {
        var voters = store.VoterIds(approvals.Where(a => a.Needed > 1 && a.Status == ApprovalStatus.Pending).Select(a => a.Id));
        var people = new Dictionary<string, Decider>(StringComparer.Ordinal);
        return approvals.ToDictionary(a => a.Id, a =>
        {
            if (!people.TryGetValue(a.ProjectId, out var who))
            {
                people[a.ProjectId] = who = Who(actor, a.ProjectId);
            }

            var allowedAlready = who.PersonId is { } person && voters.TryGetValue(a.Id, out var ids) && ids.Contains(person);
            return Offers.For(who, a, allowedAlready);
        }, StringComparer.Ordinal);
    }

    /// <summary>What <paramref name="actor"/> may do with each of these sessions now (keyed by id).</summary>
    public IReadOnlyDictionary<string, SessionOffers> OffersFor(Actor actor, IReadOnlyCollection<Sessions.Session> sessions)
    {
        var people = new Dictionary<string, (Decider Who, TeamPolicy Policy)>(StringComparer.Ordinal);
        var grants = GrantedRisks(sessions);
        return sessions.ToDictionary(s => s.Id, s =>
        {
            if (!people.TryGetValue(s.ProjectId, out var project))
            {
                people[s.ProjectId] = project = (Who(actor, s.ProjectId), Policy(s.ProjectId));
            }

            return Offers.For(project.Who, new Steer(s.Mode, grants.GetValueOrDefault(s.Id) ?? []), project.Policy);
        }, StringComparer.Ordinal);
    }

    /// <summary>
    /// Every listed session's standing grants in one read: a read per session made the session list cost ~0.4 ms a session
    /// (57 ms for 150 in the scale bench, docs/performance.md).
    /// </summary>
    private Dictionary<string, List<string>> GrantedRisks(IReadOnlyCollection<Sessions.Session> sessions)
    {
        var ids = new System.Text.Json.Nodes.JsonArray([.. sessions.Select(s => System.Text.Json.Nodes.JsonValue.Create(s.Id))]).ToJsonString();
        var rows = database.Read(connection => connection.Query(
            "SELECT DISTINCT session_id, risk FROM session_grants WHERE session_id IN (SELECT value FROM json_each($ids))",
            r => (Session: r.GetString(0), Risk: r.GetString(1)), ("$ids", ids)));
        return rows.GroupBy(r => r.Session, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(r => r.Risk).ToList(), StringComparer.Ordinal);
    }

    /// <summary>What <paramref name="actor"/> may do in the project now.</summary>
    public ProjectOffers OffersFor(Actor actor, string projectId) => Offers.For(Who(actor, projectId), Policy(projectId));

    public TeamPolicy Policy(string? projectId) => projectId is null ? TeamPolicy.Default : policies.For(projectId);

    /// <summary>The device's person as the table sees them in the project: <see cref="Decider.Nobody"/> for a device that is no one's (or revoked).</summary>
    public Decider Who(Actor actor, string? projectId) => database.Read(connection => Who(connection, actor, projectId));

    /// <summary>What steering the session asks: its mode, and the kinds of call its standing grants allow.</summary>
    public Steer SteerOf(string sessionId, string mode) => new(mode, database.Read(connection => ApprovalStore.GrantedRisks(connection, sessionId)));

    private static Decider Who(SqliteConnection connection, Actor actor, string? projectId)
    {
        var found = connection.Query(PersonOfDevice, r => Map(r, projectId), ("$device", actor.Id), ("$project", projectId));
        return found.Count == 1 ? found[0] : Decider.Nobody(actor.Name);
    }

    internal static Decider Who(DbWrite write, string deviceId, string name, string? projectId)
    {
        var found = write.Query(PersonOfDevice, r => Map(r, projectId), ("$device", deviceId), ("$project", projectId));
        return found.Count == 1 ? found[0] : Decider.Nobody(name);
    }

    // The active person of an active device, and their role narrowed in the project where it is.
    private const string PersonOfDevice = """
        SELECT p.id, p.name, p.role, m.role, EXISTS (SELECT 1 FROM passkeys k WHERE k.person_id = p.id AND k.revoked_at IS NULL)
        FROM devices d JOIN people p ON p.id = d.person_id
        LEFT JOIN project_members m ON m.person_id = p.id AND m.project_id = $project
        WHERE d.id = $device AND d.revoked_at IS NULL AND p.revoked_at IS NULL
        """;

    private static Decider Map(SqliteDataReader r, string? projectId)
    {
        var own = Roles.FromWire(r.GetString(2)) ?? Role.Viewer;
        var member = projectId is null || own == Role.Owner ? null : Roles.FromWire(r.NullableString(3));
        var role = member is { } narrowed && narrowed < own ? narrowed : own;
        return new Decider(r.GetString(0), r.GetString(1), role, Active: true, Narrowed: role < own, HasPasskey: r.GetInt64(4) != 0);
    }
}
