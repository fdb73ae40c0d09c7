using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Sessions;

namespace PocketCoder.Profiles;

/// <param name="Worktree">true: a branch of its own; false: the project folder; null or absent: as the project says.</param>
/// <param name="Instructions">Added to the agent's system prompt for sessions started with the profile.</param>
/// <param name="McpServers">The names of the project's MCP servers its sessions get (those enabled among them); null or absent: every enabled one.</param>
public sealed record ProfileRequest(
    [property: Required(ErrorMessage = "'name' is required: 1 to 60 printable characters.")]
    [property: PrintableText(60, AllowBlank = false, ErrorMessage = "'name' is 1 to 60 printable characters.")]
    string? Name,
    [property: Required(ErrorMessage = "'agent' is required: one of the agent ids the server's health lists (e.g. \"claude-code\").")]
    string? Agent,
    [property: StringLength(100, MinimumLength = 1, ErrorMessage = SessionsApi.ModelMessage)]
    [property: RegularExpression(SessionsApi.ModelPattern, ErrorMessage = SessionsApi.ModelMessage)]
    string? Model,
    [property: AllowedValues(SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted, null, ErrorMessage = SessionsApi.ModeMessage)]
    string? Mode,
    bool? Worktree,
    [property: StringLength(ProfilesApi.MaxInstructions, ErrorMessage = "'instructions' is at most {1} characters.")]
    string? Instructions,
    [property: ItemCount(Mcp.McpServerStore.MaxPerProject * 4, ErrorMessage = "'mcpServers' names at most {1} servers.")]
    [property: EveryItemMatches(Agents.Mcp.McpServer.NamePatternText, ErrorMessage = "'mcpServers' holds server names, each " + Agents.Mcp.McpServer.NameRule + ".")]
    IReadOnlyList<string>? McpServers = null);

public sealed record ProfileResponse(string Id, string ProjectId, string Name, string Agent, string? Model, string? Mode, bool? Worktree,
    string? Instructions, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<string>? McpServers)
{
    public static ProfileResponse From(AgentProfile p) =>
        new(p.Id, p.ProjectId, p.Name, p.Agent, p.Model, p.Mode, p.Worktree, p.Instructions, p.CreatedAt, p.UpdatedAt, p.McpServers);
}

/// <summary>Agent profiles: named presets a new session starts from (docs/api.md, "Profiles").</summary>
public static class ProfilesApi
{
    public const int MaxInstructions = 16_000;

    public static IServiceCollection AddProfiles(this IServiceCollection services) => services.AddSingleton<ProfileStore>();

    public static void MapProfiles(this IEndpointRouteBuilder api)
    {
        var profiles = api.MapGroup("/projects/{projectId}/profiles");
        profiles.MapGet("/", List).WithName("ListProfiles");
        profiles.MapPost("/", Create).WithName("CreateProfile");
        profiles.MapPut("/{profileId}", Update).WithName("UpdateProfile");
        profiles.MapDelete("/{profileId}", Delete).WithName("DeleteProfile");
    }

    private static IEnumerable<ProfileResponse> List(string projectId, ProfileStore profiles, Projects.ProjectStore projects)
    {
        projects.Get(projectId);
        return profiles.List(projectId).Select(ProfileResponse.From);
    }

    private static Created<ProfileResponse> Create(string projectId, ProfileRequest request, ProfileStore profiles, Projects.ProjectStore projects,
        AgentRegistry agents, ClaimsPrincipal user)
    {
        projects.Get(projectId);
        var profile = profiles.Create(projectId, Fields(request, agents), user.Actor());
        return TypedResults.Created($"/api/projects/{projectId}/profiles/{profile.Id}", ProfileResponse.From(profile));
    }

    private static ProfileResponse Update(string projectId, string profileId, ProfileRequest request, ProfileStore profiles, Projects.ProjectStore projects,
        AgentRegistry agents, ClaimsPrincipal user)
    {
        projects.Get(projectId);
        return ProfileResponse.From(profiles.Update(projectId, profileId, Fields(request, agents), user.Actor()));
    }

    private static NoContent Delete(string projectId, string profileId, ProfileStore profiles, Projects.ProjectStore projects, ClaimsPrincipal user)
    {
        projects.Get(projectId);
        profiles.Delete(projectId, profileId, user.Actor());
        return TypedResults.NoContent();
    }

    private static ProfileFields Fields(ProfileRequest request, AgentRegistry agents)
    {
        var agent = agents.Find(request.Agent!) ?? throw ApiProblem.BadRequest(ErrorCodes.UnknownAgent,
            $"Unknown agent '{request.Agent}'. Known agents: {string.Join(", ", agents.All.Select(a => a.Id))}.");
        return new ProfileFields(request.Name!.Trim(), agent.Id, request.Model, request.Mode, request.Worktree,
            string.IsNullOrWhiteSpace(request.Instructions) ? null : request.Instructions.Trim(), request.McpServers?.Distinct().ToList());
    }
}
