using System.Globalization;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Approvals;

namespace PocketCoder.Teams;

/// <summary>What one cap has spent, against the cap with every raise granted on it (null: no cap of that kind).</summary>
/// <param name="Scope"><c>session</c> (over its life) or <c>project</c> (over the period).</param>
public sealed record BudgetUse(string Scope, long UsedTokens, decimal UsedCostUsd, long? CapTokens, decimal? CapCostUsd)
{
    /// <summary>How much of the tighter cap is spent (1 = all of it).</summary>
    public double Spent => Math.Max(
        CapTokens is { } tokens ? UsedTokens / (double)tokens : 0,
        CapCostUsd is { } cost ? (double)(UsedCostUsd / cost) : 0);
}

/// <summary>What a "raise the budget?" decision holds back until it is allowed: a tool call mid-turn, or a message that would start a turn.</summary>
/// <param name="Kind"><c>call</c> or <c>message</c>.</param>
/// <param name="Tool">The held call's tool (a call).</param>
/// <param name="Text">The held call's title, or the message's first words.</param>
public sealed record BudgetHold(string Kind, string? Tool, string? Text)
{
    public const string Call = "call";
    public const string Message = "message";
}

/// <summary>The input of a "raise the budget?" decision (kind <c>budget</c>).</summary>
/// <param name="Budget"><c>session</c> or <c>project</c>: the cap that is spent.</param>
/// <param name="Period">A project cap's period (<c>day</c>, <c>month</c>).</param>
/// <param name="RaiseTokens">What an allow adds to the token cap (null: no token cap).</param>
/// <param name="RaiseCostUsd">What an allow adds to the cost cap (null: no cost cap).</param>
public sealed record BudgetAsk(string Budget, string? Period, long UsedTokens, long? CapTokens, decimal UsedCostUsd, decimal? CapCostUsd,
    long? RaiseTokens, decimal? RaiseCostUsd, BudgetHold Holds);

/// <param name="PeriodStart">Where the project's period began (UTC midnight, or the first of the month).</param>
public sealed record BudgetStatus(string Period, DateTimeOffset PeriodStart, BudgetUse? Project, BudgetUse? Session);

/// <summary>
/// Token and cost caps per session and per project (a day or a month), against what is spent as the usage events record it (carried, not summed again). At
/// 80 % the people who may raise a budget are warned (<see cref="NewWarnings"/>); at 100 % the agent's next tool call waits
/// on a "raise the budget?" question only approvers and owners decide (the gatekeeper asks it). Tokens are input plus output
/// (cache reads are cheap and would dwarf them); an agent that reports no cost is held to the token caps alone.
/// </summary>
public sealed class Budgets(Database database, TeamPolicies policies, Ledger.LedgerStore ledger, TimeProvider clock)
{
    public const double WarnAt = 0.8;

    public BudgetStatus Status(string projectId, string? sessionId)
    {
        var budget = policies.For(projectId).Budget;
        var start = PeriodStart(budget.Period, clock.GetUtcNow());
        return database.Read(connection =>
        {
            BudgetUse? Use(string scope, BudgetCap? cap, string sql, string subject, string? periodStart)
            {
                if (cap is null)
                {
                    return null;
                }

                var (tokens, cost) = connection.Query(sql, r => (r.GetInt64(0), (decimal)r.GetDouble(1)), ("$subject", subject), ("$day", start.ToDb()[..10]))[0];
                var (moreTokens, moreCost) = connection.Query(
                    "SELECT COALESCE(SUM(tokens), 0), COALESCE(SUM(cost_usd), 0) FROM budget_raises WHERE project_id = $project AND scope = $scope "
                    + "AND (session_id = $subject OR period_start = $period)",
                    r => (r.GetInt64(0), (decimal)r.GetDouble(1)), ("$project", projectId), ("$scope", scope), ("$subject", subject), ("$period", periodStart))[0];
                return new BudgetUse(scope, tokens, cost, cap.Tokens + moreTokens, cap.CostUsd + moreCost);
            }

            return new BudgetStatus(budget.Period, start,
                Use("project", budget.Project, ProjectSpent, projectId, start.ToDb()),
                sessionId is null ? null : Use("session", budget.Session, SessionSpent, sessionId, null));
        });
    }

    /// <summary>The cap this session has spent, the session's own first, or null while there is room.</summary>
    public BudgetUse? Reached(string projectId, string sessionId)
    {
        var status = Status(projectId, sessionId);
        return new[] { status.Session, status.Project }.FirstOrDefault(use => use?.Spent >= 1);
    }

    /// <summary>
    /// "Raise the budget?": what was spent, the cap, what an allow adds to it (whatever was spent past the cap, as a turn can
    /// overshoot it, and one more of the policy's cap, so the agent has that much room again), and what it holds back.
    /// </summary>
    public BudgetAsk Ask(string projectId, BudgetUse reached, BudgetHold holds)
    {
        var budget = policies.For(projectId).Budget;
        var cap = reached.Scope == "session" ? budget.Session : budget.Project;
        long? raiseTokens = cap?.Tokens is { } stepTokens ? stepTokens + Math.Max(0, reached.UsedTokens - (reached.CapTokens ?? 0)) : null;
        decimal? raiseCost = cap?.CostUsd is { } stepCost ? stepCost + Math.Max(0, reached.UsedCostUsd - (reached.CapCostUsd ?? 0)) : null;
        return new BudgetAsk(reached.Scope, reached.Scope == "project" ? budget.Period : null, reached.UsedTokens, reached.CapTokens,
            reached.UsedCostUsd, reached.CapCostUsd, raiseTokens, raiseCost, holds);
    }

    public static string Title(BudgetUse reached) =>
        $"Raise the {reached.Scope}'s budget? It has spent {Describe(reached.UsedTokens, reached.UsedCostUsd)} of {Describe(reached.CapTokens, reached.CapCostUsd)}.";

    /// <summary>An allowed "raise the budget?" decision adds what it said it would (<see cref="Ask"/>), in the decision's transaction.</summary>
    public void Raise(DbWrite write, Approval approval, Actor actor)
    {
        var ask = approval.Budget ?? throw new InvalidOperationException($"Approval {approval.Id} holds no budget question.");
        var period = ask.Budget == "project" ? PeriodStart(policies.For(approval.ProjectId).Budget.Period, clock.GetUtcNow()).ToDb() : null;
        write.Execute(
            "INSERT INTO budget_raises (id, project_id, scope, session_id, period_start, tokens, cost_usd, approval_id, raised_by, at) "
            + "VALUES ($id, $project, $scope, $session, $period, $tokens, $cost, $approval, $by, $at)",
            ("$id", Guid.NewGuid().ToString("N")), ("$project", approval.ProjectId), ("$scope", ask.Budget), ("$session", ask.Budget == "session" ? approval.SessionId : null),
            ("$period", period), ("$tokens", ask.RaiseTokens), ("$cost", ask.RaiseCostUsd is { } value ? (double)value : null), ("$approval", approval.Id),
            ("$by", actor.Name), ("$at", clock.GetUtcNow().ToDb()));
        ledger.Append(write, actor.Name, "budget.raised", approval.ProjectId, new JsonObject
        {
            ["scope"] = ask.Budget, ["sessionId"] = approval.SessionId, ["periodStart"] = period, ["tokens"] = ask.RaiseTokens, ["costUsd"] = ask.RaiseCostUsd,
            ["approvalId"] = approval.Id, ["deviceId"] = actor.Id,
        });
    }

    /// <summary>The caps of this session's project that have just passed <see cref="WarnAt"/>: each warned once (ledgered), then not again.</summary>
    public IReadOnlyList<BudgetUse> NewWarnings(string projectId, string sessionId)
    {
        var status = Status(projectId, sessionId);
        var crossed = new[] { status.Session, status.Project }.OfType<BudgetUse>().Where(use => use.Spent >= WarnAt).ToList();
        return crossed.Count == 0 ? [] : database.Write(write => crossed.Where(use =>
        {
            var subject = use.Scope == "session" ? sessionId : status.PeriodStart.ToDb();
            if (write.Execute("INSERT OR IGNORE INTO budget_warnings (project_id, scope, subject, at) VALUES ($project, $scope, $subject, $at)",
                    ("$project", projectId), ("$scope", use.Scope), ("$subject", subject), ("$at", clock.GetUtcNow().ToDb())) == 0)
            {
                return false;
            }

            ledger.Append(write, Actor.System.Name, "budget.warning", projectId, new JsonObject
            {
                ["scope"] = use.Scope, ["sessionId"] = sessionId, ["spent"] = Math.Round(use.Spent, 3), ["usedTokens"] = use.UsedTokens,
                ["capTokens"] = use.CapTokens, ["usedCostUsd"] = use.UsedCostUsd, ["capCostUsd"] = use.CapCostUsd,
            });
            return true;
        }).ToList());
    }

    public static DateTimeOffset PeriodStart(string period, DateTimeOffset now) => period == BudgetPolicy.Month
        ? new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero)
        : new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);

    public static string Describe(long? tokens, decimal? cost) => string.Join(" and ", new[]
    {
        tokens is { } t ? t.ToString("N0", CultureInfo.InvariantCulture) + " tokens" : null,
        cost is { } c ? "$" + c.ToString("0.00", CultureInfo.InvariantCulture) : null,
    }.OfType<string>());

    // Carried as it is spent (migration 027: a trigger on each usage event), so a check reads a row or a month of days.
    private const string SessionSpent =
        "SELECT COALESCE(SUM(tokens), 0), COALESCE(SUM(cost_usd), 0) FROM session_spend WHERE session_id = $subject";

    private const string ProjectSpent =
        "SELECT COALESCE(SUM(tokens), 0), COALESCE(SUM(cost_usd), 0) FROM project_spend WHERE project_id = $subject AND day >= $day";
}
