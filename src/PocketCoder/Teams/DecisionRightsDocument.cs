using System.Text;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;

namespace PocketCoder.Teams;

/// <summary>
/// <see cref="DecisionRights"/> as the tables docs/security.md shows ("Who may do what"): each act a door asks about, for each
/// role, under the default team policy and under a strict one. The docs are generated from the table, and a test fails when
/// they differ, so what the page says is what every door does.
/// </summary>
public static class DecisionRightsDocument
{
    /// <summary>The acts the tables list, each with how a reader names it.</summary>
    /// <remarks>A decision's act depends on the policy (who decides the kind, how many people): each is made for the policy asked.</remarks>
    public static readonly IReadOnlyList<(string Name, Func<TeamPolicy, Act> Act)> Acts =
    [
        ("read sessions, files, git, approvals, the ledger, the team", _ => new UseRoute(Access.Read)),
        ("start a session, task or schedule in `ask` or `plan`", _ => new ChooseMode(SessionModes.Ask)),
        ("start one in `accept_edits` (or switch a session to it)", _ => new ChooseMode(SessionModes.AcceptEdits)),
        ("start one in `trusted` (or switch a session to it)", _ => new ChooseMode(SessionModes.Trusted)),
        ("steer (send, queue, review, resume, set its goal) a session in `ask`", _ => new Steer(SessionModes.Ask, [])),
        ("steer a session in `trusted`", _ => new Steer(SessionModes.Trusted, [])),
        ("steer a session where shell calls were allowed for the session", _ => new Steer(SessionModes.Ask, [RiskClasses.Shell])),
        ("stop or cancel a session, stage, commit, push", _ => new UseRoute(Access.Steer)),
        ("allow a shell call once", Decide(RiskClasses.Shell, Decisions.AllowOnce)),
        ("allow a shell call for the session", Decide(RiskClasses.Shell, Decisions.AllowSession)),
        ("allow a shell call always (adds a rule)", Decide(RiskClasses.Shell, Decisions.AllowAlways)),
        ("deny a shell call", Decide(RiskClasses.Shell, Decisions.Deny)),
        ("allow a sandbox's connection to a host nobody allowed, once", Decide(RiskClasses.Network, Decisions.AllowOnce)),
        ("allow a host always (adds a network rule)", Decide(RiskClasses.Network, Decisions.AllowAlways)),
        ("allow an edit of git, agent or CI configuration", Decide(RiskClasses.Protected, Decisions.AllowOnce)),
        ("answer or dismiss a question", Decide(RiskClasses.Question, DecideCall.Answer)),
        ("raise a budget", Decide(RiskClasses.Budget, Decisions.AllowOnce)),
        ("set a session's goal with caps above the defaults, or raise them", _ => new RaiseGoalCaps()),
        ("write a file by hand", _ => new WriteFile(false)),
        ("write git, agent or CI configuration by hand (by where it really leads)", _ => new WriteFile(true)),
        ("run commands and the terminal of one's own", _ => new UseRoute(Access.Shell)),
        ("open or close a preview of a server a session started", _ => new OpenPreview()),
        ("make, list or revoke a link to watch a session", _ => new ShareWatch()),
        ("change people, rules, the team policy, MCP servers, profiles, bridges, projects", _ => new Manage("do this")),
    ];

    /// <summary>The strict policy the second table shows: shell calls decided by owners, and each needing two people.</summary>
    public static readonly TeamPolicy Strict = TeamPolicy.Default with
    {
        Deciders = new Dictionary<string, string> { [RiskClasses.Shell] = Roles.Owner },
        TwoPerson = [RiskClasses.Shell],
    };

    /// <summary>The markdown docs/security.md holds between its <c>decision-rights</c> markers.</summary>
    public static string Markdown()
    {
        var text = new StringBuilder();
        Table(text, "Under the default team policy (approvers and owners decide every kind of call; no kind needs two people):", TeamPolicy.Default);
        text.Append('\n');
        Table(text, "Under a strict one (shell calls decided by owners, and needing two people's allow):", Strict);
        return text.ToString();
    }

    private static void Table(StringBuilder text, string title, TeamPolicy policy)
    {
        Role[] roles = [Role.Viewer, Role.Operator, Role.Approver, Role.Owner];
        text.Append(title).Append("\n\n| act | ").AppendJoin(" | ", roles.Select(r => r.ToWire())).Append(" |\n|---|")
            .AppendJoin("", roles.Select(_ => "---|")).Append('\n');
        foreach (var (name, act) in Acts)
        {
            var asked = act(policy);
            text.Append("| ").Append(name).Append(" | ")
                .AppendJoin(" | ", roles.Select(role => Cell(DecisionRights.Check(new Decider("p", "P", role, Active: true), asked, policy), asked)))
                .Append(" |\n");
        }
    }

    private static string Cell(Right right, Act act) => !right.Allowed ? $"`{right.Code}`"
        : act is DecideCall { Needed: > 1, Allows: true } ? "yes, one of two" : "yes";

    private static Func<TeamPolicy, Act> Decide(string risk, string decision) =>
        policy => new DecideCall(risk, policy.LeastToDecide(risk), policy.NeedsTwo(risk) ? 2 : 1, false, decision);
}
