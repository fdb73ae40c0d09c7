namespace PocketCoder.Bench;

/// <summary>
/// Start-up, idle memory and memory after 1,000 requests of the published pocketcoder against the published bare app, as OS
/// processes (<see cref="FootprintBench"/>): the JIT (ReadyToRun) builds and the native (Native AOT) ones, whichever folders are
/// given, all in one interleaved run. The native server is held to the bare JIT app (it must cost no more than the least ASP.NET
/// Core service does JITted) and to the bare native app (issue #72's goals; <see cref="FootprintThresholds"/> gates these).
/// </summary>
public sealed class ExternalBench(string? pocketcoderDirectory, string? bareDirectory, string? pocketcoderAotDirectory, string? bareAotDirectory, int rounds)
{
    /// <summary>Set by <see cref="RunAsync"/>: a native-vs-bare-native ratio past its <see cref="FootprintThresholds"/> limit.</summary>
    public bool GateFailed { get; private set; }

    public async Task<List<Row>> RunAsync()
    {
        var pc = Of("pocketcoder JIT", pocketcoderDirectory, "pocketcoder");
        var bare = Of("bare JIT", bareDirectory, "bareapp");
        var pcAot = Of("pocketcoder native", pocketcoderAotDirectory, "pocketcoder");
        var bareAot = Of("bare native", bareAotDirectory, "bareapp");
        Published[] programs = [.. new[] { pc, bare, pcAot, bareAot }.OfType<Published>()];
        var samples = await new FootprintBench(programs, rounds).RunAsync();
        var medians = samples.ToDictionary(s => s.Key, s => FootprintBench.Median(s.Value));

        var rows = new List<Row>();
        void Compare(Published? server, Published? baseline, double startTarget, double idleTarget, double busyTarget, bool gate = false)
        {
            if (server is null || baseline is null)
            {
                return;
            }

            var (s, b) = (medians[server], medians[baseline]);
            var against = $"{server.Name} vs {baseline.Name}";
            Row[] compared =
            [
                Ratio($"Start-up: exec to first 200 /api/health (median of {rounds}), {against}", s.StartMs, b.StartMs, "ms", startTarget, gate),
                Ratio($"Idle RSS 5 s after exec, {against}", s.IdleMiB, b.IdleMiB, "MiB", idleTarget, gate),
                Ratio($"RSS after 1,000 API requests, {against}", s.BusyMiB, b.BusyMiB, "MiB", busyTarget, gate),
            ];
            GateFailed |= gate && compared.Any(r => r.Verdict == "FAILED");
            rows.AddRange(compared);
        }

        Compare(pc, bare, 1.5, 1.3, 1.3);
        // Issue #72: the native server costs no more than the bare app JITted, and at most 4x / 2.5x / 3x the bare app native.
        Compare(pcAot, bare, 1.0, 1.0, 1.0);
        Compare(pcAot, bareAot, FootprintThresholds.StartUp, FootprintThresholds.Idle, FootprintThresholds.AfterRequests, gate: true);
        return rows;
    }

    private static Published? Of(string name, string? directory, string executable) =>
        directory is null ? null : new Published(name, Path.Combine(directory, executable), executable == "pocketcoder");

    /// <summary>A row of the table; <paramref name="gate"/> rows say FAILED past their limit, others MISSED past their target.</summary>
    public static Row Ratio(string measure, double pc, double baseline, string unit, double target, bool gate = false)
    {
        var ratio = pc / baseline;
        return new Row(measure, $"{Stats.F(pc)} {unit}", $"{Stats.F(baseline)} {unit}", $"{Stats.F(ratio, 2)}x",
            gate ? $"gate <= {target}x" : $"<= {target}x", ratio <= target ? (gate ? "passed" : "met") : gate ? "FAILED" : "MISSED");
    }
}
