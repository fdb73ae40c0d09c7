using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Errors;
using PocketCoder.Auth;

namespace PocketCoder.Teams;

public sealed record PersonResponse(string Id, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt,
    IReadOnlyList<PersonDevice> Devices, IReadOnlyList<MemberResponse> Projects)
{
    public static PersonResponse From(Person person, IEnumerable<Device> devices, IEnumerable<Membership> memberships) => new(
        person.Id, person.Name, person.Role.ToWire(), person.CreatedAt, person.RevokedAt,
        [.. devices.Where(d => d.PersonId == person.Id).Select(d => new PersonDevice(d.Id, d.Name, d.LastSeenAt, d.RevokedAt))],
        [.. memberships.Where(m => m.PersonId == person.Id).Select(MemberResponse.From)]);
}

public sealed record PersonDevice(string Id, string Name, DateTimeOffset? LastSeenAt, DateTimeOffset? RevokedAt);

public sealed record MemberResponse(string ProjectId, string PersonId, string Role)
{
    public static MemberResponse From(Membership m) => new(m.ProjectId, m.PersonId, m.Role.ToWire());
}

/// <summary>Who is calling: their person, their own role, the roles projects narrow it to, and this device.</summary>
public sealed record MeResponse(PersonResponse Person, string DeviceId);

public sealed record AddPersonRequest(
    [property: Required(ErrorMessage = AddPersonRequest.NameMessage)]
    [property: PrintableText(100, AllowBlank = false, ErrorMessage = AddPersonRequest.NameMessage)]
    string? Name,
    [property: Required(ErrorMessage = AddPersonRequest.RoleMessage)]
    [property: AllowedValues(Roles.Owner, Roles.Approver, Roles.Operator, Roles.Viewer, ErrorMessage = AddPersonRequest.RoleMessage)]
    string? Role)
{
    internal const string NameMessage = "'name' is required: 1 to 100 printable characters, e.g. \"Ana\".";
    internal const string RoleMessage = "'role' is one of owner, approver, operator, viewer.";
}

public sealed record ChangePersonRequest(
    [property: PrintableText(100, AllowBlank = false, ErrorMessage = AddPersonRequest.NameMessage)]
    string? Name,
    [property: AllowedValues(Roles.Owner, Roles.Approver, Roles.Operator, Roles.Viewer, null, ErrorMessage = AddPersonRequest.RoleMessage)]
    string? Role);

public sealed record SetMemberRequest(
    [property: Required(ErrorMessage = SetMemberRequest.RoleMessage)]
    [property: AllowedValues(Roles.Approver, Roles.Operator, Roles.Viewer, ErrorMessage = SetMemberRequest.RoleMessage)]
    string? Role)
{
    internal const string RoleMessage = "'role' is approver, operator or viewer: what the person may do in this project, at most their own role.";
}

/// <summary>A one-time code pairing a device of <paramref name="Person"/> (open <c>/#pair=CODE</c> on it, or send <c>/pair CODE</c> to a chat bot).</summary>
public sealed record InviteResponse(PersonResponse Person, string Code, DateTimeOffset ExpiresAt);

public static class PeopleApi
{
    public static void MapPeople(this IEndpointRouteBuilder api)
    {
        var people = api.MapGroup("/people");
        people.MapGet("/", List).WithName("ListPeople");
        people.MapGet("/me", Me).WithName("Me");
        people.MapPost("/", Add).WithName("AddPerson");
        people.MapPatch("/{id}", Change).WithName("ChangePerson");
        people.MapDelete("/{id}", Revoke).WithName("RevokePerson");
        people.MapPost("/{id}/invites", Invite).WithName("InvitePersonDevice");

        var members = api.MapGroup("/projects/{projectId}/members");
        members.MapGet("/", (string projectId, Projects.ProjectStore projects, People store) =>
            store.Memberships(projects.Get(projectId).Id).Select(MemberResponse.From)).WithName("ListMembers");
        members.MapPut("/{personId}", SetMember).WithName("SetMember");
        members.MapDelete("/{personId}", ClearMember).WithName("ClearMember");
    }

    private static IEnumerable<PersonResponse> List(People people, Devices devices)
    {
        var all = devices.List();
        var memberships = people.Memberships();
        return people.List().Select(person => PersonResponse.From(person, all, memberships));
    }

    private static MeResponse Me(People people, Devices devices, ClaimsPrincipal user)
    {
        var person = user.PersonId() is { } id ? people.Find(id) : null;
        person ??= new Person("", user.Actor().Name, Role.Viewer, DateTimeOffset.UnixEpoch, null);
        return new MeResponse(PersonResponse.From(person, devices.List(), people.Memberships()), user.Actor().Id);
    }

    /// <summary>A new person and the code that pairs their first device: the invite carries who they are and their role.</summary>
    private static Created<InviteResponse> Add(AddPersonRequest request, People people, Devices devices, Reach.Connected.Lockdown lockdown,
        ClaimsPrincipal user)
    {
        lockdown.EnsureNotLocked();
        var person = people.Add(request.Name!.Trim(), Roles.FromWire(request.Role)!.Value, user.Actor());
        var (code, expires) = devices.CreatePairingCode(person.Id, user.Actor().Id);
        return TypedResults.Created($"/api/people/{person.Id}", new InviteResponse(PersonResponse.From(person, [], []), code, expires));
    }

    private static PersonResponse Change(string id, ChangePersonRequest request, People people, Devices devices, ClaimsPrincipal user)
    {
        var person = people.Change(id, request.Name?.Trim(), Roles.FromWire(request.Role), user.Actor());
        return PersonResponse.From(person, devices.List(), people.Memberships());
    }

    /// <summary>Revokes the person with all their devices; their standing work is held (<see cref="StandingWork"/>).</summary>
    private static NoContent Revoke(string id, People people, ClaimsPrincipal user)
    {
        // Their devices' streams, held work and watch links hear of it (AccessChanges).
        people.Revoke(id, user.Actor());
        return TypedResults.NoContent();
    }

    /// <summary>A code for another device of the person: an owner's for anyone, or one's own next device.</summary>
    private static InviteResponse Invite(string id, People people, Devices devices, Authority authority, ClaimsPrincipal user)
    {
        var person = people.Get(id);
        if (user.PersonId() != person.Id)
        {
            authority.Ensure(user.Actor(), null, new Manage("pair devices for someone else (pair your own from here)"));
        }

        if (person.RevokedAt is not null)
        {
            throw ApiProblem.Conflict(ErrorCodes.PersonRevoked, $"{person.Name} was revoked; invite them again as a new person.");
        }

        var (code, expires) = devices.CreatePairingCode(person.Id, user.Actor().Id);
        return new InviteResponse(PersonResponse.From(person, devices.List(), people.Memberships()), code, expires);
    }

    private static MemberResponse SetMember(string projectId, string personId, SetMemberRequest request, Projects.ProjectStore projects, People people,
        ClaimsPrincipal user)
    {
        var role = Roles.FromWire(request.Role)!.Value;
        people.SetMembership(projects.Get(projectId).Id, personId, role, user.Actor());
        return new MemberResponse(projectId, personId, role.ToWire());
    }

    private static NoContent ClearMember(string projectId, string personId, Projects.ProjectStore projects, People people, ClaimsPrincipal user)
    {
        people.SetMembership(projects.Get(projectId).Id, personId, null, user.Actor());
        return TypedResults.NoContent();
    }
}
