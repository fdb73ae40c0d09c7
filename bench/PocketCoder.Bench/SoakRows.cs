using System.Globalization;
using System.Text.Json;

namespace PocketCoder.Bench;

/// <summary>
/// The soak's rows (bench/run.sh runs tests/PocketCoder.Tests' SoakTests for ten minutes): per agent, sandboxed on the
/// defaults, whether its waiting and idle sessions were alive at the end, and what each session's processes (the agent, its
/// sandbox, what it runs) held then: the waiting session against the idle one, measured in the same run.
/// </summary>
public static class SoakRows
{
    public static IEnumerable<Row> From(string report)
    {
        if (!File.Exists(report))
        {
            yield return new Row("Soak: sessions alive after the wait", "not measured", "", "", "every agent's sessions alive", "the soak wrote no report");
            yield break;
        }

        foreach (var line in File.ReadLines(report).Where(l => l.Length > 0))
        {
            var agent = JsonElement.Parse(line);
            var name = agent.GetProperty("agent").GetString();
            var minutes = agent.GetProperty("seconds").GetInt32() / 60.0;
            var alive = (agent.GetProperty("waitingAlive").GetBoolean() ? 1 : 0) + (agent.GetProperty("idleAlive").GetBoolean() ? 1 : 0);
            yield return new Row(string.Create(CultureInfo.InvariantCulture, $"Soak, {name}: sessions alive after {minutes:0.#} min (sandboxed; waiting + idle)"),
                $"{alive} of 2", "", "", "2 of 2", alive == 2 ? "met" : "MISSED");
            var waiting = agent.GetProperty("waitingRssKiB").GetInt64() / 1024.0;
            var idle = agent.GetProperty("idleRssKiB").GetInt64() / 1024.0;
            // Past the pause threshold a waiting session keeps no process (#52); an older report has no such field.
            var paused = agent.TryGetProperty("waitingPaused", out var p) && p.GetBoolean();
            yield return new Row($"Soak, {name}: memory of a session waiting on an approval (its processes, RSS) vs an idle one",
                string.Create(CultureInfo.InvariantCulture, $"{waiting:0} MiB{(paused ? " (paused)" : "")}"), string.Create(CultureInfo.InvariantCulture, $"{idle:0} MiB"),
                idle > 0 ? string.Create(CultureInfo.InvariantCulture, $"{waiting / idle:0.00}x") : "n/a", "informational", "");
        }
    }
}
