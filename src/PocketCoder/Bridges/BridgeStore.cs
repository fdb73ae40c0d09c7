using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Auth;
using PocketCoder.Data;

namespace PocketCoder.Bridges;

/// <summary>A chat user linked to PocketCoder: a device (revoking it unlinks them).</summary>
/// <param name="DeviceName">The device's name (e.g. "Telegram @ana"): what the ledger and every other device call them.</param>
public sealed record BridgePerson(string BridgeId, string Platform, string UserId, string DeviceId, string UserName, DateTimeOffset LinkedAt, string DeviceName)
{
    public Actor Actor => new(DeviceId, DeviceName);
}

/// <param name="Agent">The agent new sessions started from this chat use (null: the default).</param>
/// <param name="SessionId">The chat's current session: plain text goes to it while it lives.</param>
public sealed record BridgeChannel(string BridgeId, string ChatId, string ChatTitle, string ProjectId, string? Agent, string? SessionId,
    string BoundBy, DateTimeOffset BoundAt);

/// <summary>A chat where a linked person wrote to the bridge: one the phone may bind to a project.</summary>
public sealed record SeenChat(string BridgeId, string ChatId, string ChatTitle, bool IsDirect, string LastUserName, DateTimeOffset LastSeenAt);

/// <summary>An approval shown in a chat, and the nonce its buttons carry.</summary>
public sealed record ApprovalMessage(string BridgeId, string ChatId, string ApprovalId, string? MessageId, string Nonce, bool Settled);

/// <summary>What the bridges keep in the database: linked people, bound chats, approval messages, resume cursors.</summary>
public sealed class BridgeStore(Database database, Ledger.LedgerStore ledger, TimeProvider clock, AccessChanges? access = null)
{
    /// <summary>Handled delivery ids kept per bridge to recognise a platform's retries.</summary>
    private const int DeliveriesKept = 2000;

    /// <summary>Chats offered for binding, per bridge: the ones linked people wrote in most recently.</summary>
    private const int ChatsKept = 50;

    /// <summary>The linked person behind a platform user, or null (never linked, or their device was revoked).</summary>
    public BridgePerson? Person(string bridgeId, string userId) => database.Read(connection => connection.Query(
        """
        SELECT p.bridge_id, p.platform, p.user_id, p.device_id, p.user_name, p.linked_at, d.name FROM bridge_people p
        JOIN devices d ON d.id = p.device_id AND d.revoked_at IS NULL
        WHERE p.bridge_id = $bridge AND p.user_id = $user
        """, MapPerson, ("$bridge", bridgeId), ("$user", userId)).FirstOrDefault());

    /// <summary>Every link ever made (revoked ones too: <see cref="Device.RevokedAt"/> tells).</summary>
    public IReadOnlyList<BridgePerson> People() => database.Read(connection => connection.Query(
        "SELECT p.bridge_id, p.platform, p.user_id, p.device_id, p.user_name, p.linked_at, d.name FROM bridge_people p JOIN devices d ON d.id = p.device_id ORDER BY p.linked_at", MapPerson));

    /// <summary>
    /// Links a platform user to the device a pairing code just made. A later link replaces an earlier one: the person's
    /// previous device is revoked and the chats it bound move to the new one, so the person stays one device (revoking
    /// it unbinds all their chats) rather than leaving an older one behind that still holds chats.
    /// </summary>
    public BridgePerson Link(string bridgeId, string platform, string userId, string userName, Device device)
    {
        var deviceId = device.Id;
        var person = new BridgePerson(bridgeId, platform, userId, deviceId, userName, clock.GetUtcNow(), device.Name);
        var replaced = database.Write(write =>
        {
            string? revoked = null;
            var previous = write.Scalar<string>("SELECT device_id FROM bridge_people WHERE bridge_id = $bridge AND user_id = $user",
                ("$bridge", bridgeId), ("$user", userId));
            if (previous is not null && previous != deviceId)
            {
                write.Execute("UPDATE bridge_channels SET bound_by_device = $device WHERE bound_by_device = $previous", ("$device", deviceId), ("$previous", previous));
                StandingWork.Transfer(write, previous, deviceId);
                if (write.Execute("UPDATE devices SET revoked_at = $now WHERE id = $previous AND revoked_at IS NULL", ("$now", person.LinkedAt.ToDb()), ("$previous", previous)) == 1)
                {
                    ledger.Append(write, device.Name, "device.revoked", previous, new JsonObject { ["reason"] = "replaced by a new link of the same chat user" });
                    revoked = previous;
                }
            }

            write.Execute(
                """
                INSERT INTO bridge_people (bridge_id, platform, user_id, device_id, user_name, linked_at) VALUES ($bridge, $platform, $user, $device, $name, $now)
                ON CONFLICT (bridge_id, user_id) DO UPDATE SET platform = $platform, device_id = $device, user_name = $name, linked_at = $now
                """, ("$bridge", bridgeId), ("$platform", platform), ("$user", userId), ("$device", deviceId), ("$name", userName), ("$now", person.LinkedAt.ToDb()));
            return revoked;
        });
        if (replaced is not null)
        {
            // A revocation like any other: what the old device had open (streams, watch links it made) ends. Its standing
            // work moved to the new device above, so nothing waits for anyone.
            access?.Publish(new DevicesRevoked([replaced], HeldWork.None));
        }

        return person;
    }

    public BridgeChannel? Channel(string bridgeId, string chatId) => database.Read(connection => connection.Query(
        ChannelQuery("WHERE bridge_id = $bridge AND chat_id = $chat"), MapChannel, ("$bridge", bridgeId), ("$chat", chatId)).FirstOrDefault());

    public IReadOnlyList<BridgeChannel> Channels(string? bridgeId = null) => database.Read(connection => connection.Query(
        ChannelQuery("WHERE $bridge IS NULL OR bridge_id = $bridge") + " ORDER BY bound_at", MapChannel, ("$bridge", bridgeId)));

    private static string ChannelQuery(string where) =>
        $"SELECT bridge_id, chat_id, chat_title, project_id, agent, session_id, bound_by, bound_at FROM bridge_channels {where}";

    /// <summary>
    /// Binds the chat for <paramref name="actor"/>'s device, checked in the same transaction: a device revoked a moment
    /// before (whose revocation would never unbind this) or a project removed binds nothing.
    /// </summary>
    /// <returns>The channel, or null when the device is revoked or the project gone.</returns>
    public BridgeChannel? Bind(string bridgeId, string chatId, string chatTitle, string projectId, Actor actor)
    {
        var now = clock.GetUtcNow();
        var bound = database.Write(write =>
        {
            if (write.Scalar<string>("SELECT id FROM devices WHERE id = $device AND revoked_at IS NULL", ("$device", actor.Id)) is null
                || write.Scalar<string>("SELECT id FROM projects WHERE id = $project", ("$project", projectId)) is null)
            {
                return false;
            }

            write.Execute(
                """
                INSERT INTO bridge_channels (bridge_id, chat_id, chat_title, project_id, bound_by, bound_by_device, bound_at)
                VALUES ($bridge, $chat, $title, $project, $by, $device, $now)
                ON CONFLICT (bridge_id, chat_id) DO UPDATE SET chat_title = $title, project_id = $project, session_id = NULL, agent = NULL,
                  bound_by = $by, bound_by_device = $device, bound_at = $now
                """, ("$bridge", bridgeId), ("$chat", chatId), ("$title", chatTitle), ("$project", projectId), ("$by", actor.Name), ("$device", actor.Id),
                ("$now", now.ToDb()));
            ledger.Append(write, actor.Name, "bridge.bound", projectId, new JsonObject { ["bridge"] = bridgeId, ["chat"] = chatId, ["chatTitle"] = chatTitle });
            return true;
        });
        return bound ? Channel(bridgeId, chatId) : null;
    }

    /// <returns>Whether the chat was bound.</returns>
    public bool Unbind(string bridgeId, string chatId, Actor actor) => database.Write(write =>
    {
        var project = write.Scalar<string>("SELECT project_id FROM bridge_channels WHERE bridge_id = $bridge AND chat_id = $chat",
            ("$bridge", bridgeId), ("$chat", chatId));
        if (project is null)
        {
            return false;
        }

        write.Execute("DELETE FROM bridge_channels WHERE bridge_id = $bridge AND chat_id = $chat", ("$bridge", bridgeId), ("$chat", chatId));
        ledger.Append(write, actor.Name, "bridge.unbound", project, new JsonObject { ["bridge"] = bridgeId, ["chat"] = chatId });
        return true;
    });

    /// <summary>
    /// Notes that a linked person wrote in this chat (its title as it is now), so the phone can offer it for binding.
    /// Only the most recent <see cref="ChatsKept"/> chats are kept.
    /// </summary>
    public void Seen(string bridgeId, string chatId, string chatTitle, bool isDirect, string userId, string userName) => database.Write(write =>
    {
        write.Execute(
            """
            INSERT INTO bridge_chats (bridge_id, chat_id, chat_title, is_direct, last_user_id, last_user_name, last_seen_at)
            VALUES ($bridge, $chat, $title, $direct, $userId, $user, $now)
            ON CONFLICT (bridge_id, chat_id) DO UPDATE SET chat_title = $title, is_direct = $direct, last_user_id = $userId, last_user_name = $user,
              last_seen_at = $now
            """, ("$bridge", bridgeId), ("$chat", chatId), ("$title", chatTitle), ("$direct", isDirect ? 1 : 0), ("$userId", userId), ("$user", userName),
            ("$now", clock.GetUtcNow().ToDb()));
        write.Execute(
            """
            DELETE FROM bridge_chats WHERE bridge_id = $bridge AND rowid NOT IN
              (SELECT rowid FROM bridge_chats WHERE bridge_id = $bridge ORDER BY last_seen_at DESC, rowid DESC LIMIT $kept)
            """, ("$bridge", bridgeId), ("$kept", ChatsKept));
    });

    /// <summary>
    /// The chats linked people wrote in, most recent first: only while the one who wrote there last is still linked (a
    /// revoked person's chats are not offered).
    /// </summary>
    public IReadOnlyList<SeenChat> Chats(string? bridgeId = null) => database.Read(connection => connection.Query(
        """
        SELECT c.bridge_id, c.chat_id, c.chat_title, c.is_direct, c.last_user_name, c.last_seen_at FROM bridge_chats c
        JOIN bridge_people p ON p.bridge_id = c.bridge_id AND p.user_id = c.last_user_id
        JOIN devices d ON d.id = p.device_id AND d.revoked_at IS NULL
        WHERE $bridge IS NULL OR c.bridge_id = $bridge ORDER BY c.last_seen_at DESC, c.rowid DESC
        """, MapChat, ("$bridge", bridgeId)));

    public SeenChat? Chat(string bridgeId, string chatId) => Chats(bridgeId).FirstOrDefault(c => c.ChatId == chatId);

    public void SetSession(string bridgeId, string chatId, string? sessionId) => database.Write(write => write.Execute(
        "UPDATE bridge_channels SET session_id = $session WHERE bridge_id = $bridge AND chat_id = $chat",
        ("$session", sessionId), ("$bridge", bridgeId), ("$chat", chatId)));

    public void SetAgent(string bridgeId, string chatId, string agent) => database.Write(write => write.Execute(
        "UPDATE bridge_channels SET agent = $agent WHERE bridge_id = $bridge AND chat_id = $chat",
        ("$agent", agent), ("$bridge", bridgeId), ("$chat", chatId)));

    /// <summary>The approval's message in this chat, made (with a fresh nonce) the first time it is asked for.</summary>
    public ApprovalMessage ApprovalMessage(string bridgeId, string chatId, string approvalId) => database.Write(write =>
    {
        write.Execute(
            "INSERT OR IGNORE INTO bridge_approval_messages (bridge_id, chat_id, approval_id, nonce) VALUES ($bridge, $chat, $approval, $nonce)",
            ("$bridge", bridgeId), ("$chat", chatId), ("$approval", approvalId), ("$nonce", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))));
        return write.Query(ApprovalMessages("WHERE bridge_id = $bridge AND chat_id = $chat AND approval_id = $approval"), MapApprovalMessage,
            ("$bridge", bridgeId), ("$chat", chatId), ("$approval", approvalId))[0];
    });

    /// <summary>
    /// The approval message a pressed button belongs to: the chat, the nonce (random per chat and approval, seen only on
    /// that message's buttons) and the message must match. The message id may not be recorded yet for a press that comes
    /// within moments of the send.
    /// </summary>
    public ApprovalMessage? PressedApproval(string bridgeId, string chatId, string messageId, string nonce) => database.Read(connection => connection.Query(
        ApprovalMessages("WHERE bridge_id = $bridge AND chat_id = $chat AND nonce = $nonce AND (message_id IS NULL OR message_id = $message)"), MapApprovalMessage,
        ("$bridge", bridgeId), ("$chat", chatId), ("$message", messageId), ("$nonce", nonce)).FirstOrDefault());

    /// <summary>Approval messages not yet shown settled: after a restart each is sent or brought up to date.</summary>
    public IReadOnlyList<ApprovalMessage> OpenApprovalMessages(string bridgeId) => database.Read(connection => connection.Query(
        ApprovalMessages("WHERE bridge_id = $bridge AND settled = 0"), MapApprovalMessage, ("$bridge", bridgeId)));

    public void ApprovalMessageSent(ApprovalMessage message, string messageId) => database.Write(write => write.Execute(
        "UPDATE bridge_approval_messages SET message_id = $message WHERE bridge_id = $bridge AND chat_id = $chat AND approval_id = $approval",
        ("$message", messageId), ("$bridge", message.BridgeId), ("$chat", message.ChatId), ("$approval", message.ApprovalId)));

    public void ApprovalMessageSettled(ApprovalMessage message) => database.Write(write => write.Execute(
        "UPDATE bridge_approval_messages SET settled = 1 WHERE bridge_id = $bridge AND chat_id = $chat AND approval_id = $approval",
        ("$bridge", message.BridgeId), ("$chat", message.ChatId), ("$approval", message.ApprovalId)));

    private static string ApprovalMessages(string where) =>
        $"SELECT bridge_id, chat_id, approval_id, message_id, nonce, settled FROM bridge_approval_messages {where}";

    public string? Cursor(string bridgeId) => database.Read(connection =>
        connection.Scalar<string>("SELECT cursor FROM bridge_state WHERE bridge_id = $bridge", ("$bridge", bridgeId)));

    public long Ignored(string bridgeId) => database.Read(connection =>
        connection.Scalar<long?>("SELECT ignored FROM bridge_state WHERE bridge_id = $bridge", ("$bridge", bridgeId)) ?? 0);

    /// <summary>
    /// Records a delivery as taken, before it is acted on: a crash in between loses that one message (its sender sees no
    /// answer and sends again) rather than acting on it twice.
    /// </summary>
    /// <returns>False when it was taken before (a platform's retry): it must not be acted on again.</returns>
    public bool Take(string bridgeId, string deliveryId) => database.Write(write =>
    {
        var added = write.Execute("INSERT OR IGNORE INTO bridge_deliveries (bridge_id, delivery_id, received_at) VALUES ($bridge, $delivery, $now)",
            ("$bridge", bridgeId), ("$delivery", deliveryId), ("$now", clock.GetUtcNow().ToDb())) == 1;
        if (added)
        {
            write.Execute(
                """
                DELETE FROM bridge_deliveries WHERE bridge_id = $bridge AND rowid NOT IN
                  (SELECT rowid FROM bridge_deliveries WHERE bridge_id = $bridge ORDER BY received_at DESC, rowid DESC LIMIT $kept)
                """, ("$bridge", bridgeId), ("$kept", DeliveriesKept));
        }

        return added;
    });

    public void SetCursor(string bridgeId, string? cursor) => database.Write(write => write.Execute(
        "INSERT INTO bridge_state (bridge_id, cursor) VALUES ($bridge, $cursor) ON CONFLICT (bridge_id) DO UPDATE SET cursor = $cursor",
        ("$bridge", bridgeId), ("$cursor", cursor)));

    /// <summary>Counts a message or press from someone not linked (it was ignored).</summary>
    public void CountIgnored(string bridgeId) => database.Write(write => write.Execute(
        "INSERT INTO bridge_state (bridge_id, ignored) VALUES ($bridge, 1) ON CONFLICT (bridge_id) DO UPDATE SET ignored = ignored + 1",
        ("$bridge", bridgeId)));

    private static BridgePerson MapPerson(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.Time(5), r.GetString(6));

    private static BridgeChannel MapChannel(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.NullableString(4), r.NullableString(5), r.GetString(6), r.Time(7));

    private static SeenChat MapChat(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3) == 1, r.GetString(4), r.Time(5));

    private static ApprovalMessage MapApprovalMessage(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.GetString(4), r.GetInt64(5) == 1);
}
