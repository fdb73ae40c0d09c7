using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Agents.Mcp;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;

namespace PocketCoder.Mcp;

/// <summary>Where a server comes from: added in PocketCoder, declared by the repository, or by an agent's own config (its id).</summary>
public static class McpOrigins
{
    public const string PocketCoder = "pocketcoder";
    public const string Repository = "repository";
}

/// <summary>What becomes of a server: given to the agents, or why not.</summary>
public static class McpStates
{
    public const string Enabled = "enabled";
    public const string Disabled = "disabled";

    /// <summary>A file declares it and the owner has not enabled it: it starts only once they do.</summary>
    public const string NeedsApproval = "needs_approval";

    /// <summary>Enabled once, and its definition has changed since: it starts only once the owner enables it again.</summary>
    public const string Changed = "changed";

    /// <summary>The file declares it in a way PocketCoder cannot pass on (see the problem).</summary>
    public const string Unusable = "unusable";
}

/// <summary>One server of a project as the owner sees it.</summary>
/// <param name="Source">The file that declares it (null for one added in PocketCoder).</param>
/// <param name="Definition">What it runs; null where only its name is known (Codex's own, which Codex reads itself).</param>
/// <param name="ShowsValues">May its variables' and headers' values be shown? Only a repository's: they are in the repository for anyone to read.</param>
/// <param name="Agents">The agents its sessions give it to.</param>
/// <param name="Fingerprint">What enabling a server a file declares approves; null for the others.</param>
public sealed record McpServerEntry(string Name, string Origin, string? Source, McpServer? Definition, string State, string? Problem,
    bool ShowsValues, IReadOnlyList<string> Agents, string? Fingerprint = null)
{
    public bool Enabled => State == McpStates.Enabled;
}

/// <summary>
/// The MCP servers of each project (docs/agents.md, "MCP servers"): those the owner added here, and those the repository's
/// <c>.mcp.json</c> and the agents' own configs declare. A declared server is given to an agent only once the owner has
/// enabled it, and only while its definition is the one they enabled (its fingerprint). Secrets (variables' and headers'
/// values of servers added here) are kept in <c>mcp-secrets.json</c>, 0600, and never shown back. Every change is in the ledger.
/// </summary>
public sealed class McpServerStore(Database database, Ledger.LedgerStore ledger, AgentRegistry agents, TimeProvider clock)
{
    public const int MaxPerProject = 30;
    private const string SecretsFileName = "mcp-secrets.json";
    private const string FingerprintKeyFileName = "mcp-fingerprint.key";
    private readonly Lock _secretsLock = new();
    private byte[]? _fingerprintKey;

    private byte[] FingerprintKey => _fingerprintKey ??= Secrets.LoadOrCreateKey(Path.Combine(database.DataDirectory, FingerprintKeyFileName));

    public IReadOnlyList<McpServerEntry> List(Project project)
    {
        var choices = Choices(project.Id);
        IReadOnlyList<string> Taking(McpServer? server) => server is null ? [] : agents.All.Where(a => a.TakesMcpServer(server)).Select(a => a.Id).ToList();
        var entries = new List<McpServerEntry>();
        var secrets = TryReadSecrets(out var unreadable);
        foreach (var row in choices.Where(c => c.Origin == McpOrigins.PocketCoder))
        {
            var server = Added(project.Id, row, secrets);
            var problem = unreadable ?? MissingSecrets(project.Id, row, secrets);
            entries.Add(problem is null
                ? new McpServerEntry(row.Name, row.Origin, null, server, row.Enabled ? McpStates.Enabled : McpStates.Disabled, null, false, Taking(server))
                : new McpServerEntry(row.Name, row.Origin, null, server, McpStates.Unusable, problem, false, []));
        }

        foreach (var declared in Declared(project.Path, choices))
        {
            var choice = choices.FirstOrDefault(c => c.Origin == declared.Origin && c.Name == declared.Name);
            var loadsItself = agents.Find(declared.Origin) is IAgentMcpConfig { LoadsOwnMcpServers: true };
            var fingerprint = loadsItself || declared.Definition is null ? null : declared.Definition.Fingerprint(FingerprintKey, project.Path);
            var state = declared.Problem is not null ? McpStates.Unusable
                : loadsItself ? choice is { Enabled: false } ? McpStates.Disabled : McpStates.Enabled
                : choice is null ? McpStates.NeedsApproval
                : !choice.Enabled ? McpStates.Disabled
                : choice.Approved == fingerprint ? McpStates.Enabled : McpStates.Changed;
            entries.Add(new McpServerEntry(declared.Name, declared.Origin, declared.Source, declared.Definition, state, declared.Problem,
                declared.Origin == McpOrigins.Repository, loadsItself ? [declared.Origin] : Taking(declared.Definition), fingerprint));
        }

        return entries;
    }

    public McpServerEntry Get(Project project, string origin, string name) =>
        List(project).FirstOrDefault(e => e.Origin == origin && e.Name == name)
        ?? throw ApiProblem.NotFound(ErrorCodes.McpServerNotFound, $"Project '{project.Id}' has no MCP server '{name}' from {origin}.");

    /// <summary>Adds a server of the owner's own; its name must not be one the project's servers already use.</summary>
    public McpServerEntry Add(Project project, McpServer server, bool enabled, Actor actor)
    {
        // Unique ignoring case: a rule or grant for "probe" must never cover a server "PROBE" (an attacker review's find).
        if (List(project).Any(e => string.Equals(e.Name, server.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw ApiProblem.Conflict(ErrorCodes.McpServerExists,
                $"This project already has an MCP server called \"{server.Name}\": choose another name.");
        }

        var now = clock.GetUtcNow().ToDb();
        database.Write(write =>
        {
            // Again inside the write: two adds of one name at once must not both pass the check above.
            if (write.Scalar<long>("SELECT count(*) FROM mcp_servers WHERE project_id = $project AND origin = $origin AND name = $name COLLATE NOCASE",
                    ("$project", project.Id), ("$origin", McpOrigins.PocketCoder), ("$name", server.Name)) > 0)
            {
                throw ApiProblem.Conflict(ErrorCodes.McpServerExists, $"This project already has an MCP server called \"{server.Name}\": choose another name.");
            }

            if (write.Scalar<long>("SELECT count(*) FROM mcp_servers WHERE project_id = $project AND origin = $origin",
                    ("$project", project.Id), ("$origin", McpOrigins.PocketCoder)) >= MaxPerProject)
            {
                throw ApiProblem.Conflict(ErrorCodes.TooManyMcpServers, $"A project holds at most {MaxPerProject} MCP servers of its own: remove one first.");
            }

            write.Execute(
                """
                INSERT INTO mcp_servers (project_id, origin, name, enabled, command, args, url, approved, created_at, updated_at)
                VALUES ($project, $origin, $name, $enabled, $command, $args, $url, NULL, $now, $now)
                """,
                ("$project", project.Id), ("$origin", McpOrigins.PocketCoder), ("$name", server.Name), ("$enabled", enabled ? 1 : 0),
                ("$command", server.Command), ("$args", server.IsStdio ? JsonSerializer.Serialize(server.Args, PlainJson.Default.IReadOnlyListString) : null), ("$url", server.Url), ("$now", now));
            // The secrets are written inside the transaction: if they cannot be, the server is not added either.
            UpdateSecrets(secrets => secrets[Key(project.Id, server.Name)] = new JsonObject
            {
                ["env"] = ToJson(server.Env), ["headers"] = ToJson(server.Headers),
            });
            ledger.Append(write, actor.Name, "mcp.added", project.Id, Detail(server.Name, McpOrigins.PocketCoder, server, enabled));
        });
        return Get(project, McpOrigins.PocketCoder, server.Name);
    }

    /// <summary>
    /// Turns a server on or off. Turning on one a file declares is approving it: <paramref name="fingerprint"/> must be the
    /// one the owner was shown, so what starts is what they saw (a 409 when the file has changed since).
    /// </summary>
    public McpServerEntry SetEnabled(Project project, string origin, string name, bool enabled, string? fingerprint, Actor actor)
    {
        var entry = Get(project, origin, name);
        var approved = (string?)null;
        var needsApproval = enabled && origin != McpOrigins.PocketCoder && agents.Find(origin) is not IAgentMcpConfig { LoadsOwnMcpServers: true };
        if (needsApproval)
        {
            if (entry.Definition is null)
            {
                throw ApiProblem.Conflict(ErrorCodes.McpServerChanged, $"\"{name}\" cannot be enabled: {entry.Problem}");
            }

            if (fingerprint is null)
            {
                throw ApiProblem.Validation($"'fingerprint' is required to enable a server a file declares: the one the project's MCP server list shows for it.");
            }

            if (!string.Equals(fingerprint, entry.Fingerprint, StringComparison.Ordinal))
            {
                throw ApiProblem.Conflict(ErrorCodes.McpServerChanged,
                    $"{entry.Source} has changed \"{name}\" since you saw it: look at it again before you enable it.");
            }

            approved = fingerprint;
        }

        var now = clock.GetUtcNow().ToDb();
        database.Write(write =>
        {
            write.Execute(
                """
                INSERT INTO mcp_servers (project_id, origin, name, enabled, approved, created_at, updated_at)
                VALUES ($project, $origin, $name, $enabled, $approved, $now, $now)
                ON CONFLICT (project_id, origin, name) DO UPDATE SET enabled = $enabled,
                  approved = CASE WHEN $origin = 'pocketcoder' THEN approved ELSE $approved END, updated_at = $now
                """,
                ("$project", project.Id), ("$origin", origin), ("$name", name), ("$enabled", enabled ? 1 : 0), ("$approved", approved), ("$now", now));
            ledger.Append(write, actor.Name, enabled ? "mcp.enabled" : "mcp.disabled", project.Id, Detail(name, origin, entry.Definition, enabled));
        });
        return Get(project, origin, name);
    }

    /// <summary>Removes a server added in PocketCoder, and its secrets. One a file declares can only be turned off.</summary>
    public void Remove(Project project, string origin, string name, Actor actor)
    {
        var entry = Get(project, origin, name);
        if (origin != McpOrigins.PocketCoder)
        {
            throw ApiProblem.Conflict(ErrorCodes.McpServerDeclared, $"\"{name}\" is declared in {entry.Source}: turn it off instead, or remove it there.");
        }

        database.Write(write =>
        {
            write.Execute("DELETE FROM mcp_servers WHERE project_id = $project AND origin = $origin AND name = $name",
                ("$project", project.Id), ("$origin", origin), ("$name", name));
            UpdateSecrets(secrets => secrets.Remove(Key(project.Id, name)));
            ledger.Append(write, actor.Name, "mcp.removed", project.Id, new JsonObject { ["name"] = name, ["origin"] = origin });
        });
    }

    /// <summary>
    /// The servers a session's agent gets: the enabled ones (a declared one only as the owner enabled it), read afresh at
    /// every start, so a change to a file since is never run unseen. <paramref name="only"/>: a profile's choice among them.
    /// </summary>
    /// <param name="workingDirectory">Where the session works (the project, or its worktree): the .mcp.json the agent would see.</param>
    public AgentMcp ForSession(string projectId, string workingDirectory, IAgentAdapter agent, IReadOnlyList<string>? only)
    {
        bool Chosen(string name) => only is null || only.Contains(name, StringComparer.Ordinal);
        var choices = Choices(projectId);
        if (choices.Count == 0 && only is null)
        {
            // Nothing added, enabled or turned off here: no file need be read (the owner's ~/.claude.json can be large).
            return AgentMcp.None;
        }

        // Unreadable secrets: the owner's servers are left out (the listing says why) rather than started without them.
        var secrets = TryReadSecrets(out var unreadable);
        var servers = new List<McpServer>();
        foreach (var row in choices.Where(c => unreadable is null && c.Origin == McpOrigins.PocketCoder && c.Enabled && Chosen(c.Name)
            && MissingSecrets(projectId, c, secrets) is null))
        {
            servers.Add(Added(projectId, row, secrets));
        }

        var disabled = new List<string>();
        foreach (var declared in Declared(workingDirectory, choices))
        {
            var choice = choices.FirstOrDefault(c => c.Origin == declared.Origin && c.Name == declared.Name);
            if (agents.Find(declared.Origin) is IAgentMcpConfig { LoadsOwnMcpServers: true })
            {
                if (declared.Origin == agent.Id && (choice is { Enabled: false } || !Chosen(declared.Name)))
                {
                    disabled.Add(declared.Name);
                }
            }
            else if (declared is { Definition: { } definition, Problem: null } && choice is { Enabled: true }
                && choice.Approved == definition.Fingerprint(FingerprintKey, workingDirectory) && Chosen(declared.Name))
            {
                servers.Add(definition);
            }
        }

        return new AgentMcp(servers.Where(agent.TakesMcpServer).ToList(), disabled);
    }

    private sealed record Choice(string Origin, string Name, bool Enabled, string? Command, string? Args, string? Url, string? Approved);

    private sealed record Declaration(string Origin, string Name, McpServer? Definition, string Source, string? Problem);

    private List<Choice> Choices(string projectId) => database.Read(connection => connection.Query(
        "SELECT origin, name, enabled, command, args, url, approved FROM mcp_servers WHERE project_id = $project ORDER BY created_at, name",
        r => new Choice(r.GetString(0), r.GetString(1), r.GetInt64(2) == 1, r.NullableString(3), r.NullableString(4), r.NullableString(5), r.NullableString(6)),
        ("$project", projectId)));

    /// <summary>
    /// What the files declare: each agent's own config (the owner's), then the repository's <c>.mcp.json</c> (never
    /// through a link: it must be the repository's own file). A name already used (by a server added here, or declared
    /// earlier) makes a later one unusable: its tools would be called like the other's, and match the other's rules.
    /// </summary>
    private List<Declaration> Declared(string projectPath, IReadOnlyList<Choice> choices)
    {
        var declared = new List<Declaration>();
        var taken = choices.Where(c => c.Origin == McpOrigins.PocketCoder)
            .ToDictionary(c => c.Name, _ => "a server added here", StringComparer.OrdinalIgnoreCase);
        foreach (var found in DeclaredInFiles(projectPath))
        {
            if (found.Problem is null && taken.TryGetValue(found.Name, out var holder))
            {
                declared.Add(found with { Problem = $"Its name is already that of {holder}: rename one of them." });
                continue;
            }

            taken.TryAdd(found.Name, found.Origin == McpOrigins.Repository ? "a server of the repository" : $"a server of {found.Origin}'s own config");
            declared.Add(found);
        }

        return declared;
    }

    private IEnumerable<Declaration> DeclaredInFiles(string projectPath)
    {
        foreach (var agent in agents.All.OfType<IAgentMcpConfig>())
        {
            foreach (var own in agent.OwnMcpServers(projectPath))
            {
                yield return new Declaration(((IAgentAdapter)agent).Id, own.Name, own.Definition, own.Source, own.Problem);
            }
        }

        var file = Path.Combine(projectPath, ".mcp.json");
        if (new FileInfo(file) is { Exists: true, LinkTarget: not null })
        {
            yield return new Declaration(McpOrigins.Repository, ".mcp.json", null, file, "The repository's .mcp.json is a link: PocketCoder reads only the repository's own file.");
        }
        else
        {
            var servers = McpJson.ReadFile(file, root => [McpJson.Property(root, "mcpServers")], out var unreadable);
            foreach (var (name, server, problem) in servers)
            {
                yield return new Declaration(McpOrigins.Repository, name, server is null ? null : server with { ValuesArePublic = true }, file, problem);
            }

            if (unreadable is not null)
            {
                yield return new Declaration(McpOrigins.Repository, ".mcp.json", null, file, unreadable);
            }
        }
    }

    /// <summary>Drops the secrets no server has any more: a removed project's (its servers went with it), or any left behind.</summary>
    public void ForgetUnusedSecrets()
    {
        try
        {
            // In a write, so that no server being added meanwhile loses its secrets.
            database.Write(write =>
            {
                var kept = write.Query("SELECT project_id || '/' || name FROM mcp_servers WHERE origin = 'pocketcoder'", r => r.GetString(0))
                    .ToHashSet(StringComparer.Ordinal);
                UpdateSecrets(secrets => secrets.Select(pair => pair.Key).Where(key => !kept.Contains(key)).ToList().ForEach(key => secrets.Remove(key)));
            });
        }
        catch (ApiProblem)
        {
            // Unreadable: left as it is (never written over), and the listing says so.
        }
    }

    private static McpServer Added(string projectId, Choice row, JsonObject secrets)
    {
        var saved = secrets[Key(projectId, row.Name)] as JsonObject;
        return new McpServer(row.Name, row.Command, row.Args is null ? [] : JsonSerializer.Deserialize(row.Args, PlainJson.Default.ListString) ?? [],
            FromJson(saved?["env"]), row.Url, FromJson(saved?["headers"]));
    }

    private static string Key(string projectId, string name) => $"{projectId}/{name}";

    /// <summary>Why a server added here cannot start: its secrets are not in the file (it was restored without them, or edited).</summary>
    private static string? MissingSecrets(string projectId, Choice row, JsonObject secrets) => secrets[Key(projectId, row.Name)] is JsonObject
        ? null
        : $"Its variables and headers are missing from {SecretsFileName}: it is not given to any agent. Remove it and add it again.";

    private static JsonObject ToJson(IReadOnlyDictionary<string, string> values) =>
        new(values.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)pair.Value)));

    private static Dictionary<string, string> FromJson(JsonNode? node) =>
        node is JsonObject values
            ? values.ToDictionary(p => p.Key, p => p.Value is JsonValue value && value.TryGetValue<string>(out var text) ? text : "", StringComparer.Ordinal)
            : [];

    private string SecretsPath => Path.Combine(database.DataDirectory, SecretsFileName);

    /// <summary>The secrets as saved; empty, with the reason, when the file cannot be read (never overwritten then: see <see cref="UpdateSecrets"/>).</summary>
    private JsonObject TryReadSecrets(out string? problem)
    {
        problem = null;
        lock (_secretsLock)
        {
            try
            {
                return !File.Exists(SecretsPath) ? []
                    : JsonNode.Parse(File.ReadAllText(SecretsPath)) as JsonObject ?? throw new JsonException("it is not a JSON object");
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
            {
                problem = $"Its secrets could not be read from {SecretsPath} ({exception.Message}): it is not given to any agent until that file is mended.";
                return [];
            }
        }
    }

    private void UpdateSecrets(Action<JsonObject> change)
    {
        lock (_secretsLock)
        {
            var secrets = TryReadSecrets(out var problem);
            if (problem is not null)
            {
                // Writing over it would lose every other server's secrets.
                throw new ApiProblem(StatusCodes.Status409Conflict, ErrorCodes.McpSecretsUnreadable, problem);
            }

            change(secrets);
            DataFolder.WritePrivateFile(SecretsPath, secrets.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }

    /// <summary>What the ledger keeps of a server: what it runs and the names of its variables and headers, never their values.</summary>
    private static JsonObject Detail(string name, string origin, McpServer? server, bool enabled) => new()
    {
        ["name"] = name,
        ["origin"] = origin,
        ["enabled"] = enabled,
        ["command"] = server?.Command,
        ["args"] = server is null ? null : new JsonArray(server.Args.Select(a => (JsonNode?)a).ToArray()),
        ["url"] = server?.Url,
        ["env"] = server is null ? null : new JsonArray(server.Env.Keys.Select(k => (JsonNode?)k).ToArray()),
        ["headers"] = server is null ? null : new JsonArray(server.Headers.Keys.Select(k => (JsonNode?)k).ToArray()),
    };
}
