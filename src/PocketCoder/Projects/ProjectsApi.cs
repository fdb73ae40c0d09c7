using Microsoft.AspNetCore.Http.HttpResults;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Sessions;

namespace PocketCoder.Projects;

public sealed record CreateProjectRequest(
    [property: Required(ErrorMessage = "'path' is required: the absolute path of an existing directory.")]
    [property: NoNulText(4096, ErrorMessage = "'path' is not a usable path.")]
    string? Path,
    [property: PrintableText(200, ErrorMessage = "'name' is at most 200 printable characters.")]
    string? Name);

/// <param name="ApprovalTimeoutSeconds">Send a number to deny unanswered approvals after that long, or null for no timeout; omit to keep it.</param>
/// <param name="ApprovalTimeoutSeconds">Three states, so a JsonElement: absent (unchanged), null (no timeout), a number.</param>
/// <param name="Sandbox">Run this project's agents in the sandbox (<c>sandboxed</c>) or as they are (<c>none</c>); omit to keep it.</param>
public sealed record UpdateProjectRequest(
    [property: PrintableText(200, AllowBlank = false, ErrorMessage = "'name' is 1 to 200 printable characters.")]
    string? Name,
    JsonElement ApprovalTimeoutSeconds,
    [property: AllowedValues(null, Sandboxing.Sandboxed, Sandboxing.None, ErrorMessage = "'sandbox' is 'sandboxed' or 'none'.")]
    string? Sandbox = null,
    bool? WorktreeDefault = null);

/// <param name="Sandbox">How its agents run: <c>sandboxed</c> (bubblewrap, the default) or <c>none</c>; new sessions follow a change.</param>
/// <param name="WorktreeDefault">A new session (or backlog task) works on a branch of its own unless it says <c>worktree: false</c>.</param>
/// <param name="SandboxProblem">Why its sessions cannot start here (it runs sandboxed and bubblewrap does not work), with what the
/// owner can do; null when they can.</param>
/// <param name="Offers">What the caller may do in it now: the modes they may start a session in, files, a shell of their own, its settings.</param>
public sealed record ProjectResponse(string Id, string Name, string Path, DateTimeOffset CreatedAt, int? ApprovalTimeoutSeconds, string Sandbox,
    bool WorktreeDefault, string? SandboxProblem, Teams.ProjectOffers? Offers = null)
{
    public static ProjectResponse From(Project p, Sandboxing sandboxing) =>
        new(p.Id, p.Name, p.Path, p.CreatedAt, p.ApprovalTimeoutSeconds, Sandboxing.ModeOf(p), p.WorktreeDefault, sandboxing.Refusal(p));
}

public static class ProjectsApi
{
    public static IServiceCollection AddProjects(this IServiceCollection services) =>
        services.AddSingleton<ProjectHooks>().AddSingleton<ProjectStore>();

    public static void MapProjects(this IEndpointRouteBuilder api)
    {
        var projects = api.MapGroup("/projects");
        projects.MapPost("/", Create).WithName("CreateProject");
        projects.MapGet("/", List).WithName("ListProjects");
        projects.MapGet("/{id}", Get).WithName("GetProject");
        projects.MapPatch("/{id}", Update).WithName("UpdateProject");
        projects.MapDelete("/{id}", Delete).WithName("DeleteProject");
    }

    private static Created<ProjectResponse> Create(CreateProjectRequest request, ProjectStore projects, Sandboxing sandboxing, Teams.Authority authority,
        Server.PocketCoderOptions options, ClaimsPrincipal user)
    {
        var project = projects.Add(request.Path!, request.Name, user.Actor(), options.OwnerHome);
        return TypedResults.Created($"/api/projects/{project.Id}",
            ProjectResponse.From(project, sandboxing) with { Offers = authority.OffersFor(user.Actor(), project.Id) });
    }

    private static IEnumerable<ProjectResponse> List(ProjectStore projects, Sandboxing sandboxing, Teams.Authority authority, ClaimsPrincipal user) =>
        projects.List().Select(p => ProjectResponse.From(p, sandboxing) with { Offers = authority.OffersFor(user.Actor(), p.Id) });

    private static ProjectResponse Get(string id, ProjectStore projects, Sandboxing sandboxing, Teams.Authority authority, ClaimsPrincipal user)
    {
        var project = projects.Get(id);
        return ProjectResponse.From(project, sandboxing) with { Offers = authority.OffersFor(user.Actor(), project.Id) };
    }

    /// <summary>A week: longer than any human answer, short enough to be a deliberate choice.</summary>
    public const int MaxApprovalTimeoutSeconds = 7 * 24 * 3600;

    private static ProjectResponse Update(string id, UpdateProjectRequest request, ProjectStore projects, Sandboxing sandboxing, Teams.Authority authority,
        ClaimsPrincipal user)
    {
        var setTimeout = request.ApprovalTimeoutSeconds.ValueKind != JsonValueKind.Undefined;
        int? timeout = request.ApprovalTimeoutSeconds switch
        {
            { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
            { ValueKind: JsonValueKind.Number } number
                when number.TryGetInt32(out var seconds) && seconds is >= 1 and <= MaxApprovalTimeoutSeconds => seconds,
            { ValueKind: JsonValueKind.Number } => throw ApiProblem.Validation(
                $"'approvalTimeoutSeconds' is a whole number of seconds from 1 to {MaxApprovalTimeoutSeconds}, or null for no timeout."),
            _ => throw ApiProblem.Validation("'approvalTimeoutSeconds' must be a number of seconds or null."),
        };
        var updated = projects.Update(id, request.Name?.Trim(), setTimeout, timeout, request.Sandbox, request.WorktreeDefault, user.Actor());
        return ProjectResponse.From(updated, sandboxing) with { Offers = authority.OffersFor(user.Actor(), updated.Id) };
    }

    private static async Task<NoContent> Delete(string id, ProjectStore projects, SessionManager sessions, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        projects.Get(id);
        await sessions.StopProjectAsync(id, user.Actor(), cancellationToken);
        projects.Remove(id, user.Actor());
        return TypedResults.NoContent();
    }
}
