using System.Security.Claims;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Sessions;

namespace PocketCoder.Projects;

public sealed record CreateProjectRequest(string? Path, string? Name);

public sealed record ProjectResponse(string Id, string Name, string Path, DateTimeOffset CreatedAt)
{
    public static ProjectResponse From(Project p) => new(p.Id, p.Name, p.Path, p.CreatedAt);
}

public static class ProjectsApi
{
    public static void MapProjects(this IEndpointRouteBuilder api)
    {
        var projects = api.MapGroup("/projects");
        projects.MapPost("/", Create).WithName("CreateProject");
        projects.MapGet("/", List).WithName("ListProjects");
        projects.MapGet("/{id}", Get).WithName("GetProject");
        projects.MapDelete("/{id}", Delete).WithName("DeleteProject");
    }

    private static IResult Create(CreateProjectRequest request, Projects projects, ClaimsPrincipal user)
    {
        if (string.IsNullOrWhiteSpace(request.Path))
        {
            throw ApiProblem.Validation("'path' is required: the absolute path of an existing directory.");
        }

        if (request.Path.Contains('\0', StringComparison.Ordinal) || request.Path.Length > 4096)
        {
            throw ApiProblem.Validation("'path' is not a usable path.");
        }

        if (request.Name is { } name && (name.Length > 200 || name.Any(char.IsControl)))
        {
            throw ApiProblem.Validation("'name' is at most 200 printable characters.");
        }

        var project = projects.Add(request.Path, request.Name, user.Actor());
        return TypedResults.Created($"/api/projects/{project.Id}", ProjectResponse.From(project));
    }

    private static IEnumerable<ProjectResponse> List(Projects projects) => projects.List().Select(ProjectResponse.From);

    private static ProjectResponse Get(string id, Projects projects) => ProjectResponse.From(projects.Get(id));

    private static async Task<IResult> Delete(string id, Projects projects, SessionManager sessions, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        projects.Get(id);
        await sessions.StopProjectAsync(id, user.Actor(), cancellationToken);
        projects.Remove(id, user.Actor());
        return TypedResults.NoContent();
    }
}
