using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Auth;
using PocketCoder.Data;

namespace PocketCoder.Network;

/// <summary>
/// Each credential PocketCoder puts into a sandboxed agent's request (docs/security.md, "Secrets") is in the ledger: one line per
/// credential, host and session while the server runs (<c>credential.used</c>: which credential, to which host), not one per
/// request, so the owner sees what went where without a line for every model call. Never the value, nor its placeholder. What
/// it remembers is a few words per session's credential: kept for the server's life rather than forgotten as a session stops,
/// so a session stopped and resumed is not ledgered again.
/// </summary>
public sealed class CredentialUses(Database database, Ledger.LedgerStore ledger)
{
    private readonly ConcurrentDictionary<(string Session, string Credential, string Host), bool> _ledgered = new();

    public void Used(string sessionId, HeldSecret secret, NetworkEndpoint host)
    {
        if (!_ledgered.TryAdd((sessionId, secret.Name, host.ToString()), true))
        {
            return;
        }

        database.Write(write => ledger.Append(write, Actor.System.Name, "credential.used", sessionId,
            new JsonObject { ["credential"] = secret.Name, ["host"] = host.ToString() }));
    }
}
