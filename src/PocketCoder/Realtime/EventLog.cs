using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;

namespace PocketCoder.Realtime;

/// <param name="Id">Position in the log across all sessions (the dashboard stream's cursor).</param>
/// <param name="Seq">Position within the session: from 1, gapless (the session stream's cursor).</param>
/// <param name="Data">The JSON payload as sent, carrying <c>sessionId</c> and <c>seq</c> too.</param>
public sealed record StoredEvent(long Id, string SessionId, long Seq, string Kind, string Data, string At)
{
    private byte[]? _bySeq;
    private byte[]? _byId;

    /// <summary>
    /// The SSE frame, built once per event and cursor kind however many subscribers receive it: with 100 phones
    /// and dashboards on one session, formatting per subscriber was the fan-out's main cost.
    /// </summary>
    internal byte[] FrameWithId(long id) => id == Seq
        ? _bySeq ??= EventStream.Frame(Seq, this)
        : _byId ??= EventStream.Frame(id, this);

    /// <summary>The payload as its record when the event is of that kind (null otherwise): read by type, not field by field.</summary>
    public T? As<T>() where T : class, ISessionEvent => Kind == T.Kind ? JsonSerializer.Deserialize(Data, SessionEventJson.Info<T>()) : null;
}

/// <summary>
/// Appends session events. Each event is committed to SQLite before anyone is told about it, so
/// what a subscriber has seen is always something a restart will still have.
/// </summary>
public sealed class EventLog(Database database, EventHub hub, TimeProvider clock)
{
    private const string Columns = "id, session_id, seq, kind, data, at";

    /// <summary>
    /// Appends an event nobody waits on (agent output): committed with others in one transaction (group
    /// commit) and sent once committed. Every direct write commits the queued ones first, so order holds.
    /// </summary>
    public void Append<T>(string sessionId, T data) where T : ISessionEvent =>
        database.Enqueue(write => Append(write, sessionId, data));

    /// <summary>Appends within the caller's transaction; subscribers hear of it once that commits.</summary>
    public StoredEvent Append<T>(DbWrite write, string sessionId, T data) where T : ISessionEvent
    {
        var at = clock.GetUtcNow().ToDb();
        var seq = write.Scalar<long>(
            "UPDATE sessions SET last_seq = last_seq + 1, updated_at = $at WHERE id = $id RETURNING last_seq",
            ("$id", sessionId), ("$at", at));
        if (seq == 0)
        {
            throw new InvalidOperationException($"Session {sessionId} does not exist.");
        }

        var text = Payload(sessionId, seq, data);
        var id = write.Scalar<long>(
            "INSERT INTO events (session_id, seq, kind, data, at) VALUES ($session, $seq, $kind, $data, $at) RETURNING id",
            ("$session", sessionId), ("$seq", seq), ("$kind", T.Kind), ("$data", text), ("$at", at));
        var stored = new StoredEvent(id, sessionId, seq, T.Kind, text, at);
        write.AfterCommit(() => hub.Publish(stored));
        return stored;
    }

    /// <summary>The event's JSON as stored and sent: <c>sessionId</c> and <c>seq</c> first, then the event's own fields.</summary>
    internal static string Payload<T>(string sessionId, long seq, T data) where T : ISessionEvent
    {
        var fields = JsonSerializer.SerializeToUtf8Bytes(data, SessionEventJson.Info<T>());
        var buffer = new ArrayBufferWriter<byte>(fields.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("sessionId", sessionId);
            writer.WriteNumber("seq", seq);
            writer.WriteEndObject();
        }

        // {"sessionId":…,"seq":N} and {fields…} become one object: the head without its '}', then the fields without their '{'.
        var head = buffer.WrittenSpan[..^1];
        return fields.Length > 2
            ? string.Concat(Encoding.UTF8.GetString(head), ",", Encoding.UTF8.GetString(fields.AsSpan(1)))
            : string.Concat(Encoding.UTF8.GetString(head), "}");
    }

    public IReadOnlyList<StoredEvent> ReadSession(string sessionId, long afterSeq, int limit) => database.Read(connection =>
        connection.Query(AfterSql, Map, ("$session", sessionId), ("$after", afterSeq), ("$limit", limit)));

    /// <summary>
    /// The session's events just before <paramref name="beforeSeq"/> (the newest ones when it is past the end), oldest first:
    /// one page of a transcript read backwards. Walks the (session_id, seq) index from the top, so the first page of a
    /// session of 500,000 events costs what it costs for one of 1,000.
    /// </summary>
    public IReadOnlyList<StoredEvent> ReadSessionBefore(string sessionId, long beforeSeq, int limit)
    {
        var newestFirst = database.Read(connection =>
            connection.Query(PageSql, Map, ("$session", sessionId), ("$before", beforeSeq), ("$limit", limit)));
        newestFirst.Reverse();
        return newestFirst;
    }

    internal const string PageSql = $"SELECT {Columns} FROM events WHERE session_id = $session AND seq < $before ORDER BY seq DESC LIMIT $limit";

    internal const string AfterSql = $"SELECT {Columns} FROM events WHERE session_id = $session AND seq > $after ORDER BY seq LIMIT $limit";

    public IReadOnlyList<StoredEvent> ReadAll(long afterId, int limit) => database.Read(connection =>
        connection.Query($"SELECT {Columns} FROM events WHERE id > $after ORDER BY id LIMIT $limit",
            Map, ("$after", afterId), ("$limit", limit)));

    /// <summary>The session's total cost as its newest <c>usage</c> event says (null when none says one): where a new process starts counting.</summary>
    public decimal? LastSessionCost(string sessionId) => database.Read(connection => connection.Query(
        "SELECT json_extract(data, '$.sessionCostUsd') FROM events WHERE session_id = $session AND kind = 'usage' ORDER BY seq DESC LIMIT 1",
        r => r.IsDBNull(0) ? (decimal?)null : r.GetDecimal(0), ("$session", sessionId)).FirstOrDefault());

    /// <summary>What the session's newest <c>session.error</c> said, or null: why it failed, for whoever started it elsewhere (a backlog task).</summary>
    public string? LastError(string sessionId) => database.Read(connection => connection.Query(
        "SELECT json_extract(data, '$.message') FROM events WHERE session_id = $session AND kind = 'session.error' ORDER BY seq DESC LIMIT 1",
        r => r.IsDBNull(0) ? null : r.GetString(0), ("$session", sessionId)).FirstOrDefault());

    /// <summary>The title of the session's call <paramref name="toolCallId"/> (its tool's name when it has none), or null when the log has no such call.</summary>
    public string? ToolCallTitle(string sessionId, string toolCallId) => database.Read(connection => connection.Query(
        "SELECT COALESCE(NULLIF(json_extract(data, '$.title'), ''), json_extract(data, '$.tool')) FROM events WHERE session_id = $session AND kind = 'tool.call' AND json_extract(data, '$.toolCallId') = $call ORDER BY seq DESC LIMIT 1",
        r => r.IsDBNull(0) ? null : r.GetString(0), ("$session", sessionId), ("$call", toolCallId)).FirstOrDefault());

    /// <summary>Whether the session has had an event of this kind (a <c>turn.completed</c>: it has finished a turn).</summary>
    public bool Has(string sessionId, string kind) => database.Read(connection => connection.Scalar<long>(
        "SELECT EXISTS (SELECT 1 FROM events WHERE session_id = $session AND kind = $kind)", ("$session", sessionId), ("$kind", kind))) == 1;

    /// <summary>The newest log-wide id (0 when the log is empty): where a stream that wants only new events starts.</summary>
    public long LatestId() => database.Read(connection => connection.Scalar<long>("SELECT COALESCE(MAX(id), 0) FROM events"));

    private static StoredEvent Map(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5));
}
