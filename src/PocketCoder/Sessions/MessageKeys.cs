using PocketCoder.Data;

namespace PocketCoder.Sessions;

/// <summary>
/// The keys phones give the messages they send (<see cref="SendMessageRequest.ClientId"/>): the first send with a key is
/// taken; the same key again (a retry after a lost answer, a message kept offline and sent when the connection came back,
/// from two tabs at once) is not. A session takes each message once.
/// </summary>
public sealed class MessageKeys(Database database, TimeProvider clock)
{
    /// <summary>How long a key is remembered: far longer than a phone keeps a message waiting for the connection.</summary>
    public static readonly TimeSpan Kept = TimeSpan.FromDays(7);

    /// <summary>True when the key is new for the session (and now taken); false when a message with it was taken already.</summary>
    public bool Claim(string sessionId, string key) => database.Write(write =>
    {
        var now = clock.GetUtcNow();
        write.Execute("DELETE FROM message_keys WHERE at < $cutoff", ("$cutoff", now - Kept));
        return write.Execute("INSERT OR IGNORE INTO message_keys (session_id, client_id, at) VALUES ($session, $key, $at)",
            ("$session", sessionId), ("$key", key), ("$at", now)) == 1;
    });

    /// <summary>The message with this key did not go (refused, or the agent could not take it): the same key sent again must go.</summary>
    public void Release(string sessionId, string key) => database.Write(write =>
        write.Execute("DELETE FROM message_keys WHERE session_id = $session AND client_id = $key", ("$session", sessionId), ("$key", key)));
}
