using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Teams;

namespace PocketCoder.Auth;

/// <param name="PersonId">Whose device it is: their role is its role (<see cref="People"/>).</param>
public sealed record Device(string Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastSeenAt, DateTimeOffset? RevokedAt, string? PersonId);

/// <summary>Paired devices, pairing codes, and the ledger entries pairing and revocation leave.</summary>
/// <param name="events">Where a revocation tells the phones of the votes it withdrew; null only where nothing is revoked (the CLI's own token).</param>
public sealed class Devices(Database database, Ledger.LedgerStore ledger, TimeProvider clock, Realtime.EventLog? events = null,
    AccessChanges? access = null)
{
    public static readonly TimeSpan PairingCodeLifetime = TimeSpan.FromMinutes(10);
    public const string PairingKeyFileName = "pairing.key";

    private readonly Lazy<byte[]> _pairingKey = new(() => Secrets.LoadOrCreateKey(Path.Combine(database.DataDirectory, PairingKeyFileName)));

    /// <summary>Creates a one-time code. Works from the CLI while the server runs: both use the same database.</summary>
    /// <param name="personId">Whose device it pairs (an invite); null: the machine's first owner's (<c>pocketcoder pair</c>).</param>
    /// <param name="madeBy">The device that asked for it (null: the owner's terminal): revoking that device voids it while unused.</param>
    /// <exception cref="ApiProblem">429 <c>RATE_LIMITED</c>: the person already has <see cref="MostOpenInvites"/> codes unused.</exception>
    public (string Code, DateTimeOffset ExpiresAt) CreatePairingCode(string? personId = null, string? madeBy = null)
    {
        var code = Secrets.NewPairingCode();
        var now = clock.GetUtcNow();
        var expires = now + PairingCodeLifetime;
        database.Write(write =>
        {
            Reach.Connected.Lockdown.EnsureNotLocked(write);
            // An invite is a device to be: a few at a time are a person's next phones, more are a leak (or a script) in the making.
            if (personId is not null && write.Scalar<long>(
                    "SELECT COUNT(*) FROM pairing_codes WHERE person_id = $person AND used_at IS NULL AND expires_at > $now", ("$person", personId), ("$now", now.ToDb()))
                >= MostOpenInvites)
            {
                throw new ApiProblem(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited,
                    $"{MostOpenInvites} pairing codes for this person wait unused: use one, or wait until they expire ({PairingCodeLifetime.TotalMinutes:0} minutes).")
                {
                    RetryAfter = PairingCodeLifetime,
                };
            }

            write.Execute(
                "INSERT INTO pairing_codes (code_hash, created_at, expires_at, person_id, created_by_device) VALUES ($hash, $now, $expires, $person, $by)",
                ("$hash", Secrets.HashPairingCode(_pairingKey.Value, code)), ("$now", now.ToDb()), ("$expires", expires.ToDb()), ("$person", personId),
                ("$by", madeBy));
        });
        return (code, expires);
    }

    /// <summary>Unused invites one person may have at a time.</summary>
    public const int MostOpenInvites = 3;

    /// <summary>Trades a valid, unused code for a new device and its token. Null when the code is wrong, used or expired.</summary>
    /// <param name="appOrigin">The other machine's app that paired (<see cref="CrossOrigin.Normalize"/>d): that origin may then call this API (CORS) while the device lives.</param>
    public (Device Device, string Token)? Redeem(string code, string deviceName, string? appOrigin = null)
    {
        var codeHash = Secrets.HashPairingCode(_pairingKey.Value, code);
        var now = clock.GetUtcNow();
        return database.Write(write =>
        {
            Reach.Connected.Lockdown.EnsureNotLocked(write);
            // Marking the code used in the same statement that checks it: two racing redeems cannot both win.
            var claimed = write.Execute(
                "UPDATE pairing_codes SET used_at = $now WHERE code_hash = $hash AND used_at IS NULL AND expires_at > $now",
                ("$hash", codeHash), ("$now", now.ToDb()));
            if (claimed != 1)
            {
                return ((Device, string)?)null;
            }

            // An invite's person must still be there: one revoked since the code was made gets no new device.
            var invited = write.Scalar<string>("SELECT person_id FROM pairing_codes WHERE code_hash = $hash", ("$hash", codeHash));
            if (invited is not null && write.Scalar<string>("SELECT id FROM people WHERE id = $id AND revoked_at IS NULL", ("$id", invited)) is null)
            {
                return null;
            }

            var (device, token) = Insert(write, deviceName, invited ?? People.FirstOwner(write, ledger, now), now);
            write.Execute("UPDATE pairing_codes SET device_id = $id WHERE code_hash = $hash", ("$id", device.Id), ("$hash", codeHash));
            write.Execute("UPDATE devices SET app_origin = $origin WHERE id = $id", ("$origin", appOrigin), ("$id", device.Id));
            var entry = new JsonObject { ["deviceName"] = device.Name, ["personId"] = device.PersonId };
            if (appOrigin is not null)
            {
                entry["appOrigin"] = appOrigin;
            }

            ledger.Append(write, device.Name, "device.paired", device.Id, entry);
            return (device, token);
        });
    }

    /// <summary>
    /// Spends a code without pairing anything: it was seen where others could read it (said in a group chat), so it must
    /// not link whoever is quickest to send it privately.
    /// </summary>
    /// <returns>Whether a valid, unused code was spent.</returns>
    public bool Burn(string code, string actor)
    {
        var codeHash = Secrets.HashPairingCode(_pairingKey.Value, code);
        var now = clock.GetUtcNow();
        return database.Write(write =>
        {
            var burned = write.Execute("UPDATE pairing_codes SET used_at = $now WHERE code_hash = $hash AND used_at IS NULL AND expires_at > $now",
                ("$hash", codeHash), ("$now", now.ToDb())) == 1;
            if (burned)
            {
                ledger.Append(write, actor, "pairing.burned", "pairing-code", new JsonObject { ["why"] = "said where others could read it" });
            }

            return burned;
        });
    }

    /// <summary>Whether the origin is the app origin of a live device (<see cref="CrossOrigin"/>): read each time, so a revocation bites at once.</summary>
    public bool IsAppOrigin(string origin) => database.Read(connection =>
        connection.Scalar<long>("SELECT COUNT(*) FROM devices WHERE app_origin = $origin AND revoked_at IS NULL", ("$origin", origin))) > 0;

    /// <summary>The app origin each device was paired from, for the devices that were paired from another machine's app.</summary>
    public IReadOnlyDictionary<string, string> AppOrigins() => database.Read(connection => connection.Query(
        "SELECT id, app_origin FROM devices WHERE app_origin IS NOT NULL", r => (Id: r.GetString(0), Origin: r.GetString(1))))
        .ToDictionary(d => d.Id, d => d.Origin, StringComparer.Ordinal);

    /// <summary>Whether this token was a device's that has since been revoked (so the refusal can say so, not "pair a device").</summary>
    public bool WasRevoked(string token) => database.Read(connection =>
        connection.Scalar<long>("SELECT COUNT(*) FROM devices WHERE token_hash = $hash AND revoked_at IS NOT NULL", ("$hash", Secrets.Hash(token)))) > 0;

    /// <summary>
    /// A device for the owner's own terminal (the <c>approvals</c>/<c>approve</c>/<c>deny</c> verbs). Whoever can
    /// read the data folder could already do anything, so a token kept there adds no exposure.
    /// </summary>
    public (Device Device, string Token) CreateLocalDevice(string name) => database.Write(write =>
    {
        var now = clock.GetUtcNow();
        var (device, token) = Insert(write, name, People.FirstOwner(write, ledger, now), now);
        ledger.Append(write, device.Name, "device.paired", device.Id, new JsonObject { ["deviceName"] = device.Name, ["via"] = "terminal", ["personId"] = device.PersonId });
        return (device, token);
    });

    /// <summary>A new device of the person and its token; only the token's hash is stored.</summary>
    private static (Device Device, string Token) Insert(DbWrite write, string name, string personId, DateTimeOffset now)
    {
        var token = Secrets.NewToken();
        var device = new Device(Guid.NewGuid().ToString("N"), name, now, null, null, personId);
        write.Execute("INSERT INTO devices (id, name, token_hash, created_at, person_id) VALUES ($id, $name, $hash, $now, $person)",
            ("$id", device.Id), ("$name", device.Name), ("$hash", Secrets.Hash(token)), ("$now", now.ToDb()), ("$person", personId));
        return (device, token);
    }

    /// <summary>The active device holding this token, or null. Revoked devices never authenticate.</summary>
    public Device? Authenticate(string token)
    {
        var hash = Secrets.Hash(token);
        return database.Read(connection => connection.Query($"SELECT {Columns} FROM devices d WHERE {HoldsToken}", Map, ("$hash", hash)).FirstOrDefault());
    }

    /// <summary>Records that a device was seen, at most once a minute per device to keep reads read-only.</summary>
    public void Touch(Device device)
    {
        var now = clock.GetUtcNow();
        if (device.LastSeenAt is { } seen && now - seen < TimeSpan.FromMinutes(1))
        {
            return;
        }

        database.Write(write => write.Execute("UPDATE devices SET last_seen_at = $now WHERE id = $id", ("$now", now.ToDb()), ("$id", device.Id)));
    }

    /// <summary>
    /// Whether any device paired with a code still holds its token: the owner's terminal devices (made by the CLI's own verbs,
    /// <see cref="CreateLocalDevice"/>) are no phone, so a machine with only those has none yet.
    /// </summary>
    public bool AnyPaired() => database.Read(connection => connection.Scalar<long>(
        "SELECT COUNT(*) FROM devices d WHERE d.revoked_at IS NULL AND EXISTS (SELECT 1 FROM pairing_codes p WHERE p.device_id = d.id)")) > 0;

    public IReadOnlyList<Device> List() => database.Read(connection => connection.Query(
        "SELECT id, name, created_at, last_seen_at, revoked_at, person_id FROM devices ORDER BY created_at", Map));

    /// <summary>
    /// Revokes the device and, in the same transaction, everything that would go on in its name: its notification
    /// channels, the chats its person bound, and its standing work (<see cref="StandingWork"/>), which is held.
    /// </summary>
    /// <returns>Where standing work was held, for the phones to be told.</returns>
    public HeldWork Revoke(string deviceId, string actor)
    {
        var held = database.Write(write => Revoke(write, deviceId, actor));
        access?.Publish(new DevicesRevoked([deviceId], held));
        return held;
    }

    /// <inheritdoc cref="Revoke(string, string)"/>
    public HeldWork Revoke(DbWrite write, string deviceId, string actor)
    {
        var now = clock.GetUtcNow();
        var rows = write.Query("SELECT revoked_at FROM devices WHERE id = $id", r => r.NullableString(0), ("$id", deviceId));
        if (rows.Count == 0)
        {
            throw ApiProblem.NotFound(ErrorCodes.DeviceNotFound, $"No device with id '{deviceId}'.");
        }

        if (rows[0] is not null)
        {
            return HeldWork.None; // Already revoked: revoking again changes nothing.
        }

        write.Execute("UPDATE devices SET revoked_at = $now WHERE id = $id", ("$now", now.ToDb()), ("$id", deviceId));
        // A revoked phone must not go on receiving what the agents ask (a push carries the command's summary).
        write.Execute("DELETE FROM notification_channels WHERE device_id = $id", ("$id", deviceId));
        // Nor another machine reach it through this one: its push relays go with it.
        write.Execute("DELETE FROM push_relays WHERE device_id = $id", ("$id", deviceId));
        // Nor pair itself again: a code it made and that is still unused would give whoever holds it a new device, same person.
        var voided = write.Execute("UPDATE pairing_codes SET used_at = $now WHERE created_by_device = $id AND used_at IS NULL",
            ("$now", now.ToDb()), ("$id", deviceId));
        ledger.Append(write, actor, "device.revoked", deviceId, voided == 0 ? null : new JsonObject { ["pairingCodesVoided"] = voided });
        // Nor a chat its person bound (their direct chat, a group): it would go on showing approvals and turns to a
        // chat no one still linked answers for. Another linked person binds it again if it should steer.
        // Their own direct chats too, whoever bound them (the phone can): no one else linked reads there.
        var bound = write.Query(
            """
            SELECT bridge_id, chat_id, project_id FROM bridge_channels WHERE bound_by_device = $id
            UNION
            SELECT b.bridge_id, b.chat_id, b.project_id FROM bridge_channels b
            JOIN bridge_chats c ON c.bridge_id = b.bridge_id AND c.chat_id = b.chat_id AND c.is_direct = 1
            JOIN bridge_people p ON p.bridge_id = c.bridge_id AND p.user_id = c.last_user_id AND p.device_id = $id
            """,
            r => (Bridge: r.GetString(0), Chat: r.GetString(1), Project: r.GetString(2)), ("$id", deviceId));
        foreach (var (bridge, chat, project) in bound)
        {
            write.Execute("DELETE FROM bridge_channels WHERE bridge_id = $bridge AND chat_id = $chat", ("$bridge", bridge), ("$chat", chat));
            ledger.Append(write, actor, "bridge.unbound", project,
                new JsonObject { ["bridge"] = bridge, ["chat"] = chat, ["reason"] = "the device that bound it, or whose direct chat it is, was revoked" });
        }

        // Nor an allow it gave toward a call that needs two people: counted as of now, it no longer counts.
        if (events is not null)
        {
            Approvals.ApprovalVotes.WithdrawUncounted(write, ledger, events, actor, personId: null, deviceId);
        }

        // Nor what it set going to start later (a trusted schedule would go on running commands unasked).
        return StandingWork.HoldAll(write, ledger, deviceId, actor);
    }

    /// <summary>What <see cref="Map"/> reads, for a query of a device joined with more (<c>d</c> is the devices table).</summary>
    internal const string Columns = "d.id, d.name, d.created_at, d.last_seen_at, d.revoked_at, d.person_id";

    /// <summary>The one rule a token authenticates by (<c>d</c> is the devices table, <c>$hash</c> the token's hash).</summary>
    internal const string HoldsToken = "d.token_hash = $hash AND d.revoked_at IS NULL";

    internal static Device Map(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.Time(2), r.NullableTime(3), r.NullableTime(4), r.NullableString(5));
}
