using System.CommandLine;
using System.Globalization;
using PocketCoder.Reach;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder status</c>: is the server running, where, for which phones, and what is going on. Exit 0 when it runs,
/// 1 when it does not (so scripts and service checks can use it).
/// </summary>
internal sealed class StatusCommand() : ServerVerb("status",
    "Is the server running, where phones reach it, paired devices, sessions and what waits (exit 1 when not running).")
{
    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        var data = DataDirectory(parsed);
        using var http = Connect(parsed);
        if (await ServerClient.GetAsync(http, "/api/health", WireJson.Default.HealthResponse, error) is not { } health)
        {
            await output.WriteLineAsync($"Not running (looked at {http.BaseAddress}; data {data}).");
            return 1;
        }

        var devices = await ServerClient.GetAsync(http, "/api/devices", WireJson.Default.IEnumerableDeviceResponse, error);
        var sessions = await ServerClient.GetAsync(http, "/api/sessions", WireJson.Default.IEnumerableSessionResponse, error);
        var approvals = await ServerClient.GetAsync(http, "/api/approvals?status=pending", WireJson.Default.IEnumerableApprovalResponse, error);
        var resources = await ServerClient.GetAsync(http, "/api/resources", WireJson.Default.ResourcesResponse, error);
        if (devices is null || sessions is null || approvals is null || resources is null)
        {
            return 1;
        }

        var recorded = ServerAddress.Read(data);
        var phones = devices.Where(d => d.RevokedAt is null).ToList();
        var byStatus = sessions.Where(s => s.ArchivedAt is null).GroupBy(s => s.Status).Select(g => $"{g.Count()} {g.Key}").ToList();
        var agents = health.Agents.Select(a => a.Available ? $"{a.Id} {a.Version}".Trim() : $"{a.Id} (missing)").ToList();
        var waiting = approvals.Count();
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"""
            PocketCoder {health.Version} is running at {http.BaseAddress}
              phones open:  {recorded?.PublicUrl ?? http.BaseAddress?.ToString()}
              data:         {data}
              devices:      {phones.Count} paired ({string.Join(", ", phones.Select(d => d.Name))})
              sessions:     {(byStatus.Count == 0 ? "none" : string.Join(", ", byStatus))}
              waiting:      {(waiting == 0 ? "nothing waits for you" : $"{waiting} approval{(waiting == 1 ? "" : "s")} ({SelfCommand.For("approvals")})")}
              agents:       {string.Join(", ", agents)}
              running:      {resources.Running} of {resources.Limit} agents at once ({resources.LimitSource}){(resources.Queued.Count == 0 ? "" : $", {resources.Queued.Count} in line")}
              memory:       agents {MiB(resources.AgentsMemoryBytes)}, server {MiB(resources.ServerMemoryBytes)}, machine {MiB(resources.MachineMemoryBytes)} ({MiB(resources.MachineAvailableBytes)} available)
              sandbox:      {(health.Sandbox == "unavailable"
                  ? "UNAVAILABLE: sessions of sandboxed projects do not start (see the warning)"
                  : "bubblewrap: agents run sandboxed unless a project is set to none, their network through PocketCoder's proxy")}
            """));
        if (await ServerClient.GetAsync(http, "/api/connections", WireJson.Default.ConnectionsResponse, error) is { } reach)
        {
            await WriteReachAsync(output, reach);
        }

        foreach (var session in resources.Sessions)
        {
            await output.WriteLineAsync($"  session:      {session.SessionId} {session.Agent} {MiB(session.MemoryBytes)}");
        }

        foreach (var warning in health.Warnings)
        {
            await output.WriteLineAsync($"  warning:      {warning}");
        }

        return 0;
    }

    /// <summary>Who reaches the machine now, one line each, and whether it is locked down (docs/security.md, "Reach you can see and cut").</summary>
    private static async Task WriteReachAsync(TextWriter output, Reach.Connected.ConnectionsResponse reach)
    {
        if (reach.LockedDown is { } locked)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  LOCKED DOWN:  since {locked.LockedAt:yyyy-MM-dd HH:mm} UTC by {locked.LockedBy}; nothing pairs until `{SelfCommand.For("lockdown --lift")}` here"));
        }

        await output.WriteLineAsync($"  connected:    {(reach.Connected.Count == 0 ? "nobody now" : $"{reach.Connected.Count} now")}");
        foreach (var connected in reach.Connected)
        {
            var who = connected.PersonName is { } person ? $"{person}'s {connected.DeviceName}" : connected.DeviceName;
            // Behind a proxy on this machine every remote phone comes from loopback: said, so that it does not look local.
            var via = connected.Via == "direct" && connected.From is { } address && System.Net.IPAddress.TryParse(address, out var ip)
                && System.Net.IPAddress.IsLoopback(ip) ? "this machine (or a proxy on it)" : connected.Via;
            var streams = connected.OpenStreams == 0 ? "" : $", {connected.OpenStreams} stream{(connected.OpenStreams == 1 ? "" : "s")} open";
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"                {who} via {via}{(connected.From is { } from ? $" from {from}" : "")}, since {connected.Since:yyyy-MM-dd HH:mm} UTC{streams}"));
        }

        if (reach.Connected.Count > 0)
        {
            await output.WriteLineAsync($"                (cut them all at once: `{SelfCommand.For("lockdown")}`)");
        }
    }

    private static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0} MiB");
}
