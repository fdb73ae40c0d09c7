using System.Globalization;
using System.Text.Json;
using PocketCoder.Reach;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder status</c>: is the server running, where, for which phones, and what is going on. Exit 0 when it runs,
/// 1 when it does not (so scripts and service checks can use it).
/// </summary>
public static class StatusCommand
{
    public static async Task<int> RunAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        var data = CommandLine.DataDirectory(arguments);
        using var http = ServerClient.Create(arguments);
        var health = await ServerClient.GetJsonAsync(http, "/api/health", error);
        if (health is null)
        {
            await output.WriteLineAsync($"Not running (looked at {http.BaseAddress}; data {data}).");
            return 1;
        }

        var devices = await ServerClient.GetJsonAsync(http, "/api/devices", error);
        var sessions = await ServerClient.GetJsonAsync(http, "/api/sessions", error);
        var approvals = await ServerClient.GetJsonAsync(http, "/api/approvals?status=pending", error);
        if (devices is null || sessions is null || approvals is null)
        {
            return 1;
        }

        var h = health.Value;
        var recorded = ServerAddress.Read(data);
        var phones = devices.Value.EnumerateArray().Where(d => d.GetProperty("revokedAt").ValueKind == JsonValueKind.Null).ToList();
        var byStatus = sessions.Value.EnumerateArray().Where(s => s.GetProperty("archivedAt").ValueKind == JsonValueKind.Null)
            .GroupBy(s => s.GetProperty("status").GetString()).Select(g => $"{g.Count()} {g.Key}").ToList();
        var agents = h.GetProperty("agents").EnumerateArray()
            .Select(a => a.GetProperty("available").GetBoolean() ? $"{a.GetProperty("id").GetString()} {a.GetProperty("version").GetString()}".Trim()
                : $"{a.GetProperty("id").GetString()} (missing)").ToList();
        var waiting = approvals.Value.GetArrayLength();
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"""
            PocketCoder {h.GetProperty("version").GetString()} is running at {http.BaseAddress}
              phones open:  {recorded?.PublicUrl ?? http.BaseAddress?.ToString()}
              data:         {data}
              devices:      {phones.Count} paired ({string.Join(", ", phones.Select(d => d.GetProperty("name").GetString()))})
              sessions:     {(byStatus.Count == 0 ? "none" : string.Join(", ", byStatus))}
              waiting:      {(waiting == 0 ? "nothing waits for you" : $"{waiting} approval{(waiting == 1 ? "" : "s")} (pocketcoder approvals)")}
              agents:       {string.Join(", ", agents)}
              sandbox:      {(h.TryGetProperty("sandbox", out var sandbox) && sandbox.GetString() == "unavailable"
                  ? "UNAVAILABLE: sessions of sandboxed projects do not start (see the warning)" : "bubblewrap: agents run sandboxed unless a project is set to none")}
            """));
        foreach (var warning in h.GetProperty("warnings").EnumerateArray())
        {
            await output.WriteLineAsync($"  warning:      {warning.GetString()}");
        }

        return 0;
    }
}
