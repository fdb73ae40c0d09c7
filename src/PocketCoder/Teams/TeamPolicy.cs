using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Approvals;

namespace PocketCoder.Teams;

/// <summary>
/// Who decides what in one project: the least role that may decide each risk class (operators, approvers or owners), the
/// classes whose allow needs two different people, when an unanswered call goes on to the owners, and the budgets. Each may
/// also name a risk sign (<see cref="RiskSigns"/>), read from the call by the same <see cref="RiskReading"/> the card shows.
/// </summary>
/// <param name="Deciders">Risk class or sign → least role; a class not named is decided by approvers and owners, a sign not named changes nothing.</param>
/// <param name="TwoPerson">Classes and signs whose allow needs two different people (one person's two devices are one person).</param>
/// <param name="EscalateAfterSeconds">Unanswered this long, a call is pushed to the owners as well; null: never.</param>
public sealed record TeamPolicy(IReadOnlyDictionary<string, string> Deciders, IReadOnlyList<string> TwoPerson, int? EscalateAfterSeconds, BudgetPolicy Budget)
{
    public static readonly TeamPolicy Default = new(new Dictionary<string, string>(), [], null, BudgetPolicy.None);

    public Role LeastToDecide(string risk) => risk == RiskClasses.Budget ? Role.Approver
        : Deciders.TryGetValue(risk, out var role) && Roles.FromWire(role) is { } least ? least : Role.Approver;

    public bool NeedsTwo(string risk) => TwoPerson.Contains(risk, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="role"/> could allow a call of this kind by themself (an owner: even a two-person kind).</summary>
    public bool AllowsAlone(Role role, string risk) => role >= LeastToDecide(risk) && (!NeedsTwo(risk) || role == Role.Owner);

    /// <summary>
    /// The least role for a call as the server read it: its class's, raised by any sign the policy names (a sign it does not
    /// name changes nothing, so <c>deciders: {"shell": "operator"}</c> still lets operators run <c>npm install</c>).
    /// </summary>
    public Role LeastToDecide(RiskReading reading) =>
        reading.Routed.Skip(1).Where(Deciders.ContainsKey).Select(sign => LeastToDecide(sign)).Append(LeastToDecide(reading.Class)).Max();

    /// <summary>Whether a call's allow needs two people: its class does, or one of its signs.</summary>
    public bool NeedsTwo(RiskReading reading) => reading.Routed.Any(risk => NeedsTwo(risk));

    public bool AllowsAlone(Role role, RiskReading reading) => role >= LeastToDecide(reading) && (!NeedsTwo(reading) || role == Role.Owner);

    /// <summary>What a policy may route: the kinds of call, and the signs the server reads in them.</summary>
    private static bool Routable(string risk) => RiskClasses.Routed.Contains(risk) || RiskReading.RoutableSigns.Contains(risk);

    /// <summary>The policy as the owner wrote it, checked: a bad one is refused whole, with what is wrong.</summary>
    public static TeamPolicy From(TeamPolicyRequest request)
    {
        var deciders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (risk, role) in request.Deciders ?? new Dictionary<string, string>())
        {
            if (!Routable(risk))
            {
                throw ApiProblem.Validation($"'deciders' names '{risk}': the kinds are {string.Join(", ", RiskClasses.Routed)}; the signs {string.Join(", ", RiskReading.RoutableSigns)}.");
            }

            if (Roles.FromWire(role) is not { } least || least == Role.Viewer)
            {
                throw ApiProblem.Validation($"'deciders.{risk}' is '{role}': operator, approver or owner (viewers decide nothing).");
            }

            deciders[risk] = role;
        }

        var twoPerson = (request.TwoPerson ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (twoPerson.FirstOrDefault(risk => !Routable(risk) || risk == RiskClasses.Question) is { } bad)
        {
            throw ApiProblem.Validation($"'twoPerson' names '{bad}': a kind of call that is allowed or denied ({string.Join(", ", RiskClasses.Routed.Where(r => r != RiskClasses.Question))}) or a sign ({string.Join(", ", RiskReading.RoutableSigns)}).");
        }

        if (request.EscalateAfterSeconds is < 10 or > 7 * 24 * 3600)
        {
            throw ApiProblem.Validation("'escalateAfterSeconds' is 10 to 604800 seconds, or null for never.");
        }

        return new TeamPolicy(deciders, twoPerson, request.EscalateAfterSeconds, BudgetPolicy.From(request.Budget));
    }
}

/// <param name="Period">What a project's caps count over: <c>day</c> or <c>month</c> (UTC).</param>
/// <param name="Session">Caps for each session over its life; null: none.</param>
/// <param name="Project">Caps for all the project's sessions together over the period; null: none.</param>
public sealed record BudgetPolicy(string Period, BudgetCap? Session, BudgetCap? Project)
{
    public const string Day = "day";
    public const string Month = "month";

    public static readonly BudgetPolicy None = new(Day, null, null);

    public static BudgetPolicy From(BudgetPolicy? request)
    {
        if (request is null)
        {
            return None;
        }

        if (request.Period is not (Day or Month))
        {
            throw ApiProblem.Validation("'budget.period' is 'day' or 'month'.");
        }

        return new BudgetPolicy(request.Period, BudgetCap.From(request.Session, "session"), BudgetCap.From(request.Project, "project"));
    }
}

/// <param name="Tokens">Input and output tokens (cache reads not counted: they are cheap and would dwarf the rest).</param>
/// <param name="CostUsd">What the agent reports it cost; an agent that reports no cost is held to the tokens alone.</param>
public sealed record BudgetCap(long? Tokens, decimal? CostUsd)
{
    public static BudgetCap? From(BudgetCap? cap, string name)
    {
        if (cap is null || (cap.Tokens is null && cap.CostUsd is null))
        {
            return null;
        }

        return cap.Tokens is <= 0 || cap.CostUsd is <= 0
            ? throw ApiProblem.Validation($"'budget.{name}' caps are positive numbers (tokens, costUsd), or null for none.")
            : cap;
    }
}

public sealed record TeamPolicyRequest(IReadOnlyDictionary<string, string>? Deciders, IReadOnlyList<string>? TwoPerson, int? EscalateAfterSeconds,
    BudgetPolicy? Budget);

/// <summary>Each project's team policy, kept as one JSON document; every change is in the ledger.</summary>
public sealed class TeamPolicies(Database database, Ledger.LedgerStore ledger)
{
    public TeamPolicy For(string projectId) => database.Read(connection => Parse(connection.Scalar<string>(
        "SELECT policy FROM team_policies WHERE project_id = $project", ("$project", projectId))));

    public TeamPolicy Set(string projectId, TeamPolicy policy, Actor actor) => database.Write(write =>
    {
        var json = JsonSerializer.Serialize(policy, Server.WireJson.Default.TeamPolicy);
        write.Execute("INSERT INTO team_policies (project_id, policy) VALUES ($project, $policy) ON CONFLICT DO UPDATE SET policy = excluded.policy",
            ("$project", projectId), ("$policy", json));
        ledger.Append(write, actor.Name, "policy.changed", projectId, new JsonObject { ["policy"] = JsonNode.Parse(json), ["byDevice"] = actor.Id });
        return policy;
    });

    private static TeamPolicy Parse(string? json) => json is null ? TeamPolicy.Default
        : JsonSerializer.Deserialize(json, Server.WireJson.Default.TeamPolicy) ?? TeamPolicy.Default;
}
