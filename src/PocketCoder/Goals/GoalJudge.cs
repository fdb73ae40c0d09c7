using System.Globalization;
using System.Text.RegularExpressions;

namespace PocketCoder.Goals;

/// <summary>What the agent's reply said about its goal (<see cref="GoalJudge.Verdict"/>).</summary>
public enum GoalVerdict
{
    Met,
    NotMet,

    /// <summary>No verdict line: taken as not met.</summary>
    Unsaid,
}

/// <summary>A goal's caps: a turn count, wall time, tokens, and how many turns in a row with the same outcome ask the owner.</summary>
public sealed record GoalCaps(int Turns, int Minutes, long Tokens, int NoProgressTurns);

/// <summary>What a goal has spent since it was set: its turns, its wall time while active, tokens and cost.</summary>
public sealed record GoalSpend(int Turns, TimeSpan Elapsed, long Tokens, decimal CostUsd);

/// <summary>How a goal's turn ended, as <see cref="GoalJudge.AfterTurn"/> decided it.</summary>
/// <param name="SameInARow">How many turns in a row ended with this same outcome (1: it differs from the last).</param>
/// <param name="Cap"><c>turns</c>, <c>time</c> or <c>tokens</c> with <see cref="GoalEvent.CapReached"/>.</param>
public sealed record GoalDecision(GoalEvent Event, int SameInARow, string? Cap = null);

/// <summary>
/// The goal loop's pure decisions: whether a reply says the goal is met, and what a turn's end leads to. A met goal is
/// complete even on its last allowed turn; otherwise a reached cap ends it, then the same outcome (the check's output,
/// or the agent's reply) as many turns in a row as <see cref="GoalCaps.NoProgressTurns"/> asks the owner; else it goes on.
/// </summary>
public static partial class GoalJudge
{
    public const string MetLine = "GOAL: MET";
    public const string NotMetLine = "GOAL: NOT MET";

    public const string TurnsCap = "turns", TimeCap = "time", TokensCap = "tokens";

    /// <summary>
    /// The verdict in the reply's last non-blank line: <c>GOAL: MET</c> or <c>GOAL: NOT MET</c>, letter case, spaces around the
    /// colon, a trailing full stop and markdown emphasis or code marks (<c>*</c>, <c>_</c>, <c>`</c>) aside. Anything else,
    /// or the words anywhere but the last line (the agent quoting the instruction), is <see cref="GoalVerdict.Unsaid"/>.
    /// </summary>
    public static GoalVerdict Verdict(string? reply)
    {
        var last = reply?.Split('\n').Select(line => line.Trim()).LastOrDefault(line => line.Length > 0);
        if (last is null)
        {
            return GoalVerdict.Unsaid;
        }

        var match = VerdictLine().Match(last.Trim('*', '_', '`', ' ', '\t'));
        return !match.Success ? GoalVerdict.Unsaid
            : match.Groups["not"].Success ? GoalVerdict.NotMet : GoalVerdict.Met;
    }

    /// <summary>The cap <paramref name="spend"/> has reached (<see cref="TurnsCap"/>, <see cref="TimeCap"/>, <see cref="TokensCap"/>), or null.</summary>
    public static string? CapReached(GoalCaps caps, GoalSpend spend) =>
        spend.Turns >= caps.Turns ? TurnsCap
        : spend.Tokens >= caps.Tokens ? TokensCap
        : spend.Elapsed >= TimeSpan.FromMinutes(caps.Minutes) ? TimeCap
        : null;

    /// <summary>What a goal's turn leads to.</summary>
    /// <param name="spend">With this turn counted.</param>
    /// <param name="outcome">What tells this turn's outcome from the last one's (the check's output, or the reply).</param>
    /// <param name="lastOutcome">The last turn's, or null.</param>
    /// <param name="sameBefore">How many turns in a row ended with <paramref name="lastOutcome"/>.</param>
    public static GoalDecision AfterTurn(GoalCaps caps, GoalSpend spend, bool met, string outcome, string? lastOutcome, int sameBefore)
    {
        var same = lastOutcome is not null && string.Equals(outcome, lastOutcome, StringComparison.Ordinal) ? sameBefore + 1 : 1;
        if (met)
        {
            return new(GoalEvent.Met, same);
        }

        if (CapReached(caps, spend) is { } cap)
        {
            return new(GoalEvent.CapReached, same, cap);
        }

        return same >= caps.NoProgressTurns ? new(GoalEvent.NoProgress, same) : new(GoalEvent.NotMet, same);
    }

    /// <summary>What is kept of an outcome to tell it from the next: its text without digits (times, durations, counts of
    /// milliseconds differ between two runs of the same failing test) or surrounding space.</summary>
    public static string Outcome(string text) => Digits().Replace(text.Trim(), "#");

    /// <summary>The spend as a sentence: "3 turns, 12 min, 45,000 tokens ($0.42)".</summary>
    public static string Describe(GoalSpend spend) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{spend.Turns} turn{(spend.Turns == 1 ? "" : "s")}, {(int)spend.Elapsed.TotalMinutes} min, {spend.Tokens:N0} tokens (${spend.CostUsd:0.00})");

    [GeneratedRegex(@"^GOAL\s*:\s*(?<not>NOT\s+)?MET\.?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex VerdictLine();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();
}
