using Microsoft.AspNetCore.Http.HttpResults;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Teams;

namespace PocketCoder.Approvals;

/// <param name="Pattern">With <c>allow_always</c>: the rule's pattern as the owner confirmed it (the card proposes the
/// approval's <c>alwaysPattern</c>); it must cover this call. Absent: the exact call (<c>rulePattern</c>), as before.</param>
/// <param name="ClientId">The sender's key for this decision (an idempotency key, <see cref="DecisionKeys"/>): sent again with the
/// same key, it gets the same answer and is decided once.</param>
public sealed record DecisionRequest(
    [property: Required(ErrorMessage = DecisionRequest.DecisionMessage)]
    [property: AllowedValues(Decisions.AllowOnce, Decisions.AllowSession, Decisions.AllowAlways, Decisions.Deny, ErrorMessage = DecisionRequest.DecisionMessage)]
    string? Decision,
    [property: StringLength(ApprovalsApi.MaxMessageLength, ErrorMessage = "'message' is at most {1} characters.")]
    string? Message,
    JsonElement? UpdatedInput,
    [property: AllowedValues(DecisionRequest.ViaNotification, null, ErrorMessage = "'via' is \"notification\" (an action on a notification) or absent.")]
    string? Via = null,
    [property: StringLength(100, ErrorMessage = "'allowToken' is at most {1} characters.")]
    string? AllowToken = null,
    [property: StringLength(1000, MinimumLength = 1, ErrorMessage = "'pattern' is the rule's glob, 1 to 1000 characters.")]
    string? Pattern = null,
    [property: StringLength(64, MinimumLength = 8, ErrorMessage = DecisionRequest.ClientIdMessage)]
    string? ClientId = null,
    Passkeys.PasskeyAssertion? Assertion = null)
{
    internal const string ClientIdMessage = "'clientId' is 8 to 64 characters.";

    internal const string DecisionMessage = "'decision' must be one of allow_once, allow_session, allow_always, deny.";

    /// <summary>Set by the service worker on a notification's action: an allow then needs the notification's allow token.</summary>
    public const string ViaNotification = "notification";
}

/// <param name="StartingAhead">The call's agent is paused on it and is asked to start again for this look (unless every agent
/// slot is taken, the session then says <c>agent ready for the decision</c>); false when the agent is not paused on this
/// call, the call is settled, or the server starts nothing ahead.</param>
public sealed record LookResponse(bool StartingAhead);

/// <param name="Status"><c>pending</c> when this was the first of two people's allows (<paramref name="AllowedBy"/> so far).</param>
public sealed record DecisionResponse(string Id, string Status, string Decision, int Needed = 1, IReadOnlyList<string>? AllowedBy = null);

/// <summary>Several decisions in one request (the inbox's "decide these together"): each is its own, through the same gatekeeper.</summary>
public sealed record BatchDecisionRequest(
    [property: Required(ErrorMessage = BatchDecisionRequest.ItemsMessage)]
    [property: ItemCount(ApprovalsApi.MaxBatch, Min = 1, ErrorMessage = BatchDecisionRequest.ItemsMessage)]
    IReadOnlyList<BatchDecisionItem>? Decisions)
{
    // No braces: the annotations format their message (a "{id, …}" here was a 500 on a body without the list).
    internal const string ItemsMessage = "'decisions' is a list of 1 to 50 decisions, each with an 'id', a 'decision' and an optional 'message'.";
}

public sealed record BatchDecisionItem(
    [property: Required(ErrorMessage = "Each decision's 'id' is the approval's id.")]
    [property: StringLength(100, MinimumLength = 1, ErrorMessage = "Each decision's 'id' is the approval's id.")]
    string? Id,
    [property: Required(ErrorMessage = DecisionRequest.DecisionMessage)]
    [property: AllowedValues(Decisions.AllowOnce, Decisions.AllowSession, Decisions.AllowAlways, Decisions.Deny, ErrorMessage = DecisionRequest.DecisionMessage)]
    string? Decision,
    [property: StringLength(ApprovalsApi.MaxMessageLength, ErrorMessage = "'message' is at most {1} characters.")]
    string? Message = null,
    [property: StringLength(64, MinimumLength = 8, ErrorMessage = DecisionRequest.ClientIdMessage)]
    string? ClientId = null);

/// <summary>One decision of a batch, in the batch's order: <paramref name="Decided"/> as <c>/decision</c> answers it, or why it was refused
/// (<paramref name="Error"/>, as that endpoint's problem+json would have said).</summary>
public sealed record BatchDecisionResult(string Id, DecisionResponse? Decided, BatchDecisionError? Error);

/// <param name="Status">The HTTP status the single decision would have been answered with (403 not yours, 404, 409 already decided).</param>
public sealed record BatchDecisionError(int Status, string Code, string Detail);

public sealed record BatchDecisionResponse(IReadOnlyList<BatchDecisionResult> Results);

/// <param name="Offers">What the caller may do with it now (exactly what the server will accept), and, where they may not allow it, who can.</param>
/// <param name="RiskSigns">What the server read in the call when it asked (<see cref="Approvals.RiskSigns"/>), each a code the app
/// puts in words; empty when nothing stood out.</param>
/// <param name="AlwaysPattern">The rule "Always allow" proposes (<see cref="AlwaysPatterns"/>): wider than
/// <paramref name="RulePattern"/> for a plain run of a known tool (<c>git status *</c>), the same for anything else.</param>
/// <param name="ParentToolCallId">Asked by a subagent: the call that started it; absent for the main thread.</param>
/// <param name="AskedBy">That call's title (its tool's name when it had none), for a card with no session log to read it from.</param>
public sealed record ApprovalResponse(
    string Id, string SessionId, string ProjectId, string ToolCallId, string Tool, string Kind, string Title, JsonElement Input,
    string? Plan, string Status, DateTimeOffset CreatedAt, string? Decision, string? DecidedBy, DateTimeOffset? DecidedAt,
    string? Message, JsonElement? UpdatedInput, IReadOnlyList<string> DeliveredTo, bool CanEditInput, string RulePattern,
    string Risk, string DeciderRole, int Needed, IReadOnlyList<string> AllowedBy, ApprovalOffers? Offers = null, IReadOnlyList<string>? RiskSigns = null,
    string? AlwaysPattern = null, string? ParentToolCallId = null, string? AskedBy = null);

/// <summary>What a rule would have matched among the project's newest questions (<paramref name="Checked"/> of them).</summary>
public sealed record RulePreview(int Checked, int Matched, IReadOnlyList<RuleMatch> Examples);

/// <param name="Subject">The command or project-relative path the question was about; <c>*</c> when it had neither.</param>
public sealed record RuleMatch(string Tool, string Kind, string Subject, DateTimeOffset At);

/// <param name="Tool">Checked by the handler: which names are tools is the policy's knowledge (RuleTools).</param>
public sealed record CreateRuleRequest(
    string? Tool,
    [property: Required(AllowEmptyStrings = true, ErrorMessage = CreateRuleRequest.PatternMessage)]
    [property: StringLength(1000, MinimumLength = 1, ErrorMessage = CreateRuleRequest.PatternMessage)]
    string? Pattern,
    [property: Required(ErrorMessage = CreateRuleRequest.ActionMessage)]
    [property: AllowedValues(RuleActions.Allow, RuleActions.Deny, RuleActions.Ask, ErrorMessage = CreateRuleRequest.ActionMessage)]
    string? Action)
{
    internal const string PatternMessage = "'pattern' is required: a glob for the command or path (\"*\" for anything), at most 1000 characters.";
    internal const string ActionMessage = "'action' must be one of allow, deny, ask.";
}

public sealed record RuleResponse(string Id, string ProjectId, string Tool, string Pattern, string Action, DateTimeOffset CreatedAt, string? CreatedBy)
{
    public static RuleResponse From(Rule r) => new(r.Id, r.ProjectId, r.Tool, r.Pattern, r.Action, r.CreatedAt, r.CreatedBy);
}

public static class ApprovalsApi
{
    public const int MaxMessageLength = 4_000;

    /// <summary>The most decisions one batch carries: a screenful of similar calls, not a way round the gatekeeper's pace.</summary>
    public const int MaxBatch = 50;

    public static IServiceCollection AddApprovals(this IServiceCollection services) =>
        services.AddSingleton<Rules>().AddSingleton<ProjectPolicies>().AddSingleton<ApprovalStore>().AddSingleton<Gatekeeper>();

    public static void MapApprovals(this IEndpointRouteBuilder api)
    {
        var approvals = api.MapGroup("/approvals");
        approvals.MapGet("/", List).WithName("ListApprovals");
        approvals.MapGet("/{id}", Get).WithName("GetApproval");
        approvals.MapPost("/{id}/decision", Decide).WithName("DecideApproval");
        approvals.MapPost("/decisions", DecideEach).WithName("DecideApprovals");
        approvals.MapPost("/{id}/answer", Answer).WithName("AnswerQuestion");
        approvals.MapPost("/{id}/look", Look).WithName("LookAtApproval");

        var rules = api.MapGroup("/projects/{projectId}/rules");
        rules.MapGet("/", ListRules).WithName("ListRules");
        rules.MapPost("/", AddRule).WithName("AddRule");
        rules.MapDelete("/{ruleId}", RemoveRule).WithName("RemoveRule");
        rules.MapPut("/{ruleId}", ChangeRule).WithName("ChangeRule");
        rules.MapPost("/preview", PreviewRule).WithName("PreviewRule");
    }

    private static IEnumerable<ApprovalResponse> List(string? status, string? sessionId, ApprovalStore approvals, Authority authority, ClaimsPrincipal user)
    {
        var filter = ApprovalLifecycle.TryFromWire(status);
        if (status is not null && filter is not (ApprovalStatus.Pending or ApprovalStatus.Decided))
        {
            throw ApiProblem.Validation("'status' must be 'pending' or 'decided'.");
        }

        var list = approvals.List(filter, sessionId);
        // Listing counts as delivery: this device has now been shown these questions.
        approvals.MarkDelivered(list.Where(a => a.Status == ApprovalStatus.Pending).Select(a => a.Id), user.Actor().Id);
        var delivered = approvals.DeliveredTo(list.Select(a => a.Id));
        var allowedBy = approvals.AllowedBy(list.Where(a => a.Needed > 1).Select(a => a.Id));
        var offers = authority.OffersFor(user.Actor(), list, approvals);
        return list.Select(a => ToResponse(a, delivered[a.Id], allowedBy.GetValueOrDefault(a.Id) ?? [], offers[a.Id]));
    }

    private static ApprovalResponse Get(string id, ApprovalStore approvals, Authority authority, ClaimsPrincipal user)
    {
        var approval = approvals.Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, $"No approval with id '{id}'.");
        return ToResponse(approval, approvals.DeliveredTo([approval.Id])[approval.Id], approvals.AllowedBy([approval.Id])[approval.Id],
            authority.OffersFor(user.Actor(), [approval], approvals)[approval.Id]);
    }

    /// <summary>
    /// The app shows this call's card to someone who may decide it (the inbox's first): a paused agent starts again while they
    /// read, as when they open the session, so their allow runs the call without the agent's start-up.
    /// </summary>
    private static LookResponse Look(string id, ApprovalStore approvals, Sessions.LooksAhead looks, ClaimsPrincipal user)
    {
        var approval = approvals.Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, $"No approval with id '{id}'.");
        return new LookResponse(looks.CardShown(user.Actor(), approval));
    }

    private static DecisionResponse Decide(string id, DecisionRequest request, Gatekeeper gatekeeper, ApprovalStore approvals,
        Notifications.NotificationActions notificationActions, Passkeys.StepUps stepUps, Teams.People people, ClaimsPrincipal user, HttpRequest http,
        Auth.Devices devices)
    {
        if (request.UpdatedInput is { ValueKind: not JsonValueKind.Object and not JsonValueKind.Null and not JsonValueKind.Undefined })
        {
            throw ApiProblem.Validation("'updatedInput' must be a JSON object: the tool's input as it should run.");
        }

        var updated = request.UpdatedInput is { ValueKind: JsonValueKind.Object } input ? input : (JsonElement?)null;
        if (request.Via == DecisionRequest.ViaNotification && request.Decision != Decisions.Deny
            && approvals.Find(id) is { Status: ApprovalStatus.Pending } asked
            && !notificationActions.MayAllow(asked, user.Actor().Id, request.Decision!, updated is not null, request.AllowToken))
        {
            // Only a notification that showed the call whole offered Allow, with its token: anything else (a cut command, a
            // payload made to offer Allow) allows nothing. Deny, and anything already settled, go through as ever.
            throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.NotShownWhole,
                "The notification could not show this call whole, so it cannot be allowed from there: open the app, where it is shown whole.");
        }

        Approval approval;
        try
        {
            approval = gatekeeper.Decide(id, request.Decision!, request.Message, updated, user.Actor(), request.Pattern, request.ClientId,
                stepUp: StepUpOf(id, request, updated, approvals, stepUps, people, user));
        }
        catch (ApiProblem problem) when (problem.Code == ErrorCodes.StepUpRequired && request.Via != DecisionRequest.ViaNotification
            && people.OfDevice(user.Actor().Id) is { } person && approvals.Find(id) is { } shown)
        {
            // The app's card: the refusal carries the challenge for this very decision and input, so one signature decides it.
            var (challenge, keys) = stepUps.Begin(person.Id, shown.Id, request.Decision!, Passkeys.PasskeysApi.WhatIsSigned(shown, updated, request.Pattern, request.Message),
                Passkeys.RelyingParty.Of(http, devices));
            throw Passkeys.StepUps.Required(problem.Message, challenge, keys);
        }

        return new DecisionResponse(approval.Id, approval.Status.ToWire(), approval.Decision ?? request.Decision!, approval.Needed,
            approval.Needed > 1 ? approvals.AllowedBy([approval.Id])[approval.Id] : null);
    }

    /// <summary>
    /// The passkey assertion a decision carries, verified for this approval, decision and input (spent as it is); null when it
    /// carries none (the decision-rights table then says whether it needed one).
    /// </summary>
    private static Passkeys.StepUp? StepUpOf(string id, DecisionRequest request, JsonElement? updated, ApprovalStore approvals, Passkeys.StepUps stepUps,
        Teams.People people, ClaimsPrincipal user)
    {
        if (request.Assertion is not { } assertion || approvals.Find(id) is not { } asked)
        {
            return null;
        }

        var person = people.OfDevice(user.Actor().Id)
            ?? throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.StepUpInvalid, "This device is no one's: a passkey belongs to a person.");
        return stepUps.Verify(person.Id, asked.Id, request.Decision!, Passkeys.PasskeysApi.WhatIsSigned(asked, updated, request.Pattern, request.Message), assertion);
    }

    /// <summary>
    /// Several calls decided together, each exactly as <c>/{id}/decision</c> would (the gatekeeper checks this person's right to
    /// each, writes each its own ledger entry and resumes each agent); one refused (not theirs, decided already, gone) is said
    /// in its result and stops none of the others. The same id twice is refused whole: a batch says each decision once.
    /// </summary>
    private static BatchDecisionResponse DecideEach(BatchDecisionRequest request, Gatekeeper gatekeeper, ApprovalStore approvals, ClaimsPrincipal user)
    {
        var items = request.Decisions ?? throw ApiProblem.Validation(BatchDecisionRequest.ItemsMessage);
        if (items.Count is 0 or > MaxBatch || items.Any(i => i?.Id is null || i.Decision is null))
        {
            // A null in the list says no decision at all (the annotations check the items that are there).
            throw ApiProblem.Validation(BatchDecisionRequest.ItemsMessage);
        }

        if (items.Select(i => i.Id).Distinct(StringComparer.Ordinal).Count() != items.Count)
        {
            throw ApiProblem.Validation("'decisions' names an approval twice: each is decided once.");
        }

        var actor = user.Actor();
        return new BatchDecisionResponse([.. items.Select(item =>
        {
            try
            {
                var approval = gatekeeper.Decide(item.Id!, item.Decision!, item.Message, null, actor, clientId: item.ClientId,
                    onItsOwn: asked => item.Decision == Decisions.Deny ? null : NotForABatch(asked, item.Decision!));
                return new BatchDecisionResult(approval.Id, new DecisionResponse(approval.Id, approval.Status.ToWire(), approval.Decision ?? item.Decision!,
                    approval.Needed, approval.Needed > 1 ? approvals.AllowedBy([approval.Id])[approval.Id] : null), null);
            }
            catch (ApiProblem problem)
            {
                return new BatchDecisionResult(item.Id!, null, new BatchDecisionError(problem.Status, problem.Code, problem.Message));
            }
        })]);
    }

    /// <summary>
    /// Why an allow must be given on the card itself, not among others (the app offers a batch only for plain calls; the
    /// server holds it to that): what the server read as risky, a plan, a question, a budget, or a standing rule.
    /// </summary>
    internal static string? NotForABatch(Approval asked, string decision) =>
        decision == Decisions.AllowAlways ? "An 'always' rule is added from the call's own card, where it is shown."
        : asked.Signs.Count > 0 ? $"This call reads as risky ({string.Join(", ", asked.Signs)}): allow it on its own card."
        : asked.Plan is not null ? "A plan is read and decided on its own."
        : asked.Kind is ApprovalKind.Question ? "A question is answered on its own card."
        : asked.Kind is ApprovalKind.Budget ? "A budget is raised on its own card."
        : null;

    /// <summary>Answers a question: checked against its options, then allowed with the answers as the agent reads them.</summary>
    private static DecisionResponse Answer(string id, AnswerRequest request, ApprovalStore approvals, Gatekeeper gatekeeper, ClaimsPrincipal user)
    {
        var approval = approvals.Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, $"No approval with id '{id}'.");
        if (approval.Status.IsSettled())
        {
            // Said before the answers are checked: whoever came second learns that first.
            throw ApiProblem.Conflict(ErrorCodes.ApprovalAlreadyDecided,
                $"This question is already {approval.Status.ToWire()}{(approval.DecidedBy is null ? "" : $" by {approval.DecidedBy}")}.");
        }

        var decided = gatekeeper.Answer(id, QuestionAnswers.Apply(approval, request), QuestionAnswers.Owner(request), user.Actor());
        return new DecisionResponse(decided.Id, decided.Status.ToWire(), decided.Decision!);
    }

    private static IEnumerable<RuleResponse> ListRules(string projectId, Projects.ProjectStore projects, Rules rules)
    {
        projects.Get(projectId);
        return rules.List(projectId).Select(RuleResponse.From);
    }

    private static Created<RuleResponse> AddRule(string projectId, CreateRuleRequest request, Projects.ProjectStore projects, Rules rules, ClaimsPrincipal user)
    {
        projects.Get(projectId);
        var (tool, pattern) = RuleTool(request);
        var rule = rules.Add(projectId, tool, pattern, request.Action!, user.Actor());
        return TypedResults.Created($"/api/projects/{projectId}/rules/{rule.Id}", RuleResponse.From(rule));
    }

    private static RuleResponse ChangeRule(string projectId, string ruleId, CreateRuleRequest request, Projects.ProjectStore projects, Rules rules, ClaimsPrincipal user)
    {
        projects.Get(projectId);
        var (tool, pattern) = RuleTool(request);
        return RuleResponse.From(rules.Change(projectId, ruleId, tool, pattern, request.Action!, user.Actor()));
    }

    /// <summary>The project's last 200 questions that the rule would have matched: what a rule means, before it is saved.</summary>
    private static RulePreview PreviewRule(string projectId, CreateRuleRequest request, Projects.ProjectStore projects, ApprovalStore approvals)
    {
        projects.Get(projectId);
        var (tool, pattern) = RuleTool(request);
        var rule = new Rule("preview", projectId, tool, pattern, request.Action!, DateTimeOffset.UnixEpoch, null);
        var recent = approvals.Recent(projectId, 200);
        var matched = recent.Where(a => a.MatchedBy(rule)).ToList();
        return new RulePreview(recent.Count, matched.Count,
            [.. matched.Take(10).Select(a => new RuleMatch(a.Tool, a.Kind.ToWire(), a.RulePattern == "*" ? "*" : Glob.Unescape(a.RulePattern), a.CreatedAt))]);
    }

    /// <summary>The rule's tool and pattern, <c>mcp:SERVER/TOOL</c> written out (see <see cref="RuleTools.Normalize"/>).</summary>
    private static (string Tool, string Pattern) RuleTool(CreateRuleRequest request)
    {
        var (tool, pattern) = RuleTools.Normalize(request.Tool?.Trim() ?? "", request.Pattern!);
        if (tool == "network" && !Network.HostPattern.IsValid(pattern))
        {
            throw ApiProblem.Validation($"A network rule's pattern is \"*\", a host (any port), HOST:PORT, HOST:* or *.DOMAIN (an IPv6 address in brackets), not '{pattern}'.");
        }

        return !string.IsNullOrWhiteSpace(tool) && RuleTools.IsValid(tool)
            ? (tool, pattern)
            : throw ApiProblem.Validation(
                $"'tool' must be \"*\", a kind ({string.Join(", ", RuleTools.KindWords)}), \"mcp:SERVER/TOOL\" or an agent's tool name such as \"Bash\" (letters, digits, _ - . :).");
    }

    private static NoContent RemoveRule(string projectId, string ruleId, Rules rules, ClaimsPrincipal user)
    {
        rules.Remove(projectId, ruleId, user.Actor());
        return TypedResults.NoContent();
    }

    private static ApprovalResponse ToResponse(Approval a, IReadOnlyList<string> deliveredTo, IReadOnlyList<string> allowedBy, ApprovalOffers offers) => new(
        a.Id, a.SessionId, a.ProjectId, a.ToolCallId, a.Tool, a.Kind.ToWire(), a.Title, a.InputJson, a.Plan, a.Status.ToWire(),
        a.CreatedAt, a.Decision, a.DecidedBy, a.DecidedAt, a.Message, a.UpdatedInput is null ? null : JsonElement.Parse(a.UpdatedInput), deliveredTo, a.CanEditInput,
        a.RulePattern, a.Risk, a.DeciderRole, a.Needed, allowedBy, offers, a.Signs, AlwaysPatterns.For(a), a.AskedBy?.CallId, a.AskedBy?.Title);
}
