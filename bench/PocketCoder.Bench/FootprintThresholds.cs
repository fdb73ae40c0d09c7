namespace PocketCoder.Bench;

/// <summary>
/// The footprint gate's limits (scripts/footprint-gate.sh, run by scripts/test.sh): how many times the bare ASP.NET Core app
/// (bench/BareApp, published native, measured in the same run) the native pocketcoder may cost. Ratios only: absolute
/// times on CI's 2 shared cores swing by 2x. Issue #72's goals are 4x / 2.5x / 3x; each limit is the goal, or what the binary
/// reaches where it misses the goal, plus room for the noise of three rounds (docs/performance.md, "Footprint"). A change
/// that really needs more raises its limit here, on purpose, in a commit that says why.
/// </summary>
public static class FootprintThresholds
{
    /// <summary>Exec to the first 200 from /api/health: the goal. A 200 ms stall before listening is ~3x the bare app's start.</summary>
    public const double StartUp = 4.0;

    /// <summary>VmRSS 5 s after exec: goal 2.5x, reached (2.33x, ±0.06x between starts); 2.7x leaves ~7 MiB for a CI runner's
    /// noise. A planted 10 MiB at start-up read 2.78x-2.96x here, and 4.4x after the requests: the gate fails it either way.</summary>
    public const double Idle = 2.7;

    /// <summary>VmRSS 1 s after 1,000 (authenticated, for pocketcoder) GETs: goal 3x, not reached (3.57x-3.75x in the runs of
    /// 2026-11-28, the last a clean-clone run of the suite); 4.3x leaves ~10 MiB for a CI runner's noise. A planted 10 MiB at
    /// start-up still fails the gate on idle (2.78x-3.07x against 2.7x).</summary>
    public const double AfterRequests = 4.3;
}
