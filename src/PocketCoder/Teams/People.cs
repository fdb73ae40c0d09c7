using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Auth;

namespace PocketCoder.Teams;

public sealed record Person(string Id, string Name, Role Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A person's role narrowed in one project.</summary>
public sealed record Membership(string ProjectId, string PersonId, Role Role);

/// <summary>
/// The people a machine serves, each with a role and devices (phones, terminals, chat identities). A role can be narrowed
/// per project, never widened. Every change is in the ledger, and no change may leave the machine without an owner.
/// </summary>
public sealed class People(Database database, Ledger.LedgerStore ledger, Devices devices, Realtime.EventLog events, TimeProvider clock,
    AccessChanges? access = null)
{
    private const string Columns = "id, name, role, created_at, revoked_at";

    public IReadOnlyList<Person> List() => database.Read(connection => connection.Query($"SELECT {Columns} FROM people ORDER BY created_at", Map));

    public Person? Find(string id) => database.Read(connection => connection.Query($"SELECT {Columns} FROM people WHERE id = $id", Map, ("$id", id))
        .FirstOrDefault());

    /// <summary>
    /// The active device holding this token with its person (null for a device with none), in one read: every request
    /// asks, so one query instead of two. Revoked devices never authenticate.
    /// </summary>
    public (Device Device, Person? Person)? Authenticate(string token)
    {
        var hash = Secrets.Hash(token);
        var found = database.Read(connection => connection.Query(DeviceWithPerson, r => (Devices.Map(r), r.IsDBNull(6) ? null : Map(r, 6)), ("$hash", hash)));
        return found.Count == 0 ? null : found[0];
    }

    private static readonly string DeviceWithPerson =
        $"SELECT {Devices.Columns}, {Prefixed("p")} FROM devices d LEFT JOIN people p ON p.id = d.person_id WHERE {Devices.HoldsToken}";

    public Person Get(string id) => Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.PersonNotFound, $"No person with id '{id}'.");

    /// <summary>Whose device this is (null for the system's own actors: the policy, a timeout).</summary>
    public Person? OfDevice(string deviceId) => database.Read(connection => OfDevice(connection, deviceId));

    /// <summary>In a write: the active person of an active device, as the decision being made must see them.</summary>
    internal static Person? OfDevice(DbWrite write, string deviceId) => write.Query(
        ActiveOfDevice, Map, ("$id", deviceId)).FirstOrDefault();

    private static Person? OfDevice(SqliteConnection connection, string deviceId) => connection.Query(ActiveOfDevice, Map, ("$id", deviceId)).FirstOrDefault();

    private static readonly string ActiveOfDevice =
        $"SELECT {Prefixed("p")} FROM people p JOIN devices d ON d.person_id = p.id WHERE d.id = $id AND d.revoked_at IS NULL AND p.revoked_at IS NULL";

    public IReadOnlyList<Membership> Memberships(string? projectId = null) => database.Read(connection => connection.Query(
        "SELECT project_id, person_id, role FROM project_members WHERE $project IS NULL OR project_id = $project ORDER BY project_id, person_id",
        r => new Membership(r.GetString(0), r.GetString(1), Roles.FromWire(r.GetString(2)) ?? Role.Viewer), ("$project", projectId)));

    /// <summary>The person's role where <paramref name="projectId"/> is concerned: their own, or lower where the project narrows it.</summary>
    public Role RoleIn(Person person, string? projectId)
    {
        if (projectId is null || person.Role == Role.Owner)
        {
            // An owner manages people and memberships: narrowing one would only make them widen it again.
            return person.Role;
        }

        return Narrowed(person, database.Read(connection => connection.Scalar<string>(MemberRole, ("$project", projectId), ("$person", person.Id))));
    }

    /// <inheritdoc cref="RoleIn(Person, string?)"/>
    internal static Role RoleIn(DbWrite write, Person person, string projectId) =>
        person.Role == Role.Owner ? person.Role : Narrowed(person, write.Scalar<string>(MemberRole, ("$project", projectId), ("$person", person.Id)));

    private const string MemberRole = "SELECT role FROM project_members WHERE project_id = $project AND person_id = $person";

    private static Role Narrowed(Person person, string? member) => Narrowed(person.Role, member);

    private static Role Narrowed(Role own, string? member) => Roles.FromWire(member) is { } narrowed && narrowed < own ? narrowed : own;

    /// <summary>Every active device with its person's role in the project (narrowed where the project narrows it).</summary>
    public IReadOnlyList<(string DeviceId, Role Role)> DeviceRoles(string projectId) => database.Read(connection => connection.Query(
        """
        SELECT d.id, p.role, m.role FROM devices d JOIN people p ON p.id = d.person_id
        LEFT JOIN project_members m ON m.person_id = p.id AND m.project_id = $project
        WHERE d.revoked_at IS NULL AND p.revoked_at IS NULL
        """,
        r =>
        {
            var own = Roles.FromWire(r.GetString(1)) ?? Role.Viewer;
            return (r.GetString(0), own == Role.Owner ? own : Narrowed(own, r.NullableString(2)));
        },
        ("$project", projectId)));

    /// <summary>A new person, with no device yet: <see cref="Devices.CreatePairingCode"/> for their id pairs their first.</summary>
    public Person Add(string name, Role role, Actor actor) => database.Write(write =>
    {
        var person = Insert(write, name, role, clock.GetUtcNow());
        ledger.Append(write, actor.Name, "person.added", person.Id, new JsonObject { ["name"] = name, ["role"] = role.ToWire(), ["byDevice"] = actor.Id });
        return person;
    });

    public Person Change(string id, string? name, Role? role, Actor actor)
    {
        var changed = ChangeStored(id, name, role, actor);
        access?.Publish(new RoleChanged(id, null));
        return changed;
    }

    private Person ChangeStored(string id, string? name, Role? role, Actor actor) => database.Write(write =>
    {
        var person = Active(write, id);
        var changed = person with { Name = name ?? person.Name, Role = role ?? person.Role };
        if (person.Role == Role.Owner && changed.Role != Role.Owner)
        {
            EnsureAnotherOwner(write, id, "Make someone else an owner first: the machine would have none.");
        }

        write.Execute("UPDATE people SET name = $name, role = $role WHERE id = $id", ("$name", changed.Name), ("$role", changed.Role.ToWire()), ("$id", id));
        ledger.Append(write, actor.Name, "person.changed", id, new JsonObject
        {
            ["name"] = changed.Name, ["role"] = changed.Role.ToWire(), ["was"] = new JsonObject { ["name"] = person.Name, ["role"] = person.Role.ToWire() },
            ["byDevice"] = actor.Id,
        });
        // A demoted person's allows count only where they may still decide.
        Approvals.ApprovalVotes.WithdrawUncounted(write, ledger, events, actor.Name, id, deviceId: null);
        return changed;
    });

    /// <summary>Revokes the person and, in the same transaction, every device of theirs with its standing work (<see cref="Devices.Revoke"/>).</summary>
    public HeldWork Revoke(string id, Actor actor)
    {
        var (held, revoked) = RevokeStored(id, actor);
        access?.Publish(new DevicesRevoked(revoked, held));
        return held;
    }

    private (HeldWork Held, List<string> Devices) RevokeStored(string id, Actor actor) => database.Write(write =>
    {
        var person = Active(write, id);
        if (person.Role == Role.Owner)
        {
            EnsureAnotherOwner(write, id, "Make someone else an owner first: the machine would have none.");
        }

        write.Execute("UPDATE people SET revoked_at = $now WHERE id = $id", ("$now", clock.GetUtcNow().ToDb()), ("$id", id));
        ledger.Append(write, actor.Name, "person.revoked", id, new JsonObject { ["name"] = person.Name, ["role"] = person.Role.ToWire(), ["byDevice"] = actor.Id });
        var revoked = write.Query("SELECT id FROM devices WHERE person_id = $id AND revoked_at IS NULL", r => r.GetString(0), ("$id", id));
        var held = revoked.Select(device => devices.Revoke(write, device, actor.Name)).ToList();
        return (new HeldWork([.. held.SelectMany(h => h.Projects).Distinct()], [.. held.SelectMany(h => h.Sessions).Distinct()]), revoked);
    });

    /// <summary>Narrows the person's role in the project, or (with null) lets their own role apply there again.</summary>
    public void SetMembership(string projectId, string personId, Role? role, Actor actor)
    {
        SetMembershipStored(projectId, personId, role, actor);
        access?.Publish(new RoleChanged(personId, projectId));
    }

    private void SetMembershipStored(string projectId, string personId, Role? role, Actor actor) => database.Write(write =>
    {
        var person = Active(write, personId);
        if (role is Role.Owner)
        {
            throw ApiProblem.Validation("A project can narrow a role to approver, operator or viewer; owners are owners everywhere.");
        }

        if (role is null)
        {
            write.Execute("DELETE FROM project_members WHERE project_id = $project AND person_id = $person", ("$project", projectId), ("$person", personId));
        }
        else
        {
            write.Execute(
                "INSERT INTO project_members (project_id, person_id, role) VALUES ($project, $person, $role) ON CONFLICT DO UPDATE SET role = excluded.role",
                ("$project", projectId), ("$person", personId), ("$role", role.Value.ToWire()));
        }

        ledger.Append(write, actor.Name, role is null ? "member.cleared" : "member.set", projectId, new JsonObject
        {
            ["personId"] = personId, ["person"] = person.Name, ["role"] = role?.ToWire(), ["byDevice"] = actor.Id,
        });
        Approvals.ApprovalVotes.WithdrawUncounted(write, ledger, events, actor.Name, personId, deviceId: null);
    });

    /// <summary>
    /// The person a device paired without an invite belongs to: the machine's first owner, created (as "Owner") when there
    /// is none yet — the very first pairing, or the terminal of a machine no phone has paired with.
    /// </summary>
    internal static string FirstOwner(DbWrite write, Ledger.LedgerStore ledger, DateTimeOffset now)
    {
        if (write.Scalar<string>("SELECT id FROM people WHERE role = 'owner' AND revoked_at IS NULL ORDER BY created_at LIMIT 1") is { } id)
        {
            return id;
        }

        var owner = Insert(write, "Owner", Role.Owner, now);
        ledger.Append(write, Actor.System.Name, "person.added", owner.Id, new JsonObject { ["name"] = owner.Name, ["role"] = Roles.Owner, ["why"] = "first pairing" });
        return owner.Id;
    }

    private static Person Insert(DbWrite write, string name, Role role, DateTimeOffset now)
    {
        var person = new Person(Guid.NewGuid().ToString("N"), name, role, now, null);
        write.Execute("INSERT INTO people (id, name, role, created_at) VALUES ($id, $name, $role, $at)",
            ("$id", person.Id), ("$name", name), ("$role", role.ToWire()), ("$at", now.ToDb()));
        return person;
    }

    private static Person Active(DbWrite write, string id)
    {
        var person = write.Query($"SELECT {Columns} FROM people WHERE id = $id", Map, ("$id", id)).FirstOrDefault()
            ?? throw ApiProblem.NotFound(ErrorCodes.PersonNotFound, $"No person with id '{id}'.");
        return person.RevokedAt is null ? person
            : throw ApiProblem.Conflict(ErrorCodes.PersonRevoked, $"{person.Name} was revoked; invite them again as a new person.");
    }

    private static void EnsureAnotherOwner(DbWrite write, string id, string detail)
    {
        if (write.Scalar<long>("SELECT COUNT(*) FROM people WHERE role = 'owner' AND revoked_at IS NULL AND id <> $id", ("$id", id)) == 0)
        {
            throw ApiProblem.Conflict(ErrorCodes.LastOwner, detail);
        }
    }

    private static string Prefixed(string alias) => string.Join(", ", Columns.Split(", ").Select(column => $"{alias}.{column}"));

    private static Person Map(SqliteDataReader r) => Map(r, 0);

    private static Person Map(SqliteDataReader r, int at) =>
        new(r.GetString(at), r.GetString(at + 1), Roles.FromWire(r.GetString(at + 2)) ?? Role.Viewer, r.Time(at + 3), r.NullableTime(at + 4));
}
