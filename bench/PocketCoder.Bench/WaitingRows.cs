using System.Globalization;
using System.Text.Json;

namespace PocketCoder.Bench;

/// <summary>
/// Issue #52's rows for every agent (bench/run.sh runs tests/PocketCoder.Tests' <c>Reliability/WaitingSessionsBench</c>): ten
/// sessions of one agent waiting on the owner, the server's and its process tree's RSS with the pause on against the same
/// sessions with it off, measured in the same run; and, pause on, the owner's allow to the resumed agent's command done, from a
/// notification (the agent starts on the allow) and from the session's screen opened first (started while the owner reads).
/// </summary>
public static class WaitingRows
{
    public static IEnumerable<Row> From(string report)
    {
        if (!File.Exists(report))
        {
            yield return new Row("Sessions waiting on the owner, pause on vs off", "not measured", "", "", "<= 0.1x", "the bench wrote no report");
            yield break;
        }

        foreach (var line in File.ReadLines(report).Where(l => l.Length > 0))
        {
            var agent = JsonElement.Parse(line);
            var name = agent.GetProperty("agent").GetString();
            var sessions = agent.GetProperty("sessions").GetInt32();
            var paused = agent.GetProperty("pausedRssMiB").GetDouble();
            var running = agent.GetProperty("runningRssMiB").GetDouble();
            var ratio = paused / running;
            yield return new Row($"{sessions} {name} sessions waiting on the owner: server + agents RSS, pause on vs off",
                F($"{paused:0.0} MiB"), F($"{running:0.0} MiB"), F($"{ratio:0.00}x"), "<= 0.1x", ratio <= 0.1 ? "met" : "MISSED");
            var median = agent.GetProperty("resumeMedianMs").GetDouble();
            yield return new Row($"{name}: the owner's allow to the resumed agent's command done, median / max of {sessions}",
                F($"{median:0} / {agent.GetProperty("resumeMaxMs").GetDouble():0} ms"), "", "", "< 2 s", median < 2000 ? "met" : "MISSED");
            if (agent.TryGetProperty("aheadMedianMs", out var ahead) && ahead.GetDouble() > 0)
            {
                // Every other call is allowed with the session open first: the agent started while the owner read the card.
                yield return new Row($"{name}: the same with the session open first (the agent started ahead of the decision), median / max",
                    F($"{ahead.GetDouble():0} / {agent.GetProperty("aheadMaxMs").GetDouble():0} ms"), F($"cold {median:0} ms"),
                    F($"{ahead.GetDouble() / median:0.00}x"), "< 2 s", ahead.GetDouble() < 2000 ? "met" : "MISSED");
            }
        }
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
