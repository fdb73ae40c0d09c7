using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Agents.Mcp;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Projects;

namespace PocketCoder.Mcp;

/// <summary>A server of the owner's own: a command it starts (stdio) or a URL (streamable HTTP), never both.</summary>
/// <param name="Env">Variables for a command's server. Their values are secrets: kept 0600, never shown back.</param>
/// <param name="Headers">Headers for a URL's server (an Authorization token). Secrets, as variables are.</param>
/// <param name="Enabled">Given to the project's sessions from the next start on (default true).</param>
public sealed record McpServerRequest(
    [property: Required(ErrorMessage = "'name' is required: " + McpServer.NameRule + ".")]
    [property: RegularExpression(McpServer.NamePatternText, ErrorMessage = "'name' is " + McpServer.NameRule + ".")]
    string? Name,
    [property: StringLength(1000, MinimumLength = 1, ErrorMessage = "'command' is 1 to 1000 characters: a program on PATH or an absolute path.")]
    [property: NoNulText(1000, ErrorMessage = "'command' must not contain NUL.")]
    string? Command,
    [property: ItemCount(100, ErrorMessage = "'args' holds at most 100 arguments.")]
    IReadOnlyList<string>? Args,
    [property: StringLength(2000, MinimumLength = 1, ErrorMessage = "'url' is an http(s) URL of at most 2000 characters.")]
    string? Url,
    IReadOnlyDictionary<string, string>? Env,
    IReadOnlyDictionary<string, string>? Headers,
    bool? Enabled);

/// <summary>Turns a server on or off.</summary>
/// <param name="Fingerprint">To turn on a server a file declares: its fingerprint as listed, so that what starts is what was seen.</param>
public sealed record McpServerChange(
    [property: Required(ErrorMessage = "'enabled' is required: true or false.")]
    bool? Enabled,
    [property: RegularExpression("^[0-9a-f]{64}$", ErrorMessage = "'fingerprint' is the 64 hex digits the project's MCP server list shows.")]
    string? Fingerprint);

/// <summary>A variable or a header: its value only where the file that declares it is the repository's (anyone can read it there).</summary>
public sealed record McpValue(string Name, string? Value);

/// <param name="Origin"><c>pocketcoder</c> (added here), <c>repository</c> (the project's .mcp.json), or the id of the agent whose own config declares it.</param>
/// <param name="State"><c>enabled</c>, <c>disabled</c>, <c>needs_approval</c>, <c>changed</c> (since it was enabled) or <c>unusable</c> (see problem).</param>
/// <param name="Transport"><c>stdio</c> or <c>http</c>; null where only the agent reads its definition.</param>
/// <param name="Fingerprint">What enabling a declared server approves (send it back with PATCH).</param>
/// <param name="Agents">The agents whose sessions get it.</param>
public sealed record McpServerResponse(string Name, string Origin, string? Source, string State, bool Enabled, string? Problem, string? Transport,
    string? Command, IReadOnlyList<string>? Args, string? Url, IReadOnlyList<McpValue> Env, IReadOnlyList<McpValue> Headers, string? Fingerprint,
    IReadOnlyList<string> Agents)
{
    public static McpServerResponse From(McpServerEntry entry)
    {
        var server = entry.Definition;
        IReadOnlyList<McpValue> Values(IReadOnlyDictionary<string, string>? values) =>
            values?.Select(pair => new McpValue(pair.Key, entry.ShowsValues ? pair.Value : null)).ToList() ?? [];
        return new McpServerResponse(entry.Name, entry.Origin, entry.Source, entry.State, entry.Enabled, entry.Problem,
            server is null ? null : server.IsStdio ? "stdio" : "http", server?.Command, server?.Args, server?.Url, Values(server?.Env),
            Values(server?.Headers), entry.Fingerprint, entry.Agents);
    }
}

/// <summary>MCP servers per project (docs/api.md, "MCP servers").</summary>
public static class McpServersApi
{
    private const int MaxPairs = 50;
    private const int MaxValue = 8000;

    public static IServiceCollection AddMcpServers(this IServiceCollection services) => services.AddSingleton<McpServerStore>();

    public static void MapMcpServers(this IEndpointRouteBuilder api)
    {
        var servers = api.MapGroup("/projects/{projectId}/mcp-servers");
        servers.MapGet("/", List).WithName("ListMcpServers");
        servers.MapPost("/", Add).WithName("AddMcpServer");
        servers.MapPatch("/{origin}/{name}", Change).WithName("ChangeMcpServer");
        servers.MapDelete("/{origin}/{name}", Remove).WithName("RemoveMcpServer");
    }

    private static IEnumerable<McpServerResponse> List(string projectId, McpServerStore mcp, ProjectStore projects) =>
        mcp.List(projects.Get(projectId)).Select(McpServerResponse.From);

    private static Created<McpServerResponse> Add(string projectId, McpServerRequest request, McpServerStore mcp, ProjectStore projects, ClaimsPrincipal user)
    {
        var entry = mcp.Add(projects.Get(projectId), Server(request), request.Enabled ?? true, user.Actor());
        return TypedResults.Created($"/api/projects/{projectId}/mcp-servers/{entry.Origin}/{entry.Name}", McpServerResponse.From(entry));
    }

    private static McpServerResponse Change(string projectId, string origin, string name, McpServerChange request, McpServerStore mcp,
        ProjectStore projects, ClaimsPrincipal user) =>
        McpServerResponse.From(mcp.SetEnabled(projects.Get(projectId), origin, name, request.Enabled!.Value, request.Fingerprint, user.Actor()));

    private static NoContent Remove(string projectId, string origin, string name, McpServerStore mcp, ProjectStore projects, ClaimsPrincipal user)
    {
        mcp.Remove(projects.Get(projectId), origin, name, user.Actor());
        return TypedResults.NoContent();
    }

    private static McpServer Server(McpServerRequest request)
    {
        if ((request.Command is null) == (request.Url is null))
        {
            throw ApiProblem.Validation("Give either 'command' (a program the agent starts, speaking stdio) or 'url' (a streamable HTTP server), not both.");
        }

        if (request.Url is { } url && !McpJson.IsHttp(url))
        {
            throw ApiProblem.Validation("'url' must be an absolute http or https URL with no user name or password in it: put a token in 'headers'.");
        }

        if (request.Command is null && request.Args is { Count: > 0 } || request.Command is null && request.Env is { Count: > 0 })
        {
            throw ApiProblem.Validation("'args' and 'env' are for a command's server; a URL's server takes 'headers'.");
        }

        if (request.Url is null && request.Headers is { Count: > 0 })
        {
            throw ApiProblem.Validation("'headers' are for a URL's server; a command's server takes 'env'.");
        }

        if (request.Args?.Any(a => a is null || a.Length > MaxValue || a.Contains('\0', StringComparison.Ordinal)) == true)
        {
            throw ApiProblem.Validation($"Each of 'args' is text of at most {MaxValue} characters without NUL.");
        }

        var server = new McpServer(request.Name!, request.Command, request.Args ?? [], Pairs(request.Env, "env"), request.Url, Pairs(request.Headers, "headers"));
        return server.Problem is { } problem ? throw ApiProblem.Validation(problem) : server;
    }

    private static IReadOnlyDictionary<string, string> Pairs(IReadOnlyDictionary<string, string>? values, string field)
    {
        if (values is null)
        {
            return new Dictionary<string, string>();
        }

        if (values.Count > MaxPairs || values.Any(pair => !McpServer.IsKey(pair.Key) || pair.Value is null || pair.Value.Length > MaxValue
                || pair.Value.Any(c => c is '\0' or '\r' or '\n')))
        {
            throw ApiProblem.Validation($"'{field}' holds at most {MaxPairs} names (letters, digits, '_' and '-', not starting with a digit), " +
                $"each with text of at most {MaxValue} characters on one line.");
        }

        return values.ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);
    }
}
