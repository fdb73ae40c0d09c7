using Microsoft.AspNetCore.Connections.Features;
using PocketCoder.Auth;
using PocketCoder.Bridges;
using PocketCoder.Teams;

namespace PocketCoder.Reach.Connected;

/// <summary>A device (or a watch link's opening, or a chat identity) that reaches this machine now, one row per way and address.</summary>
/// <param name="Via"><c>direct</c>, <c>hub</c> (a phone through the hub), <c>watch</c> (a watch link's page) or <c>chat:PLATFORM</c>
/// (a person linked on a running chat bridge).</param>
/// <param name="From">The address it comes from (as the hub saw it, for a phone through the hub); null for a chat identity.</param>
/// <param name="Since">Its oldest open request (a chat identity: when it was linked).</param>
public sealed record ConnectedDeviceResponse(string DeviceId, string DeviceName, string? PersonName, string Via, string? From, DateTimeOffset Since,
    int OpenStreams, int OpenRequests);

/// <summary>Who reaches the machine now, and whether it is locked down.</summary>
public sealed record ConnectionsResponse(LockdownState? LockedDown, IReadOnlyList<ConnectedDeviceResponse> Connected);

/// <summary>
/// Who is connected now (#68, "Reach you can see and cut"): each device with a request open (the app holds an event stream
/// while it is open), by how it came, and each person linked on a running chat bridge. What <c>pocketcoder status</c>, and the
/// People screen show an owner.
/// </summary>
public sealed class ConnectedNow(DeviceConnections connections, Devices devices, People people, BridgeStore bridgeStore, BridgeHost bridges, Lockdown lockdown)
{
    /// <summary>How a request came: through the hub's transport, or straight to one of the server's own listeners.</summary>
    public static string ViaOf(HttpContext context) =>
        context.Features.Get<IConnectionEndPointFeature>()?.LocalEndPoint is Hub.HubEndPoint ? "hub" : "direct";

    public ConnectionsResponse List()
    {
        var known = devices.List().ToDictionary(d => d.Id, StringComparer.Ordinal);
        var names = people.List().ToDictionary(p => p.Id, p => p.Name, StringComparer.Ordinal);
        string? PersonOf(string deviceId) => known.TryGetValue(deviceId, out var device) && device.PersonId is { } person
            && names.TryGetValue(person, out var name) ? name : null;

        // A row per device and per way and address it comes from: a copied token used from a second address shows as a second row.
        var open = connections.Now().GroupBy(r => (r.DeviceId, r.Via, r.From)).Select(requests =>
        {
            var id = requests.Key.DeviceId;
            var watch = id.StartsWith("watch:", StringComparison.Ordinal);
            return new ConnectedDeviceResponse(id, watch ? "watch link" : known.TryGetValue(id, out var device) ? device.Name : id,
                PersonOf(id), watch ? "watch" : requests.Key.Via, requests.Key.From, requests.Min(r => r.Since), requests.Count(r => r.IsStream),
                requests.Count());
        });
        var running = bridges.Bridges.Select(b => b.Definition.Id).ToHashSet(StringComparer.Ordinal);
        var chats = bridgeStore.People()
            .Where(p => running.Contains(p.BridgeId) && known.TryGetValue(p.DeviceId, out var device) && device.RevokedAt is null)
            .Select(p => new ConnectedDeviceResponse(p.DeviceId, p.DeviceName, PersonOf(p.DeviceId), $"chat:{p.Platform}", null, p.LinkedAt, 0, 0));
        return new ConnectionsResponse(lockdown.State(), [.. open.Concat(chats).OrderBy(c => c.Since)]);
    }
}
