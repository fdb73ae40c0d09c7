using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions;

/// <summary>What a session keeps of the profile it started from: its name then, the instructions it adds, the MCP servers it chose (null: all).</summary>
public sealed record SessionProfile(string Name, string? Instructions, IReadOnlyList<string>? McpServers);

public sealed record Session(
    string Id,
    string ProjectId,
    string Agent,
    string? Model,
    string Mode,
    string Status,
    string AgentSessionId,
    string? Title,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long LastSeq,
    DateTimeOffset? ArchivedAt = null,
    string? Preview = null,
    string? Profile = null,
    string? Sandbox = null,
    string? ShortTitle = null,
    string? StartedBy = null,
    string? StartedByPerson = null);

/// <summary>A session a search found, with the words around the match (marked by \u0002 … \u0003).</summary>
public sealed record SessionMatch(Session Session, string? Snippet);

public static class SessionStatuses
{
    /// <summary>Its worktree is being made (<c>session.preparing</c> says how far); its agent starts once it is there.</summary>
    public const string Preparing = "preparing";

    /// <summary>
    /// Waiting for a free agent slot (<see cref="Running.AgentSlots"/>): its agent starts when one of the running sessions finishes or
    /// pauses; the status's reason says its place in line. Nothing of it runs meanwhile, and nothing is killed to make room.
    /// </summary>
    public const string Queued = "queued";

    public const string Starting = "starting";
    public const string Running = "running";
    public const string WaitingApproval = "waiting_approval";
    public const string Idle = "idle";
    public const string Failed = "failed";
    public const string Stopped = "stopped";
    public const string Interrupted = "interrupted";

    /// <summary>States in which an agent process was busy; after a restart these are <see cref="Interrupted"/>.</summary>
    /// <remarks>A queued session is among them: after a restart its line is gone, and what it would have run waits, held, for the owner.</remarks>
    public static string[] Busy => SessionLifecycle.Busy;
}

/// <summary>Session rows. Every status or mode change goes out as a <c>session.status</c> event in the same transaction.</summary>
public sealed class SessionStore(Database database, EventLog events, TimeProvider clock, ILogger<SessionStore>? logger = null)
{
    private const string Columns = "id, project_id, agent, model, mode, status, agent_session_id, title, created_at, updated_at, last_seq, archived_at, profile, sandbox, short_title, started_by, started_by_person";
    private const string ReadColumns = Columns + ", preview";
    internal const int MaxQuery = 200;

    /// <param name="agentSessionId">The agent's own conversation to carry on (one begun in a terminal); a new one when null.</param>
    /// <param name="profile">The profile it starts from (its name, the instructions it adds, its MCP servers), if any.</param>
    /// <param name="shortTitle">What tells it apart on a list (<see cref="SessionTitles"/>).</param>
    /// <param name="status"><see cref="SessionStatuses.Starting"/>, or <see cref="SessionStatuses.Preparing"/> while its worktree is made.</param>
    /// <param name="startedBy">Whoever started it (<see cref="StarterOf"/>).</param>
    public Session Create(DbWrite write, string projectId, string agent, string? model, string mode, string? title, string? agentSessionId = null,
        SessionProfile? profile = null, string? shortTitle = null, string status = SessionStatuses.Starting, Starter? startedBy = null)
    {
        var now = clock.GetUtcNow();
        var session = new Session(Guid.NewGuid().ToString(), projectId, agent, model, mode, status,
            agentSessionId ?? Guid.NewGuid().ToString(), title, now, now, 0, Profile: profile?.Name, ShortTitle: shortTitle, StartedBy: startedBy?.Name,
            StartedByPerson: startedBy?.Person);
        write.Execute(
            $"INSERT INTO sessions ({Columns}, instructions, mcp_servers) VALUES ($id, $project, $agent, $model, $mode, $status, $agentSession, $title, $at, $at, 0, NULL, $profile, NULL, $short, $startedBy, $person, $instructions, $mcp)",
            ("$id", session.Id), ("$project", projectId), ("$agent", agent), ("$model", model), ("$mode", mode),
            ("$status", session.Status), ("$agentSession", session.AgentSessionId), ("$title", title), ("$at", now.ToDb()), ("$short", shortTitle),
            ("$startedBy", startedBy?.Name), ("$person", startedBy?.Person),
            ("$profile", profile?.Name), ("$instructions", profile?.Instructions),
            ("$mcp", profile?.McpServers is { } mcp ? System.Text.Json.JsonSerializer.Serialize(mcp, PlainJson.Default.IReadOnlyListString) : null));
        events.Append(write, session.Id, new SessionStatusEvent(session.Status, mode, null));
        return session;
    }

    public Session? Find(string id) => database.Read(connection =>
        connection.Query($"SELECT {ReadColumns} FROM sessions WHERE id = $id", Map, ("$id", id)).FirstOrDefault());

    public Session Get(string id) => Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.SessionNotFound, $"No session with id '{id}'.");

    /// <summary>The most sessions one page of the list holds (and the page a caller gets when it names none).</summary>
    public const int MaxPage = 1000;

    // Each reads its page off an index (migration 034), not a sort of every session: tests Server/QueryPlanTests.cs checks.
    // The cursor is the last listed session's (created_at, id): a session created meanwhile is on the first page, not twice.
    private const string Newest = "ORDER BY created_at DESC, id DESC LIMIT $limit";
    internal const string ListSql = $"SELECT {ReadColumns} FROM sessions {Newest}";
    internal const string ListProjectSql = $"SELECT {ReadColumns} FROM sessions WHERE project_id = $project {Newest}";
    internal const string ListBeforeSql = $"SELECT {ReadColumns} FROM sessions WHERE (created_at, id) < ($at, $id) {Newest}";
    internal const string ListProjectBeforeSql =
        $"SELECT {ReadColumns} FROM sessions WHERE project_id = $project AND (created_at, id) < ($at, $id) {Newest}";

    /// <summary>
    /// A page of sessions (or a project's), newest created first: the first page, or the one after <paramref name="before"/>
    /// (a session of an earlier page, its last).
    /// </summary>
    public IReadOnlyList<Session> List(string? projectId, Session? before = null, int limit = MaxPage) => database.Read(connection =>
    {
        (string, object?)[] page = [("$limit", Math.Clamp(limit, 1, MaxPage)), ("$project", projectId),
            ("$at", before?.CreatedAt.ToDb()), ("$id", before?.Id)];
        var sql = (projectId, before) switch
        {
            (null, null) => ListSql,
            (null, _) => ListBeforeSql,
            (_, null) => ListProjectSql,
            _ => ListProjectBeforeSql,
        };
        return connection.Query(sql, Map, page);
    });

    /// <summary>The project's session that holds <paramref name="agent"/>'s conversation, if one does (the newest).</summary>
    internal const string OfConversationSql =
        $"SELECT {ReadColumns} FROM sessions WHERE agent = $agent AND agent_session_id = $conversation AND project_id = $project ORDER BY created_at DESC LIMIT 1";

    public Session? OfConversation(string projectId, string agent, string agentSessionId) => database.Read(connection =>
        connection.Query(OfConversationSql, Map, ("$agent", agent), ("$conversation", agentSessionId), ("$project", projectId)).FirstOrDefault());

    /// <summary>
    /// Sessions whose prompts hold every word of <paramref name="query"/> (the last one as a prefix, so results come
    /// while typing), most recently active first. Words are matched as words, never as FTS5 syntax.
    /// </summary>
    public IReadOnlyList<SessionMatch> Search(string query, string? projectId, int limit)
    {
        var match = FtsQuery(query);
        if (match is null)
        {
            return [];
        }

        // snippet() only works in a query straight on the FTS table: the hits are materialised first, then the best per session kept.
        return database.Read(connection => connection.Query($"""
            WITH hits AS MATERIALIZED (
                SELECT session_id, snippet(session_search, 0, char(2), char(3), '…', 12) AS snippet, rank
                FROM session_search WHERE session_search MATCH $match),
            best AS (SELECT session_id, snippet, min(rank) FROM hits GROUP BY session_id)
            SELECT {string.Join(", ", ReadColumns.Split(", ").Select(c => "s." + c))}, best.snippet
            FROM best JOIN sessions s ON s.id = best.session_id
            WHERE $project IS NULL OR s.project_id = $project
            ORDER BY s.updated_at DESC LIMIT $limit
            """, r => new SessionMatch(Map(r), r.NullableString(r.FieldCount - 1)), ("$match", match), ("$project", projectId), ("$limit", limit)));
    }

    /// <summary>Each word quoted (a quote inside doubled), the last one a prefix: <c>fix "login</c> → <c>"fix" "\"login"*</c>.</summary>
    internal static string? FtsQuery(string query)
    {
        // Control characters (a NUL ends FTS5's reading of the query) separate words like spaces do.
        var spaced = new string([.. query.Select(c => char.IsControl(c) ? ' ' : c)]);
        var words = spaced.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(w => w.Any(char.IsLetterOrDigit)).Take(12).ToList();
        return words.Count == 0 ? null : string.Join(' ', words.Select((w, i) => "\"" + w.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" + (i == words.Count - 1 ? "*" : "")));
    }

    public IReadOnlyList<Session> WithStatus(params string[] statuses) => database.Read(connection =>
        connection.Query($"SELECT {Columns} FROM sessions WHERE status IN (SELECT value FROM json_each($statuses))", Map,
            ("$statuses", new JsonArray([.. statuses.Select(s => JsonValue.Create(s))]).ToJsonString())));

    /// <summary>
    /// Moves the session by <paramref name="event"/> to the state <see cref="SessionLifecycle"/> says, and tells subscribers in the
    /// same transaction. Nothing is written when the table refuses the event in the session's state (a late word, say an agent
    /// that exits after its session was stopped) or it is in that state already; being in line again says its new place.
    /// </summary>
    /// <returns>Whether the status changed.</returns>
    public bool Move(string id, LifeEvent @event, string? reason = null) => database.Write(write => Move(write, id, @event, reason));

    public bool Move(DbWrite write, string id, LifeEvent @event, string? reason)
    {
        var row = write.Query("SELECT status, mode FROM sessions WHERE id = $id", r => (Status: r.GetString(0), Mode: r.GetString(1)),
            ("$id", id)).FirstOrDefault();
        if (row.Status is null || SessionLifecycle.Next(row.Status, @event) is not { } next)
        {
            if (row.Status is not null)
            {
                Interlocked.Increment(ref _refusedMoves);
                // Not an error of the caller's (a late word is expected), but one the table did not foresee shows here first.
                logger?.LogDebug("Session {Session}: {Event} refused in {Status} by the lifecycle table", id, @event, row.Status);
            }

            return false;
        }

        if (next == row.Status)
        {
            if (@event == LifeEvent.JoinedLine && reason is not null)
            {
                events.Append(write, id, new SessionStatusEvent(next, row.Mode, reason));
            }

            return false;
        }

        write.Execute("UPDATE sessions SET status = $status WHERE id = $id", ("$status", next), ("$id", id));
        events.Append(write, id, new SessionStatusEvent(next, row.Mode, reason));
        return true;
    }

    private int _refusedMoves;

    /// <summary>How many events the table refused since start-up (the lifecycle tests read what was kept out; the log names each).</summary>
    internal int RefusedMoves => Volatile.Read(ref _refusedMoves);

    /// <summary>Archives (or brings back) a session: kept whole, hidden from lists; every device is told (reason <c>archived</c>).</summary>
    public bool SetArchived(DbWrite write, string id, bool archived)
    {
        var row = write.Query(
            archived
                ? "UPDATE sessions SET archived_at = $at WHERE id = $id AND archived_at IS NULL RETURNING status, mode"
                : "UPDATE sessions SET archived_at = NULL WHERE id = $id AND archived_at IS NOT NULL RETURNING status, mode",
            r => (Status: r.GetString(0), Mode: r.GetString(1)), ("$at", clock.GetUtcNow().ToDb()), ("$id", id)).FirstOrDefault();
        if (row.Status is null)
        {
            return false;
        }

        events.Append(write, id, new SessionStatusEvent(row.Status, row.Mode, archived ? "archived" : "unarchived"));
        return true;
    }

    /// <summary>Says something about the session's state that does not change its status (e.g. suspended).</summary>
    public void Announce(string id, string reason) => database.Write(write =>
    {
        var row = write.Query("SELECT status, mode FROM sessions WHERE id = $id", r => (Status: r.GetString(0), Mode: r.GetString(1)), ("$id", id)).FirstOrDefault();
        if (row.Status is not null)
        {
            events.Append(write, id, new SessionStatusEvent(row.Status, row.Mode, reason));
        }
    });

    public bool SetMode(DbWrite write, string id, string mode)
    {
        var status = write.Scalar<string>("UPDATE sessions SET mode = $mode WHERE id = $id AND mode <> $mode RETURNING status",
            ("$mode", mode), ("$id", id));
        if (status is null)
        {
            return false;
        }

        events.Append(write, id, new SessionStatusEvent(status, mode, "mode changed"));
        return true;
    }

    /// <summary>
    /// Records the agent's own conversation id, used for its native resume. Claude takes the id we choose at
    /// creation; Codex, OpenCode and ACP agents choose their own (and a new one when an old one cannot be loaded).
    /// </summary>
    public void SetAgentSessionId(string id, string agentSessionId) => database.Write(write =>
        write.Execute("UPDATE sessions SET agent_session_id = $agentSession WHERE id = $id AND agent_session_id <> $agentSession",
            ("$agentSession", agentSessionId), ("$id", id)));

    /// <summary>Records how its agent runs from this start on (<c>sandboxed</c> or <c>none</c>), for the owner to see.</summary>
    public void SetSandbox(string id, string sandbox) => database.Write(write =>
        write.Execute("UPDATE sessions SET sandbox = $sandbox WHERE id = $id", ("$sandbox", sandbox), ("$id", id)));

    public string Mode(string id) => Column(id, "mode") ?? "ask";

    /// <summary>Whether the agent has been sent anything yet: only then is there a conversation to resume.</summary>
    public bool HasConversation(string id) => database.Read(connection =>
        connection.Scalar<long>(HasConversationSql, ("$id", id)) == 1);

    // EXISTS stops at the first prompt (near the start of any conversation); a count read the whole of a long session.
    internal const string HasConversationSql =
        "SELECT EXISTS (SELECT 1 FROM events WHERE session_id = $id AND kind IN ('message.user', 'history.imported'))";

    /// <summary>The sessions, not stopped, that carry this agent conversation on (any can bring its agent back with a message).</summary>
    public IReadOnlyList<Session> Carrying(string agent, string agentSessionId) => database.Read(connection => connection.Query(
        $"SELECT {ReadColumns} FROM sessions WHERE agent = $agent AND agent_session_id = $conversation AND status <> 'stopped'", Map,
        ("$agent", agent), ("$conversation", agentSessionId)));

    /// <summary>The instructions its profile added to the agent's system prompt, if any.</summary>
    public string? Instructions(string id) => Column(id, "instructions");

    /// <summary>The MCP servers its profile chose among the project's enabled ones; null: all of them.</summary>
    public IReadOnlyList<string>? McpServers(string id) =>
        Column(id, "mcp_servers") is { } json ? System.Text.Json.JsonSerializer.Deserialize(json, PlainJson.Default.ListString) : null;

    /// <summary>The tool call the session's agent paused on and has not yet been resumed past (docs/api.md, "Paused agents").</summary>
    /// <summary>The earlier conversation a rewind's or fork's session starts its agent on a copy of, until its first turn ends (null: none).</summary>
    public AgentFork? ForkOf(string id) => Column(id, "fork_conversation") is { } conversation ? new AgentFork(conversation, Column(id, "fork_at")) : null;

    public void SetFork(DbWrite write, string id, AgentFork fork) => write.Execute(
        "UPDATE sessions SET fork_conversation = $conversation, fork_at = $at WHERE id = $id", ("$conversation", fork.ConversationId), ("$at", fork.At), ("$id", id));

    /// <summary>A session that carries another's conversation on (a rewind, its undo, a fork) goes by the other's title.</summary>
    public void SetTitle(DbWrite write, string id, string? title, string? shortTitle) => write.Execute(
        "UPDATE sessions SET title = $title, short_title = $short WHERE id = $id", ("$title", title), ("$short", shortTitle), ("$id", id));

    public void ClearFork(string id) => database.Write(write =>
        write.Execute("UPDATE sessions SET fork_conversation = NULL, fork_at = NULL WHERE id = $id", ("$id", id)));

    public string? PausedCall(string id) => Column(id, "paused_call");

    /// <summary>Records the call the agent paused on. Clearing names the call, so that a later pause stays.</summary>
    public void SetPausedCall(string id, string toolCallId) => database.Write(write =>
        write.Execute("UPDATE sessions SET paused_call = $call WHERE id = $id", ("$call", toolCallId), ("$id", id)));

    public void ClearPausedCall(string id, string toolCallId) => database.Write(write =>
        write.Execute("UPDATE sessions SET paused_call = NULL WHERE id = $id AND paused_call = $call", ("$call", toolCallId), ("$id", id)));

    private string? Column(string id, string column) => database.Read(connection =>
        connection.Scalar<string>($"SELECT {column} FROM sessions WHERE id = $id", ("$id", id)));

    private static Session Map(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.NullableString(7), r.Time(8), r.Time(9), r.GetInt64(10), r.NullableTime(11), r.FieldCount > 17 ? r.NullableString(17) : null,
        r.NullableString(12), r.NullableString(13), r.NullableString(14), r.NullableString(15), r.NullableString(16));

    /// <summary>
    /// Who a session's starter is: on the lists, the person whose device it is (the device's own name for one that is no one's,
    /// the actor's name for the server's own starts: a schedule's "system"); for telling one starter from another, that person's
    /// id, or <c>device:</c> and the device's id for a device that is no one's (null for the server's own starts).
    /// </summary>
    public static Starter StarterOf(DbWrite write, Auth.Actor actor) =>
        write.Query("SELECT coalesce(p.name, d.name), coalesce(d.person_id, 'device:' || d.id) FROM devices d LEFT JOIN people p ON p.id = d.person_id WHERE d.id = $id",
            r => new Starter(r.GetString(0), r.GetString(1)), ("$id", actor.Id)).FirstOrDefault() ?? new Starter(actor.Name, null);
}

/// <summary>A session's starter: the name the lists show, and the person (or device) it was, for comparing.</summary>
public sealed record Starter(string Name, string? Person);
