using PocketCoder.Agents;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// A session's cost, whatever its agent reports: a running total of one process (Claude Code, ACP) becomes the difference
/// from the last one, and the session's total adds every turn's, starting from what the log already holds.
/// </summary>
/// <param name="costSoFar">The session's total as the log holds it (read once, on the first report).</param>
public sealed class CostMeter(Func<decimal?> costSoFar)
{
    /// <summary>What the current agent process has reported costing so far (each process starts at zero).</summary>
    private decimal _processCost;

    private decimal? _sessionCost;
    private bool _read;

    /// <summary>A new agent process (a resume): its running totals start at zero again.</summary>
    public void NewProcess() => _processCost = 0;

    /// <summary>The usage event for a report: the turn's own cost and the session's total.</summary>
    public UsageEvent Costed(UsageReport usage)
    {
        if (!_read)
        {
            _sessionCost = costSoFar();
            _read = true;
        }

        var turn = usage.CostUsd;
        if (usage.CostIsRunningTotal && usage.CostUsd is { } total)
        {
            turn = Math.Max(0, total - _processCost);
            _processCost = total;
        }

        if (turn is { } cost)
        {
            _sessionCost = (_sessionCost ?? 0) + cost;
        }

        return new UsageEvent(usage.InputTokens, usage.OutputTokens, usage.CacheReadTokens, usage.CacheWriteTokens, turn, _sessionCost);
    }
}
