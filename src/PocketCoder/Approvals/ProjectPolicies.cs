using PocketCoder.Teams;

namespace PocketCoder.Approvals;

/// <summary>
/// What a project's owners have set for its calls, read together wherever a call is judged: its rules (allow, ask, deny),
/// its team's policy (who decides which risk, when a wait escalates) and its budgets (a spent cap holds the next call).
/// </summary>
public sealed record ProjectPolicies(Rules Rules, TeamPolicies Teams, Budgets Budgets);
