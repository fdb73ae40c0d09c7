using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Approvals;

/// <summary>The kinds of call a project's team policy routes, in the rule vocabulary (<see cref="RuleTools.KindWords"/>) plus three.</summary>
public static class RiskClasses
{
    public const string Read = "read";
    public const string Edit = "edit";
    public const string Shell = "shell";
    public const string Fetch = "fetch";
    public const string Mcp = "mcp";

    /// <summary>A connection out of a sandbox to a host nobody allowed (docs/security.md, "The network").</summary>
    public const string Network = "network";

    /// <summary>An edit of, or a command naming, git, agent or CI configuration (<see cref="Policy.ProtectedPatterns"/>).</summary>
    public const string Protected = "protected";
    public const string Question = "question";
    public const string Other = "other";

    /// <summary>Not a tool call: the agent reached its budget, and going on needs an owner's or approver's raise.</summary>
    public const string Budget = "budget";

    public static readonly IReadOnlyList<string> Routed = [Read, Edit, Shell, Fetch, Mcp, Protected, Question, Other, Network];
}

/// <summary>
/// Who decides what in one project: the least role that may decide each risk class (operators, approvers or owners), the
/// classes whose allow needs two different people, when an unanswered call goes on to the owners, and the budgets.
/// </summary>
/// <param name="Deciders">Risk class → least role; a class not named is decided by approvers and owners.</param>
/// <param name="TwoPerson">Classes whose allow needs two different people (one person's two devices are one person).</param>
/// <param name="EscalateAfterSeconds">Unanswered this long, a call is pushed to the owners as well; null: never.</param>
public sealed record TeamPolicy(IReadOnlyDictionary<string, string> Deciders, IReadOnlyList<string> TwoPerson, int? EscalateAfterSeconds, BudgetPolicy Budget)
{
    public static readonly TeamPolicy Default = new(new Dictionary<string, string>(), [], null, BudgetPolicy.None);

    public Role LeastToDecide(string risk) => risk == RiskClasses.Budget ? Role.Approver
        : Deciders.TryGetValue(risk, out var role) && Roles.FromWire(role) is { } least ? least : Role.Approver;

    public bool NeedsTwo(string risk) => TwoPerson.Contains(risk, StringComparer.Ordinal);

    /// <summary>
    /// Whether <paramref name="role"/> may put a session in <paramref name="mode"/>: a mode that allows calls unasked is
    /// that role's decision for every call it allows, so it needs a role that could decide each of them alone.
    /// </summary>
    public bool AllowsMode(Role role, string mode)
    {
        string[] covered = mode switch
        {
            SessionModes.Trusted => [RiskClasses.Read, RiskClasses.Edit, RiskClasses.Shell, RiskClasses.Fetch, RiskClasses.Mcp, RiskClasses.Other],
            SessionModes.AcceptEdits => [RiskClasses.Edit],
            _ => [],
        };
        return covered.All(risk => AllowsAlone(role, risk));
    }

    /// <summary>Whether <paramref name="role"/> could allow a call of this kind by themself (an owner: even a two-person kind).</summary>
    public bool AllowsAlone(Role role, string risk) => role >= LeastToDecide(risk) && (!NeedsTwo(risk) || role == Role.Owner);

    /// <summary>The policy as the owner wrote it, checked: a bad one is refused whole, with what is wrong.</summary>
    public static TeamPolicy From(TeamPolicyRequest request)
    {
        var deciders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (risk, role) in request.Deciders ?? new Dictionary<string, string>())
        {
            if (!RiskClasses.Routed.Contains(risk))
            {
                throw ApiProblem.Validation($"'deciders' names '{risk}': the kinds are {string.Join(", ", RiskClasses.Routed)}.");
            }

            if (Roles.FromWire(role) is not { } least || least == Role.Viewer)
            {
                throw ApiProblem.Validation($"'deciders.{risk}' is '{role}': operator, approver or owner (viewers decide nothing).");
            }

            deciders[risk] = role;
        }

        var twoPerson = (request.TwoPerson ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (twoPerson.FirstOrDefault(risk => !RiskClasses.Routed.Contains(risk) || risk == RiskClasses.Question) is { } bad)
        {
            throw ApiProblem.Validation($"'twoPerson' names '{bad}': a kind of call that is allowed or denied ({string.Join(", ", RiskClasses.Routed.Where(r => r != RiskClasses.Question))}).");
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
public sealed class TeamPolicies(Database database, Ledger.LedgerStore ledger, People people)
{
    /// <summary>
    /// Refuses a mode that would allow calls the actor could not allow themselves (<see cref="TeamPolicy.AllowsMode"/>).
    /// Actors that are no one's device (the backlog starting a task) were checked when the work was set going.
    /// </summary>
    /// <exception cref="ApiProblem">403 <c>MODE_NOT_ALLOWED</c>.</exception>
    /// <summary>
    /// Refuses a person's own change of git, agent or CI configuration (a file written from the phone) unless they could
    /// allow an agent's edit there alone: what would be a <c>protected</c> call for an agent is no less one for a person.
    /// </summary>
    /// <exception cref="ApiProblem">403 <c>ROLE_FORBIDDEN</c>.</exception>
    public void EnsureMayChangeProtected(string projectId, Actor actor)
    {
        if (people.OfDevice(actor.Id) is { } person && !For(projectId).AllowsAlone(people.RoleIn(person, projectId), RiskClasses.Protected))
        {
            throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.RoleForbidden,
                $"This file is git, agent or CI configuration, which changes what runs next: only those who may allow such an edit alone may change it in this project ({For(projectId).LeastToDecide(RiskClasses.Protected).AndAbove()}).");
        }
    }

    public void EnsureMayChoose(string projectId, string mode, Actor actor)
    {
        if (mode is not (SessionModes.Trusted or SessionModes.AcceptEdits) || people.OfDevice(actor.Id) is not { } person)
        {
            return;
        }

        var role = people.RoleIn(person, projectId);
        if (!For(projectId).AllowsMode(role, mode))
        {
            throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.ModeNotAllowed,
                $"A {mode} session allows calls unasked that {person.Name}, {(role == Role.Viewer ? "a" : "an")} {role.ToWire()}, could not allow alone in this project: choose ask or plan.");
        }
    }

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
