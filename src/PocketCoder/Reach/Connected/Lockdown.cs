using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Reach.Connected;

/// <summary>When an owner locked the machine down, and who.</summary>
public sealed record LockdownState(DateTimeOffset LockedAt, string LockedBy);

/// <summary>What one lockdown cut.</summary>
public sealed record LockdownResult(LockdownState State, IReadOnlyList<string> DevicesRevoked, int WatchLinksEnded, int PairingCodesVoided,
    ShellsEnded Shells);

/// <summary>
/// One act that drops every remote way in at once (#68, docs/security.md "Reach you can see and cut"): every terminal and
/// running command ends, every device but the one asking is revoked (phones direct or through the hub, chat identities, other terminals) with all it set going
/// (<see cref="Devices.Revoke(DbWrite, string, string)"/>), every watch link ends, every unused pairing code is voided, every
/// open request and stream is cut, and no pairing is made or redeemed until the machine's own terminal lifts the lock
/// (<see cref="Lift"/>, from the data folder; no route lifts it, so no remote request can).
/// </summary>
public sealed class Lockdown(Database database, Ledger.LedgerStore ledger, Devices devices, Watch.WatchLinks watchLinks, DeviceConnections connections,
    AccessChanges access, LockdownShells shells, TimeProvider clock)
{
    public LockdownState? State() => database.Read(connection => connection.Query(
        "SELECT locked_at, locked_by FROM lockdown WHERE id = 1", r => new LockdownState(r.Time(0), r.GetString(1))).FirstOrDefault());

    /// <summary>Locks the machine down on <paramref name="actor"/>'s word, keeping only their device (the one asking).</summary>
    public async Task<LockdownResult> EngageAsync(Actor actor, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        // The shells first: one a phone opened could otherwise read the data folder while the rest is cut.
        var ended = await shells.EndAllAsync(actor, cancellationToken);
        // Then the links, in the owner's name: revoking their makers' devices would end them too, but as the maker's loss.
        var links = watchLinks.RevokeAll(actor);
        var (revoked, held, voided) = database.Write(write =>
        {
            write.Execute(
                "INSERT INTO lockdown (id, locked_at, locked_by, locked_by_device) VALUES (1, $at, $by, $device) ON CONFLICT (id) DO NOTHING",
                ("$at", now.ToDb()), ("$by", actor.Name), ("$device", actor.Id));
            var others = write.Query("SELECT id FROM devices WHERE revoked_at IS NULL AND id != $kept", r => r.GetString(0), ("$kept", actor.Id));
            var held = others.Select(device => devices.Revoke(write, device, actor.Name)).ToList();
            var voided = write.Execute("UPDATE pairing_codes SET used_at = $now WHERE used_at IS NULL", ("$now", now.ToDb()));
            ledger.Append(write, actor.Name, "reach.lockdown", "machine", new JsonObject
            {
                ["keptDevice"] = actor.Id, ["devicesRevoked"] = others.Count, ["watchLinksEnded"] = links, ["pairingCodesVoided"] = voided,
                ["terminalsEnded"] = ended.Terminals, ["commandsStopped"] = ended.Commands,
            });
            return (others, new HeldWork([.. held.SelectMany(h => h.Projects).Distinct()], [.. held.SelectMany(h => h.Sessions).Distinct()]), voided);
        });
        access.Publish(new DevicesRevoked(revoked, held));
        // Whatever is still open that no revocation named (a request between its authentication and this) goes too.
        connections.RevokeAllBut(actor.Id);
        return new LockdownResult(State()!, revoked, links, voided, ended);
    }

    /// <summary>
    /// The lockdown where no server runs (<c>pocketcoder lockdown</c> with nothing answering): written to the data folder itself,
    /// so the next <c>serve</c> starts locked. Every device is revoked (none is asking: the terminal mints itself a new one when
    /// next used), every watch link ends, every pairing code is voided; there is no stream or command to cut.
    /// </summary>
    /// <returns>What was cut: devices, watch links, pairing codes.</returns>
    public static (int Devices, int WatchLinks, int PairingCodes) EngageOffline(Database database, Ledger.LedgerStore ledger, string actor, TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        var devices = new Devices(database, ledger, clock);
        return database.Write(write =>
        {
            write.Execute("INSERT INTO lockdown (id, locked_at, locked_by, locked_by_device) VALUES (1, $at, $by, NULL) ON CONFLICT (id) DO NOTHING",
                ("$at", now.ToDb()), ("$by", actor));
            var revoked = write.Query("SELECT id FROM devices WHERE revoked_at IS NULL", r => r.GetString(0));
            foreach (var device in revoked)
            {
                devices.Revoke(write, device, actor);
            }

            var links = write.Execute("UPDATE watch_links SET revoked_at = $at, revoked_by = $by WHERE revoked_at IS NULL AND expires_at > $at",
                ("$at", now.ToDb()), ("$by", actor));
            var voided = write.Execute("UPDATE pairing_codes SET used_at = $now WHERE used_at IS NULL", ("$now", now.ToDb()));
            ledger.Append(write, actor, "reach.lockdown", "machine", new JsonObject
            {
                ["offline"] = true, ["devicesRevoked"] = revoked.Count, ["watchLinksEnded"] = links, ["pairingCodesVoided"] = voided,
            });
            return (revoked.Count, links, voided);
        });
    }

    /// <summary>Refuses pairing while locked down (inside the pairing's own write, so a lockdown and a redeem cannot cross).</summary>
    public static void EnsureNotLocked(DbWrite write)
    {
        if (write.Scalar<string>("SELECT locked_by FROM lockdown WHERE id = 1") is not null)
        {
            throw Refusal();
        }
    }

    /// <summary>Refuses, before anything is written, what only leads to a pairing (an invite's new person).</summary>
    public void EnsureNotLocked()
    {
        if (State() is not null)
        {
            throw Refusal();
        }
    }

    // Said to anyone (pairing is anonymous): that it is locked, not by whom (status and the People screen tell owners).
    private static ApiProblem Refusal() => new(StatusCodes.Status423Locked, ErrorCodes.LockedDown,
        "This machine is locked down: no device pairs until its owner lifts that on the machine itself (pocketcoder lockdown --lift).");

    /// <summary>Lifts the lock: the machine's own terminal, which can read its data folder, does it there (no route does).</summary>
    /// <returns>Whether it was locked.</returns>
    public static bool Lift(Database database, Ledger.LedgerStore ledger, string actor) => database.Write(write =>
    {
        var lifted = write.Execute("DELETE FROM lockdown WHERE id = 1") == 1;
        if (lifted)
        {
            ledger.Append(write, actor, "reach.lockdown_lifted", "machine");
        }

        return lifted;
    });
}
