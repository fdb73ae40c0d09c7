using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Profiles;

/// <summary>A named way to start a session in a project; each field left null leaves the choice to the session's defaults.</summary>
/// <param name="Worktree">Start on a branch of its own (true), in the project folder (false), or as the project says (null).</param>
/// <param name="Instructions">Added to the agent's system prompt (or, where an agent has none to add to, before the first message).</param>
/// <param name="McpServers">The project's enabled MCP servers its sessions get, by name; null: all of them.</param>
public sealed record AgentProfile(string Id, string ProjectId, string Name, string Agent, string? Model, string? Mode, bool? Worktree,
    string? Instructions, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<string>? McpServers = null);

/// <summary>What a profile holds, as saved.</summary>
public sealed record ProfileFields(string Name, string Agent, string? Model, string? Mode, bool? Worktree, string? Instructions,
    IReadOnlyList<string>? McpServers = null);

/// <summary>Agent profiles, per project. Every change is in the ledger.</summary>
public sealed class ProfileStore(Database database, Ledger.LedgerStore ledger, TimeProvider clock)
{
    public const int MaxPerProject = 50;

    public IReadOnlyList<AgentProfile> List(string projectId) => database.Read(connection => connection.Query(
        $"{Select} WHERE project_id = $project ORDER BY name COLLATE NOCASE", Map, ("$project", projectId)));

    public AgentProfile Get(string projectId, string id) => database.Read(connection => connection.Query(
            $"{Select} WHERE project_id = $project AND id = $id", Map, ("$project", projectId), ("$id", id)).FirstOrDefault())
        ?? throw ApiProblem.NotFound(ErrorCodes.ProfileNotFound, $"Project '{projectId}' has no profile '{id}'.");

    public AgentProfile Create(string projectId, ProfileFields fields, Actor actor)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var now = clock.GetUtcNow();
        database.Write(write =>
        {
            if (write.Scalar<long>("SELECT count(*) FROM agent_profiles WHERE project_id = $project", ("$project", projectId)) >= MaxPerProject)
            {
                throw ApiProblem.Conflict(ErrorCodes.TooManyProfiles, $"A project holds at most {MaxPerProject} profiles: remove one first.");
            }

            EnsureNameFree(write, projectId, fields.Name, null);
            write.Execute(
                """
                INSERT INTO agent_profiles (id, project_id, name, agent, model, mode, worktree, instructions, mcp_servers, created_at, updated_at)
                VALUES ($id, $project, $name, $agent, $model, $mode, $worktree, $instructions, $mcp, $now, $now)
                """, [("$id", id), ("$project", projectId), .. Parameters(fields), ("$now", now.ToDb())]);
            ledger.Append(write, actor.Name, "profile.created", projectId, Detail(id, fields));
        });
        return Get(projectId, id);
    }

    public AgentProfile Update(string projectId, string id, ProfileFields fields, Actor actor)
    {
        Get(projectId, id);
        database.Write(write =>
        {
            EnsureNameFree(write, projectId, fields.Name, id);
            write.Execute(
                """
                UPDATE agent_profiles SET name = $name, agent = $agent, model = $model, mode = $mode, worktree = $worktree,
                  instructions = $instructions, mcp_servers = $mcp, updated_at = $now WHERE id = $id AND project_id = $project
                """, [("$id", id), ("$project", projectId), .. Parameters(fields), ("$now", clock.GetUtcNow().ToDb())]);
            ledger.Append(write, actor.Name, "profile.updated", projectId, Detail(id, fields));
        });
        return Get(projectId, id);
    }

    public void Delete(string projectId, string id, Actor actor)
    {
        var profile = Get(projectId, id);
        database.Write(write =>
        {
            write.Execute("DELETE FROM agent_profiles WHERE id = $id AND project_id = $project", ("$id", id), ("$project", projectId));
            ledger.Append(write, actor.Name, "profile.removed", projectId, new JsonObject { ["profile"] = id, ["name"] = profile.Name });
        });
    }

    private static void EnsureNameFree(DbWrite write, string projectId, string name, string? except)
    {
        if (write.Scalar<string>("SELECT id FROM agent_profiles WHERE project_id = $project AND name = $name COLLATE NOCASE AND id IS NOT $except",
                ("$project", projectId), ("$name", name), ("$except", except)) is not null)
        {
            throw ApiProblem.Conflict(ErrorCodes.ProfileExists, $"This project already has a profile called \"{name}\".");
        }
    }

    private static (string, object?)[] Parameters(ProfileFields fields) =>
    [
        ("$name", fields.Name), ("$agent", fields.Agent), ("$model", fields.Model), ("$mode", fields.Mode),
        ("$worktree", fields.Worktree is { } worktree ? worktree ? 1 : 0 : null), ("$instructions", fields.Instructions),
        ("$mcp", fields.McpServers is { } mcp ? JsonSerializer.Serialize(mcp, PlainJson.Default.IReadOnlyListString) : null),
    ];

    /// <summary>What the ledger keeps of a profile: everything but the instructions' text (their length says they changed).</summary>
    private static JsonObject Detail(string id, ProfileFields fields) => new()
    {
        ["profile"] = id, ["name"] = fields.Name, ["agent"] = fields.Agent, ["model"] = fields.Model, ["mode"] = fields.Mode,
        ["worktree"] = fields.Worktree, ["instructionsLength"] = fields.Instructions?.Length ?? 0,
        ["mcpServers"] = fields.McpServers is { } mcp ? new JsonArray(mcp.Select(n => (JsonNode?)n).ToArray()) : null,
    };

    private const string Select =
        "SELECT id, project_id, name, agent, model, mode, worktree, instructions, created_at, updated_at, mcp_servers FROM agent_profiles";

    private static AgentProfile Map(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.NullableString(4),
        r.NullableString(5), r.IsDBNull(6) ? null : r.GetInt64(6) == 1, r.NullableString(7), r.Time(8), r.Time(9),
        r.NullableString(10) is { } mcp ? JsonSerializer.Deserialize(mcp, PlainJson.Default.ListString) : null);
}
