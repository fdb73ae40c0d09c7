using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Errors;

namespace PocketCoder.Teams;

/// <summary>A person as the decision-rights table sees them at this moment, where the subject is.</summary>
/// <param name="Role">Their role in the subject's project: their own, or lower where the project narrows it.</param>
/// <param name="Active">False for a revoked person, or a device that is no one's: they may do nothing.</param>
/// <param name="Narrowed">Their role is lower in this project than their own (said in a refusal).</param>
/// <param name="HasPasskey">They have a passkey registered: what matters then needs a fresh assertion of it (<see cref="DecisionRights.NeedsStepUp"/>).</param>
public sealed record Decider(string? PersonId, string Name, Role Role, bool Active, bool Narrowed = false, bool HasPasskey = false)
{
    public static Decider Nobody(string name) => new(null, name, Role.Viewer, Active: false);
}

/// <summary>What someone wants to do, with what the table needs to know about its subject. Every door asks about one of these.</summary>
public abstract record Act;

/// <summary>Reaching a route (<see cref="RouteAccess"/>): the least role its access needs.</summary>
public sealed record UseRoute(Access Access) : Act;

/// <summary>
/// Starting a session (a task, a schedule, a conversation carried on) in a mode, or switching a session to it: the calls the
/// mode allows unasked are the chooser's decision, each of them.
/// </summary>
public sealed record ChooseMode(string Mode) : Act;

/// <summary>
/// Sending to, queueing in, reviewing, resuming or retrying a session: what it runs unasked (its mode and its standing
/// "allow for this session" grants, by their risk) is the steerer's decision, exactly as choosing the mode is.
/// </summary>
public sealed record Steer(string Mode, IReadOnlyCollection<string> GrantedRisks) : Act;

/// <summary>
/// A call the gate would allow without asking anyone, by the session's mode or a grant (never by a rule, the owners' own
/// word): it runs only on the word of whoever started the turn, so they must be able to allow it alone now.
/// </summary>
public sealed record AllowUnasked(string Risk, IReadOnlyList<string>? Signs = null) : Act
{
    /// <summary>The call as the gate read it: a policy naming one of its signs holds it as it holds its class.</summary>
    public RiskReading Reading => new(Risk, Signs ?? []);
}

/// <summary>Deciding a waiting call (or raising a budget, risk <c>budget</c>), as the call stood when it was asked.</summary>
/// <param name="Least">The least role the project's policy named for the call's kind when it was asked.</param>
/// <param name="Needed">How many different people's allow it needs.</param>
/// <param name="AllowedAlready">This person's allow is already counted (one of two).</param>
/// <param name="Decision">allow_once, allow_session, allow_always, deny, or answer (a question's answers).</param>
/// <param name="Edited">An allow with the input edited.</param>
/// <param name="Verified">The decision carries the person's fresh passkey assertion, bound to this approval, decision and input.</param>
public sealed record DecideCall(string Risk, Role Least, int Needed, bool AllowedAlready, string Decision, bool Edited = false, bool Verified = false) : Act
{
    public const string Answer = "answer";

    /// <summary>Raising a spent budget one step, as its question asks (who a budget warning goes to).</summary>
    public static readonly DecideCall RaiseBudget = new(RiskClasses.Budget, TeamPolicy.Default.LeastToDecide(RiskClasses.Budget), 1, false, Decisions.AllowOnce);

    public bool Allows => Decision != Decisions.Deny;
}

/// <summary>
/// Setting a session's goal with caps above the defaults (or raising an open goal's): letting it spend more of the budget
/// unasked, which is a budget raise. Setting a goal within them is steering (<see cref="Steer"/>).
/// </summary>
public sealed record RaiseGoalCaps : Act;

/// <summary>Writing, renaming or deleting a file by hand, judged by where it really leads (protected: git, agent or CI configuration).</summary>
public sealed record WriteFile(bool Protected) : Act;

/// <summary>
/// Opening a preview of a server a session's command started (or closing one): seeing what the agent built, on an origin of its
/// own, and sending it requests as the owner's browser would. Those who start and steer sessions may; a viewer only reads.
/// </summary>
public sealed record OpenPreview : Act;

/// <summary>
/// Making, listing or revoking a link that lets anyone holding it watch a session (its stream and changes, read-only): it
/// shows the session's work outside the team, so owners only.
/// </summary>
public sealed record ShareWatch : Act;

/// <summary>Changing what decides what runs or who may: rules, the team policy, people, MCP servers, profiles, bridges, projects.</summary>
public sealed record Manage(string What) : Act;

/// <summary>The table's answer: allowed, or refused with an HTTP status, a stable code and a sentence that names who can.</summary>
public sealed record Right(bool Allowed, int Status = StatusCodes.Status200OK, string? Code = null, string? Reason = null)
{
    public static readonly Right Yes = new(true);

    public static Right No(int status, string code, string reason) => new(false, status, code, reason);

    public static Right Forbidden(string reason) => No(StatusCodes.Status403Forbidden, ErrorCodes.RoleForbidden, reason);

    public ApiProblem? Problem => Allowed ? null : new ApiProblem(Status, Code!, Reason!);

    /// <exception cref="ApiProblem">The refusal.</exception>
    public void Ensure()
    {
        if (Problem is { } problem)
        {
            throw problem;
        }
    }
}

/// <summary>
/// Who may do what, in one place: a pure table from a person (their role where the subject is, revoked or not), an act on a
/// subject and the project's team policy to allow, or a refusal with its stable code and a sentence naming who can. Every
/// door asks it — the route guard, the gatekeeper (decisions, and allows by mode or grant), starting and steering sessions
/// (the API, chat bridges, the CLI), the files API, the backlog and schedules as their work starts — and what the app, chat
/// cards and the CLI offer is read from it (<see cref="Authority"/>). docs/security.md's table is generated from it
/// (<see cref="Document"/>) and checked by a test.
/// </summary>
public static class DecisionRights
{
    public static Right Check(Decider who, Act act, TeamPolicy policy)
    {
        if (!who.Active)
        {
            return Right.Forbidden($"{who.Name} may do nothing here: this device belongs to no one who may (revoked, or never paired as a person's).");
        }

        return act switch
        {
            UseRoute route => Route(who, route.Access, policy),
            ChooseMode choose => Mode(who, choose.Mode, policy),
            Steer steer => SteerRight(who, steer, policy),
            AllowUnasked unasked => policy.AllowsAlone(who.Role, unasked.Reading) ? Right.Yes
                : Right.Forbidden($"{who.Name} started this turn and, {Article(who.Role)} {who.Role.ToWire()}, could not allow {unasked.Risk} calls alone; {policy.LeastToDecide(unasked.Reading).AndAbove()} decide them."),
            DecideCall decide => Decide(who, decide) is { Allowed: false } refused ? refused : StepUp(who, decide),
            RaiseGoalCaps => who.Role < policy.LeastToDecide(RiskClasses.Budget)
                ? Right.Forbidden($"Raising a goal's caps is a budget raise, which only {policy.LeastToDecide(RiskClasses.Budget).AndAbove()} decide; {Is(who)}.")
                : Right.Yes,
            WriteFile write => Write(who, write, policy),
            OpenPreview => Below(who, Role.Operator, "open previews of what a session serves") ?? Right.Yes,
            ShareWatch => who.Role == Role.Owner ? Right.Yes : Right.Forbidden($"Only owners share a session by a link to watch it; {Is(who)}."),
            Manage manage => who.Role == Role.Owner ? Right.Yes : Right.Forbidden($"Only owners {manage.What}; {Is(who)}."),
            _ => throw new ArgumentOutOfRangeException(nameof(act), act, "An act the table does not know."),
        };
    }

    /// <summary>
    /// The kinds of call a session in <paramref name="mode"/>, with standing grants of <paramref name="grantedRisks"/>, runs
    /// without asking anyone. A kind whose allow needs two people is not among them: the gate asks it whatever the mode or grant.
    /// Protected calls, questions and budgets are always asked.
    /// </summary>
    public static IReadOnlyList<string> Unasked(string mode, IEnumerable<string> grantedRisks, TeamPolicy policy)
    {
        IEnumerable<string> byMode = mode switch
        {
            Agents.SessionModes.Trusted => [RiskClasses.Read, RiskClasses.Edit, RiskClasses.Shell, RiskClasses.Fetch, RiskClasses.Mcp, RiskClasses.Other],
            Agents.SessionModes.AcceptEdits => [RiskClasses.Edit],
            _ => [],
        };
        return [.. byMode.Concat(grantedRisks).Distinct(StringComparer.Ordinal)
            .Where(risk => risk is not (RiskClasses.Protected or RiskClasses.Question or RiskClasses.Budget) && !policy.NeedsTwo(risk))];
    }

    private static Right Route(Decider who, Access access, TeamPolicy policy)
    {
        var least = AccessRule.LeastFor(access);
        if (who.Role < least)
        {
            return Right.Forbidden($"Only {least.AndAbove()} may do this; {Is(who)}.");
        }

        // A shell of one's own is deciding a shell call alone, which no one but an owner does where shell calls need two people.
        return access == Access.Shell && who.Role != Role.Owner && policy.NeedsTwo(RiskClasses.Shell)
            ? Right.Forbidden($"Only owners may do this (this project asks two people for shell calls); {Is(who)}.")
            : Right.Yes;
    }

    private static Right Mode(Decider who, string mode, TeamPolicy policy) =>
        Below(who, Role.Operator, "start or steer sessions")
        ?? (NotAloneUnasked(who, mode, [], policy) is { } beyond
            ? Right.No(StatusCodes.Status403Forbidden, ErrorCodes.ModeNotAllowed,
                $"A {mode} session allows {beyond} calls unasked, which {who.Name}, {Article(who.Role)} {who.Role.ToWire()}, could not allow alone in this project ({policy.LeastToDecide(beyond).AndAbove()} can): choose ask or plan.")
            : Right.Yes);

    private static Right SteerRight(Decider who, Steer steer, TeamPolicy policy)
    {
        if (Below(who, Role.Operator, "start or steer sessions") is { } refused)
        {
            return refused;
        }

        if (NotAloneUnasked(who, steer.Mode, steer.GrantedRisks, policy) is not { } beyond)
        {
            return Right.Yes;
        }

        var why = Unasked(steer.Mode, [], policy).Contains(beyond) ? $"its mode, {steer.Mode}" : "an \"allow for this session\" grant";
        return Right.No(StatusCodes.Status403Forbidden, ErrorCodes.SteerNotAllowed,
            $"This session runs {beyond} calls unasked ({why}), which {who.Name}, {Article(who.Role)} {who.Role.ToWire()}, could not allow alone in this project: "
            + $"only {policy.LeastToDecide(beyond).AndAbove()} steer it as it is. Switch it to ask or plan mode first, or ask one of them to send this.");
    }

    private static Right Decide(Decider who, DecideCall call)
    {
        var budget = call.Risk == RiskClasses.Budget;
        if (who.Role < call.Least)
        {
            var what = budget ? "raise a budget" : $"decide {call.Risk} calls in this project";
            return Right.Forbidden($"Only {call.Least.AndAbove()} may {what}; {Is(who)}.");
        }

        if (call.Allows && budget && call.Decision != Decisions.AllowOnce)
        {
            return Right.No(StatusCodes.Status400BadRequest, ErrorCodes.ValidationFailed,
                "A budget is raised one step at a time: allow it once (or deny to stop the agent).");
        }

        if (call.Decision == Decisions.AllowAlways && who.Role != Role.Owner)
        {
            return Right.Forbidden("\"Allow always\" adds a project rule, and only owners change rules: allow it once or for this session.");
        }

        if (!call.Allows || call.Needed <= 1)
        {
            return Right.Yes;
        }

        if (call.Decision is Decisions.AllowSession or Decisions.AllowAlways)
        {
            return Right.No(StatusCodes.Status422UnprocessableEntity, ErrorCodes.TwoPersonAllowOnce,
                "This call needs two people's allow, so it is allowed once at a time: a grant or a rule would let one person allow the next.");
        }

        if (call.Edited)
        {
            // The other person allowed what was asked; an edit would run a command only one person saw.
            return Right.No(StatusCodes.Status422UnprocessableEntity, ErrorCodes.TwoPersonAllowOnce,
                "This call needs two people's allow of the same thing, so it cannot be edited: deny it with a message saying what to run instead.");
        }

        return call.AllowedAlready
            ? Right.No(StatusCodes.Status409Conflict, ErrorCodes.AlreadyAllowedByYou,
                $"{who.Name} has allowed this already: it needs another person's allow (your other devices are you).")
            : Right.Yes;
    }

    /// <summary>
    /// The decisions that need a fresh passkey assertion from a person who has one (#68): allowing a call of the highest risk
    /// class (git, agent or CI configuration), a sandbox's connection, a two-person call, an "always" rule (a tool's or a
    /// network one), or raising a budget. Denying never does, nor an answer to a question.
    /// </summary>
    public static bool NeedsStepUp(DecideCall call) => call.Allows && call.Decision != DecideCall.Answer
        && (call.Risk is RiskClasses.Protected or RiskClasses.Network or RiskClasses.Budget || call.Needed > 1 || call.Decision == Decisions.AllowAlways);

    private static Right StepUp(Decider who, DecideCall call) => !NeedsStepUp(call) || call.Verified || !who.HasPasskey ? Right.Yes
        : Right.No(StatusCodes.Status403Forbidden, ErrorCodes.StepUpRequired,
            $"This decision needs {who.Name}'s passkey: verify on your phone, in the app, where the call is shown whole. A chat button, a notification or the terminal cannot give it.");

    private static Right Write(Decider who, WriteFile write, TeamPolicy policy) =>
        Below(who, Role.Operator, "change files")
        ?? (write.Protected && !policy.AllowsAlone(who.Role, RiskClasses.Protected)
            ? Right.Forbidden("This file is git, agent or CI configuration (or leads there), which changes what runs next: only those who may allow "
                + $"such an edit alone may change it in this project ({policy.LeastToDecide(RiskClasses.Protected).AndAbove()}); {Is(who)}.")
            : Right.Yes);

    /// <summary>The first risk a session would run unasked (by its mode and grants) that <paramref name="who"/> could not allow alone.</summary>
    private static string? NotAloneUnasked(Decider who, string mode, IEnumerable<string> granted, TeamPolicy policy) =>
        Unasked(mode, granted, policy).FirstOrDefault(risk => !policy.AllowsAlone(who.Role, risk));

    /// <summary>A refusal for someone below <paramref name="least"/>, who may not <paramref name="what"/>; null for anyone else.</summary>
    private static Right? Below(Decider who, Role least, string what) =>
        who.Role < least ? Right.Forbidden($"Only {least.AndAbove()} {what}; {Is(who)}.") : null;

    private static string Is(Decider who) => $"{who.Name} is {Article(who.Role)} {who.Role.ToWire()}{(who.Narrowed ? " in this project" : "")}";

    public static string Article(Role role) => role is Role.Approver or Role.Operator or Role.Owner ? "an" : "a";
}
