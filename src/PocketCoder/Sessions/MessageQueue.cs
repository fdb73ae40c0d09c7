using System.Text.Json;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Sessions;

/// <summary>A message that waits for the running turn to end; <c>attachments</c> lists what came with it (never the bytes).</summary>
/// <param name="HeldReason">Set while it is held because the device that sent it was revoked: it keeps its place and
/// nothing behind it starts until another device confirms (<c>POST …/queue/{messageId}/confirm</c>) or removes it.</param>
public sealed record QueuedMessage(string Id, string Text, string SentBy, IReadOnlyList<AttachmentInfo>? Attachments, DateTimeOffset QueuedAt,
    string? HeldReason = null);

/// <param name="Held">Nothing queued starts by itself: the last turn was cancelled, or the agent came back with messages
/// still waiting. Sending a message, or <c>POST …/queue/run</c>, lets the queue go on.</param>
public sealed record MessageQueueResponse(IReadOnlyList<QueuedMessage> Messages, bool Held);

public sealed record EditQueuedMessageRequest(
    [property: System.ComponentModel.DataAnnotations.Required(ErrorMessage = "'text' is required and must not be blank.")]
    [property: System.ComponentModel.DataAnnotations.StringLength(SessionsApi.MaxMessageLength, ErrorMessage = "'text' is at most {1} characters.")]
    string? Text);

/// <summary>
/// Messages sent while a turn runs wait here, one row each, rather than being pushed into the agent's running turn: each
/// becomes a turn of its own (with its own review) once the one before has ended, in the order they were sent, and until
/// then the owner can edit or remove it. Kept in the database, so a restart loses none. Every change is a
/// <c>queue.updated</c> event carrying the whole queue, so every device shows the same one.
/// </summary>
public sealed class MessageQueue(Database database, EventLog events, Ledger.LedgerStore ledger, Teams.Authority authority, TimeProvider clock)
{
    /// <summary>More than this waiting behind one turn is a mistake (a loop, a stuck button), not a plan.</summary>
    public const int MaxQueued = 20;

    private const string Columns = "id, text, sent_by, attachment_infos, queued_at, held_reason";

    // A message being sent (started_at set) is no longer the owner's to edit or remove, and no longer shown as waiting.
    private const string Waiting = "session_id = $s AND started_at IS NULL";

    public IReadOnlyList<QueuedMessage> List(string sessionId) => database.Read(c => c.Query(
        $"SELECT {Columns} FROM queued_messages WHERE {Waiting} ORDER BY position", Map, ("$s", sessionId)));

    public bool IsEmpty(string sessionId) =>
        database.Read(c => c.Scalar<long>($"SELECT COUNT(*) FROM queued_messages WHERE {Waiting}", ("$s", sessionId))) == 0;

    /// <summary>Whether the first waiting message would start (there is one, and it is not held).</summary>
    public bool NextStarts(string sessionId) => database.Read(c => c.Query(
        $"SELECT held_reason IS NULL FROM queued_messages WHERE {Waiting} ORDER BY position LIMIT 1", r => r.GetInt64(0) == 1, ("$s", sessionId))) is [true];

    /// <summary>Sessions with messages waiting (after a restart: their queues are held).</summary>
    public IReadOnlyList<string> SessionsWaiting() => database.Read(c =>
        c.Query("SELECT DISTINCT session_id FROM queued_messages", r => r.GetString(0)));

    /// <summary>
    /// After a restart: a message whose sending a crash cut short waits again (the agent may or may not have got it; the
    /// transcript says which, and the queue is held, so the owner decides).
    /// </summary>
    public void ReleaseUnsent() => database.Write(write => write.Execute("UPDATE queued_messages SET started_at = NULL WHERE started_at IS NOT NULL"));

    /// <exception cref="ApiProblem"><c>QUEUE_FULL</c> (409) with <see cref="MaxQueued"/> already waiting; <c>UNAUTHORIZED</c> for a revoked device.</exception>
    /// <param name="sender">Who sent it: it starts on their device's authority (<see cref="Auth.StandingWork"/>).</param>
    /// <param name="first">Before every waiting message (sent while the owner was stopping the turn: it is what they want next).</param>
    public QueuedMessage Add(string sessionId, OwnerMessage message, Auth.Actor sender, bool held, bool first = false)
    {
        var queued = new QueuedMessage(Guid.NewGuid().ToString(), message.Text, sender.Name, message.Attachments.Count > 0 ? message.Attachments : null,
            clock.GetUtcNow());
        database.Write(write =>
        {
            Auth.StandingWork.EnsureNotRevoked(write, sender);
            if (write.Scalar<long>($"SELECT COUNT(*) FROM queued_messages WHERE {Waiting}", ("$s", sessionId)) >= MaxQueued)
            {
                throw ApiProblem.Conflict(ErrorCodes.QueueFull,
                    $"{MaxQueued} messages already wait for this session's turn to end. Remove one, or wait for the agent to take them.");
            }

            write.Execute($"""
                INSERT INTO queued_messages (id, session_id, position, text, attachments, attachment_infos, sent_by, queued_at, sent_by_device)
                VALUES ($id, $s, (SELECT {(first ? "COALESCE(MIN(position), 1) - 1" : "COALESCE(MAX(position), 0) + 1")} FROM queued_messages WHERE session_id = $s),
                        $text, $raw, $infos, $by, $at, $device)
                """,
                ("$id", queued.Id), ("$s", sessionId), ("$text", queued.Text),
                ("$raw", message.Sources is { Count: > 0 } sources ? JsonSerializer.Serialize(sources, WireJson.Default.IReadOnlyListAttachmentRequest) : null),
                ("$infos", queued.Attachments is { } infos ? JsonSerializer.Serialize(infos, WireJson.Default.IReadOnlyListAttachmentInfo) : null),
                ("$by", sender.Name), ("$at", queued.QueuedAt.ToDb()), ("$device", sender.Id));
            Changed(write, sessionId, held);
        });
        return queued;
    }

    /// <summary>
    /// Changes the words of a message that has not started; what came with it stays. The words are now
    /// <paramref name="by"/>'s: the message starts on their authority, not its first sender's (ledgered as <c>queue.edited</c>),
    /// so no one puts their words under someone else's right to run things unasked.
    /// </summary>
    public QueuedMessage Edit(string sessionId, string id, string text, Auth.Actor by, bool held) => database.Write(write =>
    {
        Auth.StandingWork.EnsureNotRevoked(write, by);
        if (write.Execute($"UPDATE queued_messages SET text = $text, sent_by = $by, sent_by_device = $device WHERE id = $id AND {Waiting}",
                ("$text", text), ("$by", by.Name), ("$device", by.Id), ("$id", id), ("$s", sessionId)) == 0)
        {
            throw NotQueued(id);
        }

        ledger.Append(write, by.Name, "queue.edited", id, new System.Text.Json.Nodes.JsonObject { ["sessionId"] = sessionId, ["deviceId"] = by.Id, ["text"] = text });
        Changed(write, sessionId, held);
        return write.Query($"SELECT {Columns} FROM queued_messages WHERE id = $id", Map, ("$id", id))[0];
    });

    /// <summary>
    /// Lets a held message go on, in its place, on <paramref name="by"/>'s authority (ledgered as <c>queue.confirmed</c>).
    /// </summary>
    /// <exception cref="ApiProblem"><c>QUEUED_MESSAGE_NOT_FOUND</c> when it is not waiting (started, removed, or not held).</exception>
    public QueuedMessage Confirm(string sessionId, string id, Auth.Actor by, bool held) => database.Write(write =>
    {
        Auth.StandingWork.EnsureNotRevoked(write, by);
        if (write.Execute($"UPDATE queued_messages SET held_reason = NULL, sent_by_device = $device WHERE id = $id AND held_reason IS NOT NULL AND {Waiting}",
                ("$device", by.Id), ("$id", id), ("$s", sessionId)) == 0)
        {
            throw ApiProblem.NotFound(ErrorCodes.QueuedMessageNotFound, $"Message {id} is not held in the queue: it has started, was removed, or needs no confirming.");
        }

        ledger.Append(write, by.Name, "queue.confirmed", id, new System.Text.Json.Nodes.JsonObject { ["sessionId"] = sessionId, ["deviceId"] = by.Id });
        Changed(write, sessionId, held);
        return write.Query($"SELECT {Columns} FROM queued_messages WHERE id = $id", Map, ("$id", id))[0];
    });

    public void Remove(string sessionId, string id, bool held) => database.Write(write =>
    {
        if (write.Execute($"DELETE FROM queued_messages WHERE id = $id AND {Waiting}", ("$id", id), ("$s", sessionId)) == 0)
        {
            throw NotQueued(id);
        }

        Changed(write, sessionId, held);
    });

    /// <summary>
    /// Takes the first waiting message to send it (null: none waits, or the first is held): from now on it is neither
    /// shown nor editable. It stays stored until <see cref="Sent"/>; <see cref="Unsent"/> puts it back first in line. One
    /// whose device was revoked is held here rather than sent (<see cref="Auth.StandingWork"/>), and so is one whose sender may
    /// no longer steer the session as it now is (its mode or grants changed since, or their role did): it starts on their word.
    /// </summary>
    public (QueuedMessage Queued, OwnerMessage Message, Auth.Actor Sender)? TakeNext(string sessionId)
    {
        var taken = database.Write(write =>
        {
            var row = write.Query(
                $"SELECT {Columns}, attachments, sent_by_device FROM queued_messages WHERE {Waiting} ORDER BY position LIMIT 1",
                r => (Queued: Map(r), Raw: r.NullableString(6), Device: r.NullableString(7)), ("$s", sessionId));
            if (row.Count == 0 || row[0].Queued.HeldReason is not null)
            {
                return ((QueuedMessage, string?, string?)?)null;
            }

            if ((Auth.StandingWork.RevokedReason(write, row[0].Device) ?? NoLongerTheirs(write, sessionId, row[0].Device, row[0].Queued.SentBy)) is { } reason)
            {
                Auth.StandingWork.HoldMessage(write, ledger, "queue", row[0].Queued.Id, sessionId, row[0].Device, reason);
                Changed(write, sessionId, held: false);
                return null;
            }

            write.Execute("UPDATE queued_messages SET started_at = $at WHERE id = $id", ("$id", row[0].Queued.Id), ("$at", clock.GetUtcNow().ToDb()));
            Changed(write, sessionId, held: false);
            return (row[0].Queued, row[0].Raw, row[0].Device);
        });
        if (taken is not { } next)
        {
            return null;
        }

        var sources = next.Item2 is { } raw ? JsonSerializer.Deserialize(raw, WireJson.Default.IReadOnlyListAttachmentRequest) : null;
        // A message from before senders were recorded starts on no one's word: nothing runs unasked in its turn.
        return (next.Item1, Attachments.Build(next.Item1.Text, sources), new Auth.Actor(next.Item3 ?? "queue", next.Item1.SentBy));
    }

    /// <summary>Why the message's sender may not steer the session as it now is (the table's reason), or null.</summary>
    private string? NoLongerTheirs(DbWrite write, string sessionId, string? deviceId, string sentBy) =>
        deviceId is null || authority.CheckSteer(write, sessionId, new Auth.Actor(deviceId, sentBy)) is not { Allowed: false } refused ? null
            : $"Held: {refused.Reason} Confirm it to send it on your own word, or remove it.";

    /// <summary>The agent has the message: it is the transcript's now.</summary>
    public void Sent(string id) => database.Write(write => write.Execute("DELETE FROM queued_messages WHERE id = $id", ("$id", id)));

    /// <summary>The agent did not take it: it waits again, first in line, and the queue is held.</summary>
    public void Unsent(string sessionId, string id) => database.Write(write =>
    {
        write.Execute("UPDATE queued_messages SET started_at = NULL WHERE id = $id", ("$id", id));
        Changed(write, sessionId, held: true);
    });

    /// <summary>Says again who holds the queue (a cancel held it; a message or a run let it go), when anything waits.</summary>
    public void Announce(string sessionId, bool held) => database.Write(write =>
    {
        if (write.Scalar<long>($"SELECT COUNT(*) FROM queued_messages WHERE {Waiting}", ("$s", sessionId)) > 0)
        {
            Changed(write, sessionId, held);
        }
    });

    private void Changed(DbWrite write, string sessionId, bool held) =>
        events.Append(write, sessionId, new QueueUpdatedEvent(
            write.Query($"SELECT {Columns} FROM queued_messages WHERE {Waiting} ORDER BY position", Map, ("$s", sessionId)), held));

    private static ApiProblem NotQueued(string id) => ApiProblem.NotFound(ErrorCodes.QueuedMessageNotFound,
        $"Message {id} is not in the queue: it has started, or it was removed.");

    private static QueuedMessage Map(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2),
        r.NullableString(3) is { } infos ? JsonSerializer.Deserialize(infos, WireJson.Default.IReadOnlyListAttachmentInfo) : null,
        r.Time(4), r.NullableString(5));
}
