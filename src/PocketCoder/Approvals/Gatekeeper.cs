using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Teams;

namespace PocketCoder.Approvals;

/// <summary>What the gatekeeper needs to know about the session asking.</summary>
/// <param name="Agent">The session's agent: gives an edited call the title it runs under (<see cref="IAgentAdapter.TitleOf"/>).</param>
/// <param name="TurnBy">Who started the turn the call belongs to (the sender of its message, or who resumed the session): an
/// allow by the session's mode or a grant is their word (<see cref="GateVerdict"/>). Null: no one known.</param>
/// <param name="Grant">The owner's allow of a call its stopped agent is to run again after a resume (<see cref="OneTimeGrant"/>), or null.</param>
public sealed record GateContext(string SessionId, Project Project, string Mode, IAgentAdapter? Agent = null, Actor? TurnBy = null,
    OneTimeGrant? Grant = null);

/// <summary>
/// The single choke point every agent tool call passes. The gate's verdict (<see cref="GateVerdict"/>) decides what it
/// can; everything else becomes a persisted pending approval (<see cref="PendingApproval"/>) that waits — as long as it
/// takes, unless the project set a visible timeout — for a decision that settles it, each held to who may decide it
/// (<see cref="DecisionRights"/>, as of the moment it is made). Every outcome is written to the ledger. All approval SQL is in
/// <see cref="ApprovalStore"/>.
/// </summary>
public sealed class Gatekeeper(
    Database database,
    EventLog events,
    Ledger.LedgerStore ledger,
    ApprovalStore store,
    ProjectPolicies policies,
    Authority authority,
    TimeProvider clock,
    ILogger<Gatekeeper> logger)
{
    private readonly ConcurrentDictionary<string, PendingApproval> _waiting = new(StringComparer.Ordinal);

    /// <param name="onAsking">Called once the question is out to the humans (the session is now waiting for them).</param>
    public async Task<PermissionDecision> RequestAsync(GateContext context, PermissionRequest request, Action onAsking, CancellationToken cancellationToken)
    {
        // Told once however many questions this call takes (a budget's, then its own): the session waits once.
        var asked = 0;
        void AskingOnce()
        {
            if (Interlocked.Exchange(ref asked, 1) == 0)
            {
                onAsking();
            }
        }

        var raised = await HoldOnBudgetAsync(context, new BudgetHold(BudgetHold.Call, request.Tool, request.Title), request.ToolCallId, AskingOnce,
            cancellationToken).ConfigureAwait(false);
        if (!raised.Allow)
        {
            return raised;
        }

        if (context.Grant is { } grant && grant.Matches(request) && UseGrant(context, request, grant))
        {
            return new PermissionDecision(true) { ApprovalId = grant.ApprovalId };
        }

        var team = policies.Teams.For(context.Project.Id);
        var turnBy = context.TurnBy is null ? null : authority.Who(context.TurnBy, context.Project.Id);
        var verdict = GateVerdict.Of(request, context.Mode, policies.Rules.List(context.Project.Id), store.GrantedTools(context.SessionId), context.Project.Path, team, turnBy);
        if (verdict.Outcome != Outcome.Ask)
        {
            return ByPolicy(context, request, verdict);
        }

        // One reading routes the call (who decides, how many) and is what the card shows.
        var risk = RiskReading.Of(request, context.Project.Path);
        var approval = new Approval(
            Guid.NewGuid().ToString("N"), context.SessionId, context.Project.Id, request.ToolCallId, request.Tool, ApprovalKind.Of(request.Kind),
            request.Title, request.Input.GetRawText(), request.PlanText, RulePattern(request, context.Project.Path),
            ApprovalLifecycle.Asked, clock.GetUtcNow(), null, null, null, null, null, request.CanEditInput, risk.Class, team.LeastToDecide(risk).ToWire(),
            team.NeedsTwo(risk) ? 2 : 1, risk.Signs);
        // Read now, as the agent sees the file when it asks: the phone shows the edit among its lines.
        var editContext = request.Kind == ToolKind.Edit ? EditContext.For(request.Path, request.Input, context.Project.Path) : null;
        return await AskAsync(context, approval, editContext, AskingOnce, cancellationToken, request.ParentToolCallId).ConfigureAwait(false);
    }

    /// <summary>
    /// A spent budget holds what would spend more (a call mid-turn, a message that would start a turn) on "raise the
    /// budget?", decided by approvers and owners; an allow there raises the cap. Allowed at once while there is room.
    /// </summary>
    /// <param name="toolCallId">The held call's id (the phone shows the question on it); for a message, empty.</param>
    public async Task<PermissionDecision> HoldOnBudgetAsync(GateContext context, BudgetHold holds, string toolCallId, Action onAsking,
        CancellationToken cancellationToken)
    {
        if (policies.Budgets.Reached(context.Project.Id, context.SessionId) is not { } spent)
        {
            return new PermissionDecision(true);
        }

        var ask = policies.Budgets.Ask(context.Project.Id, spent, holds);
        var approval = new Approval(
            Guid.NewGuid().ToString("N"), context.SessionId, context.Project.Id, toolCallId, holds.Tool ?? "", new ApprovalKind.Budget(),
            Budgets.Title(spent), JsonSerializer.Serialize(ask, Server.WireJson.Default.BudgetAsk), null, "*", ApprovalLifecycle.Asked,
            clock.GetUtcNow(), null, null, null, null, null, false, RiskClasses.Budget, policies.Teams.For(context.Project.Id).LeastToDecide(RiskClasses.Budget).ToWire(), 1);
        return await AskAsync(context, approval, null, onAsking, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The call a stopped agent was allowed, asked again after its resume: allowed once on that decision, if its decider may still
    /// make it now, and so may every earlier person of a call that needed several (a revoked device or person, a narrowed role: the grant is given up and the call is asked anew). Its use is
    /// ledgered beside the decision it rests on.
    /// </summary>
    private bool UseGrant(GateContext context, PermissionRequest request, OneTimeGrant grant) => database.Write(write =>
    {
        var still = grant.SessionId == context.SessionId
            && AllowStands(write, context.SessionId, grant.ApprovalId, new Actor(grant.DeciderId, grant.DeciderName));
        if (!still)
        {
            grant.Close();
        }

        var used = still && grant.TryTake();
        ledger.Append(write, grant.DeciderName, used ? "approval.grant_used" : "approval.grant_refused", grant.ApprovalId, new JsonObject
        {
            ["sessionId"] = context.SessionId,
            ["toolCallId"] = request.ToolCallId,
            ["tool"] = request.Tool,
            ["input"] = JsonNode.Parse(request.Input.GetRawText()),
            ["deviceId"] = grant.DeciderId,
            ["reason"] = used ? "the owner's allow of this call, given while its agent was stopped" : still ? "already used" : "its decider may no longer decide it",
        });
        GateLog.ByPolicy(logger, used ? "allowed by a one-time grant" : "not allowed by a spent or refused grant", request.Tool, request.ToolCallId,
            context.SessionId, context.Mode, null);
        return used;
    });

    /// <summary>
    /// An allow given while its agent was stopped, as a paused Claude Code is about to run the call on it (after waiting in line
    /// for an agent slot, perhaps): it stands only if its decider may still make it now, and every earlier person of a call that
    /// needed several, as for a grant. Otherwise the call is denied (the model is told, and one it makes again is asked anew),
    /// ledgered as <c>approval.grant_refused</c> beside the decision.
    /// </summary>
    public PermissionDecision StillStanding(string sessionId, PausedCall call)
    {
        if (call.Decision is not { Allow: true, ApprovalId: { } approvalId, DeciderId: { } deciderId } decision)
        {
            return call.Decision;
        }

        var decider = new Actor(deciderId, decision.DeciderName ?? deciderId);
        return database.Write(write =>
        {
            if (AllowStands(write, sessionId, approvalId, decider))
            {
                return decision;
            }

            ledger.Append(write, decider.Name, "approval.grant_refused", approvalId, new JsonObject
            {
                ["sessionId"] = sessionId,
                ["toolCallId"] = call.ToolCallId,
                ["tool"] = call.Tool,
                ["deviceId"] = deciderId,
                ["reason"] = "its decider may no longer decide it",
            });
            return PermissionDecision.Deny("This call was not run: whoever allowed it may no longer decide it. Ask again if it is still needed.");
        });
    }

    /// <summary>
    /// Whether an allow of this session's call still stands now: its approval decided as an allow, the device that decided it
    /// still allowed to by the authority, and as many people as the call needed still counted.
    /// </summary>
    private bool AllowStands(DbWrite write, string sessionId, string approvalId, Actor decider) =>
        ApprovalStore.Find(write, approvalId) is { Status: ApprovalStatus.Decided, Decision: not Decisions.Deny } approval
        && approval.SessionId == sessionId
        && authority.Check(write, decider, approval.ProjectId, new DecideCall(approval.Risk, Roles.FromWire(approval.DeciderRole) ?? Role.Approver,
            1, false, approval.Decision!)).Problem is null
        && StillAllowedByEnough(write, approval);

    /// <summary>
    /// A call that needed several people still stands on as many: the earlier allows (the votes kept with the approval) are
    /// counted as of now beside the decider's, so revoking or narrowing any of them, not only the last, gives the grant up.
    /// </summary>
    private static bool StillAllowedByEnough(DbWrite write, Approval approval) =>
        approval.Needed <= 1 || ApprovalVotes.Counted(write, approval).Count + 1 >= approval.Needed;

    /// <summary>Decided without asking anyone: ledgered as the policy's, with the rule or the standing allow it rests on.</summary>
    private PermissionDecision ByPolicy(GateContext context, PermissionRequest request, Verdict verdict)
    {
        var allowed = verdict.Outcome == Outcome.Allow;
        database.Write(write => ledger.Append(write, Actor.Policy.Name, allowed ? "approval.auto_allowed" : "approval.auto_denied", context.SessionId,
            new JsonObject
            {
                ["toolCallId"] = request.ToolCallId,
                ["tool"] = request.Tool,
                ["input"] = JsonNode.Parse(request.Input.GetRawText()),
                ["reason"] = verdict.Reason,
                ["ruleId"] = verdict.Rule?.Id,
                ["mode"] = context.Mode,
                ["turnBy"] = verdict.Standing == Standing.None ? null : context.TurnBy?.Id,
            }));
        GateLog.ByPolicy(logger, allowed ? "allowed" : "denied", request.Tool, request.ToolCallId, context.SessionId, context.Mode, verdict.Rule?.Id);
        return allowed ? new PermissionDecision(true) : PermissionDecision.Deny(verdict.Reason);
    }

    /// <summary>Puts the approval to the people who may decide it and waits for the decision that settles it.</summary>
    /// <param name="parentToolCallId">Asked by a subagent: the call that started it, which the card names.</param>
    private async Task<PermissionDecision> AskAsync(GateContext context, Approval approval, EditContext? editContext, Action onAsking,
        CancellationToken cancellationToken, string? parentToolCallId = null)
    {
        if (parentToolCallId is not null)
        {
            approval = approval with { AskedBy = new AskingSubagent(parentToolCallId, events.ToolCallTitle(approval.SessionId, parentToolCallId)) };
        }

        using var pending = new PendingApproval(approval, context.Agent, clock);
        _waiting[approval.Id] = pending;
        if (context.Project.ApprovalTimeoutSeconds is > 0 and var seconds)
        {
            pending.After(TimeSpan.FromSeconds(seconds), () => Safely(approval.Id, () => TryDecide(approval.Id, Decisions.Deny,
                $"No decision within {seconds} seconds: denied by the project's approval timeout.", null, Actor.Timeout, out _)));
        }

        if (policies.Teams.For(context.Project.Id).EscalateAfterSeconds is { } escalate && approval.DeciderRole != Roles.Owner)
        {
            pending.After(TimeSpan.FromSeconds(escalate), () => Safely(approval.Id, () => Escalate(approval, escalate)));
        }

        try
        {
            database.Write(write =>
            {
                ApprovalStore.Insert(write, approval);
                events.Append(write, approval.SessionId, approval.RequestedEvent(editContext) with { ParentToolCallId = parentToolCallId });
            });
            GateLog.Asked(logger, approval.Id, approval.Tool, approval.ToolCallId, approval.SessionId);
            onAsking();
            return await pending.Decision.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Withdraw(approval.Id);
            throw;
        }
        finally
        {
            _waiting.TryRemove(approval.Id, out _);
        }
    }

    /// <summary>A timer's work must never take the server down: a failure is logged, and the approval waits on as it was.</summary>
    private void Safely(string approvalId, Action act)
    {
        try
        {
            act();
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "A timer of approval {ApprovalId} failed", approvalId);
        }
    }

    /// <summary>The decision that settles a call, or the first of the allows it needs; any after it is a 409 <c>APPROVAL_ALREADY_DECIDED</c>.</summary>
    /// <param name="pattern">With <c>allow_always</c>: the rule's pattern as the owner confirmed it (it must cover this call);
    /// null for the exact call.</param>
    /// <param name="clientId">The device's key for this decision (<see cref="DecisionKeys"/>): sent again, it is answered with
    /// where the first one stands and nothing is decided twice. Null: no key, as before.</param>
    /// <param name="onItsOwn">Why this call must be decided on its own card rather than the way this decision came (a
    /// batch), or null: a 409 <c>DECIDE_ON_ITS_OWN</c>. Asked after a replayed key is answered, so a decision made on the card
    /// and sent again through a batch is answered as the first one was.</param>
    /// <param name="stepUp">The person's fresh passkey assertion on this very decision, verified (<see cref="Passkeys.StepUps"/>), or
    /// null: an act the decision-rights table holds for one is then refused (403 <c>STEP_UP_REQUIRED</c>), whichever door asked.</param>
    public Approval Decide(string approvalId, string decision, string? message, JsonElement? updatedInput, Actor actor, string? pattern = null,
        string? clientId = null, Func<Approval, string?>? onItsOwn = null, Passkeys.StepUp? stepUp = null) =>
        TryDecide(approvalId, decision, message, updatedInput, actor, out var refusal, pattern: pattern, clientId: clientId, onItsOwn: onItsOwn,
            stepUp: stepUp)
        ?? throw refusal!;

    /// <summary>
    /// Answers a question: the only way a question is allowed, with the input <see cref="QuestionAnswers.Apply"/> made
    /// from the owner's checked answers. An allow on <see cref="Decide"/> never answers one, whatever input it carries.
    /// </summary>
    public Approval Answer(string approvalId, JsonElement answeredInput, IReadOnlyList<OwnerAnswer> answers, Actor actor) =>
        TryDecide(approvalId, Decisions.AllowOnce, null, answeredInput, actor, out var refusal, answers: answers) ?? throw refusal!;

    /// <summary>Decides, or says why not (unknown, already decided, not theirs to decide, an edit the agent cannot apply) without throwing.</summary>
    /// <param name="answers">Set when answering a question (and only then).</param>
    private Approval? TryDecide(string approvalId, string decision, string? message, JsonElement? updatedInput, Actor actor, out ApiProblem? refusal,
        IReadOnlyList<OwnerAnswer>? answers = null, string? pattern = null, string? clientId = null, Func<Approval, string?>? onItsOwn = null,
        Passkeys.StepUp? stepUp = null)
    {
        var ask = new DecisionAsked(decision, message, updatedInput, answers, actor, pattern, stepUp);
        ApiProblem? why = null;
        var voted = false;
        var replayed = false;
        var decided = database.Write(write =>
        {
            if (clientId is not null && DecisionKeys.Find(write, actor, clientId) is { } used)
            {
                // Decided before with this key (its answer was lost, or an outbox sent it again): where it stands, nothing twice.
                replayed = (why = DecisionKeys.Mismatch(used, approvalId, ask.Fingerprint())) is null;
                return replayed ? ApprovalStore.Find(write, approvalId) : null;
            }

            if (ApprovalStore.Find(write, approvalId) is not { } approval)
            {
                why = ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, $"No approval with id '{approvalId}'.");
                return null;
            }

            if ((why = Malformed(approval, ask) ?? authority.Check(write, actor, approval.ProjectId, ask.Act(approval, AllowedAlready(write, approval, actor))).Problem) is not null)
            {
                return null;
            }

            if (onItsOwn?.Invoke(approval) is { } alone)
            {
                why = ApiProblem.Conflict(ErrorCodes.DecideOnItsOwn, alone);
                return null;
            }

            if (ask.Allows && approval.Needed > 1 && !Authority.IsSystem(actor))
            {
                var allowedBy = ApprovalVotes.Counted(write, approval).Select(v => v.PersonName).ToList();
                if (allowedBy.Count + 1 < approval.Needed)
                {
                    // One of two: recorded, shown to every phone ("1 of 2"), and the call goes on waiting.
                    ApprovalVotes.Add(write, ledger, events, approval, Authority.Who(write, actor.Id, actor.Name, approval.ProjectId), actor, clock.GetUtcNow());
                    KeepKey(write, clientId, actor, approval.Id, ask);
                    voted = true;
                    return approval;
                }

                return KeepKey(write, clientId, actor, approval.Id, ask, Settle(write, approval, ask, [.. allowedBy, Authority.Who(write, actor.Id, actor.Name, approval.ProjectId).Name]));
            }

            return KeepKey(write, clientId, actor, approval.Id, ask, Settle(write, approval, ask, []));
        });

        refusal = why;
        if (decided is null || voted || replayed)
        {
            return decided;
        }

        GateLog.Decided(logger, decided.Id, decided.Tool, decided.SessionId, decision, actor.Name);
        if (_waiting.TryGetValue(approvalId, out var waiter))
        {
            waiter.Complete(decision == Decisions.Deny
                ? PermissionDecision.Deny(decided.Message ?? DenialMessage(decided, actor))
                : new PermissionDecision(true, decided.Message, updatedInput, decision == Decisions.AllowSession, answers)
                {
                    ApprovalId = decided.Id, DeciderId = actor.Id, DeciderName = actor.Name,
                });
        }

        return decided;
    }

    /// <summary>Records the decision's key in the transaction that decided it (so a key is taken exactly when its decision is).</summary>
    private Approval? KeepKey(DbWrite write, string? clientId, Actor actor, string approvalId, DecisionAsked ask, Approval? settled = null)
    {
        if (clientId is not null)
        {
            DecisionKeys.Record(write, actor, clientId, approvalId, ask.Fingerprint(), clock.GetUtcNow());
        }

        return settled;
    }

    /// <summary>What a decision asks, as the gatekeeper reads it: the same for every door (the app, a chat, a notification, the CLI).</summary>
    private sealed record DecisionAsked(string Decision, string? Message, JsonElement? UpdatedInput, IReadOnlyList<OwnerAnswer>? Answers, Actor Actor,
        string? Pattern, Passkeys.StepUp? StepUp)
    {
        /// <summary>The tool and pattern of the rule an <c>allow_always</c> adds: the confirmed pattern, or the exact call.</summary>
        public Rule AlwaysRule(Approval approval) => new("always", approval.ProjectId,
            approval.Kind is ApprovalKind.Network ? "network" : approval.Tool, Pattern ?? approval.RulePattern, RuleActions.Allow,
            DateTimeOffset.UnixEpoch, Actor.Name);

        public bool Answering => Answers is not null;

        /// <summary>What a key records of this decision, to tell a retry of it from another decision sent under the same key.</summary>
        public DecisionKeys.Said Fingerprint() => DecisionKeys.Said.Of(Decision, Message, Pattern, UpdatedInput);

        public bool Allows => Decision != Decisions.Deny;

        public bool Edited => Allows && UpdatedInput is not null && !Answering;

        public DecideCall Act(Approval approval, bool allowedAlready) => new(approval.Risk, Roles.FromWire(approval.DeciderRole) ?? Role.Approver,
            approval.Needed, allowedAlready, Answering ? DecideCall.Answer : Decision, Edited, Verified: StepUp is not null);
    }

    private static bool AllowedAlready(DbWrite write, Approval approval, Actor actor) =>
        approval.Needed > 1 && Authority.Who(write, actor.Id, actor.Name, approval.ProjectId) is { PersonId: { } person }
        && ApprovalVotes.Counted(write, approval).Any(v => v.PersonId == person);

    /// <summary>Why this decision cannot apply to this call whoever makes it (already settled, the wrong form), or null.</summary>
    private static ApiProblem? Malformed(Approval approval, DecisionAsked ask)
    {
        if (ApprovalLifecycle.Next(approval.Status, ApprovalEvent.DecisionMade) is null)
        {
            var by = approval.DecidedBy is null ? "" : $" by {approval.DecidedBy}";
            return ApiProblem.Conflict(ErrorCodes.ApprovalAlreadyDecided,
                $"This approval is already {approval.Status.ToWire()}{by}{(approval.Decision is null ? "" : $" ({approval.Decision})")}.");
        }

        if (ask.Pattern is not null && PatternProblem(approval, ask) is { } wrong)
        {
            return wrong;
        }

        var question = approval.Kind is ApprovalKind.Question;
        if (ask.Answering && !question)
        {
            return ApiProblem.Conflict(ErrorCodes.NotAQuestion, $"Approval '{approval.Id}' is a {approval.Tool} call, not a question: decide it instead.");
        }

        if (ask.Allows && question && !ask.Answering)
        {
            // Allowing a question without answers would let the agent go on as if answered; a grant or a rule would
            // answer the next ones unread. It is answered (POST …/answer) or dismissed (deny).
            return new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.QuestionNeedsAnswers,
                "This is a question: answer it (its answers, not an allow) or dismiss it (deny).");
        }

        // Claude runs the input we send back; the others run what they asked for whatever we say, so an "edited" allow would
        // approve a command the owner did not see run. Nothing is decided.
        return ask.Edited && !approval.CanEditInput
            ? new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.EditedInputUnsupported,
                "This session's agent cannot run an edited input: allow it as asked, or deny it with a message saying what to do instead.")
            : null;
    }

    /// <summary>
    /// Why a confirmed pattern cannot be the rule: it comes only with <c>allow_always</c>, and it must cover the call it allows
    /// (a rule that would not have let this call through is not "always allow" of it). How wide it is otherwise is the owner's
    /// choice, as on the rules screen; the right to add it (owners only) is the decision rights' check.
    /// </summary>
    private static ApiProblem? PatternProblem(Approval approval, DecisionAsked ask)
    {
        if (ask.Decision != Decisions.AllowAlways)
        {
            return ApiProblem.Validation("'pattern' goes with 'allow_always' only: it is the rule that decision adds.");
        }

        var rule = ask.AlwaysRule(approval);
        if (rule.Tool == "network" && !Network.HostPattern.IsValid(rule.Pattern))
        {
            return ApiProblem.Validation($"A network rule's pattern is \"*\", a host (any port), HOST:PORT, HOST:* or *.DOMAIN, not '{rule.Pattern}'.");
        }

        return approval.MatchedBy(rule) ? null : new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.PatternMissesCall,
            $"The pattern '{rule.Pattern}' does not cover this call ('{Glob.Unescape(approval.RulePattern)}'): the rule must allow the call it is added for.");
    }

    /// <summary>Records the decision that settles the call, with all it leaves (a grant, a rule, a raised budget), in one transaction.</summary>
    /// <param name="allowedBy">Everyone whose allow counted, for a call that needed several.</param>
    private Approval Settle(DbWrite write, Approval approval, DecisionAsked ask, IReadOnlyList<string> allowedBy)
    {
        // Kept, shown to every device and ledgered: a secret answer is not (the agent alone gets it).
        var updated = ask.Allows ? (ask.Answering ? QuestionAnswers.Recorded(approval, ask.UpdatedInput!.Value) : ask.UpdatedInput)?.GetRawText() : null;
        // The decider's own words only: a deny without any is told to the agent in plain words (DenialMessage), never kept as if typed.
        var message = ask.Allows || !string.IsNullOrWhiteSpace(ask.Message) ? ask.Message : null;
        var person = Authority.IsSystem(ask.Actor) ? null : Authority.Who(write, ask.Actor.Id, ask.Actor.Name, approval.ProjectId);
        var decided = ApprovalStore.MarkDecided(write, approval, ask.Decision, ask.Actor.Name, clock.GetUtcNow(), message, updated);
        if (ask.Decision == Decisions.AllowSession)
        {
            ApprovalStore.Grant(write, decided);
        }
        else if (ask.Decision == Decisions.AllowAlways)
        {
            // A connection's rule is the kind word with its host (network files.example.org:443), as the rules screen writes them.
            var rule = ask.AlwaysRule(decided);
            policies.Rules.Add(write, decided.ProjectId, rule.Tool, rule.Pattern, RuleActions.Allow, ask.Actor);
        }

        ledger.Append(write, ask.Actor.Name, "approval.decided", decided.Id, new JsonObject
        {
            ["decision"] = ask.Decision,
            ["sessionId"] = decided.SessionId,
            ["deviceId"] = ask.Actor.Id,
            ["personId"] = person?.PersonId,
            ["person"] = person?.Name,
            ["allowedBy"] = allowedBy.Count > 1 ? new JsonArray([.. allowedBy.Select(name => JsonValue.Create(name))]) : null,
            ["tool"] = decided.Tool,
            ["input"] = JsonNode.Parse(decided.Input),
            ["updatedInput"] = updated is null ? null : JsonNode.Parse(updated),
            ["message"] = message,
            // What the person's passkey signed for this decision: checkable later against the key registered (passkey.registered).
            ["stepUp"] = ask.StepUp is { } proof ? new JsonObject
            {
                ["credentialId"] = proof.CredentialId, ["clientDataJSON"] = proof.ClientDataJson, ["authenticatorData"] = proof.AuthenticatorData,
                ["signature"] = proof.Signature,
            } : null,
        });
        if (ask.Allows && decided.Kind is ApprovalKind.Budget)
        {
            // After the decision's own entry, so the ledger reads "decided, then raised". (A budget is only ever allowed once.)
            policies.Budgets.Raise(write, decided, ask.Actor);
        }

        // An edited call runs as edited: its title (what the tool row shows) is the edit's, in the agent's own words.
        var updatedTitle = ask.Edited && _waiting.TryGetValue(decided.Id, out var asker) ? asker.Agent?.TitleOf(decided.Tool, ask.UpdatedInput!.Value) : null;
        events.Append(write, decided.SessionId, decided.ResolvedEvent() with { UpdatedTitle = updatedTitle });
        return decided;
    }

    /// <summary>What the agent is told of a deny that came with no message: plain, in the decider's name, never as quoted words.</summary>
    private static string DenialMessage(Approval approval, Actor actor) => approval.Kind is ApprovalKind.Budget
        ? "The budget is spent and was not raised: stop here, make no more tool calls and end your turn."
        : actor == Actor.Timeout ? $"The {approval.Tool} call was not decided in time."
        : $"The owner denied this {approval.Tool} call.";

    /// <summary>At start-up: questions asked before the server stopped can no longer be answered to anyone.</summary>
    public int InterruptPending() => database.Write(write =>
    {
        var pending = ApprovalStore.Pending(write);
        foreach (var approval in pending)
        {
            SettleWithoutDecision(write, approval, ApprovalEvent.ServerStopped, "approval.interrupted", "The server stopped while this was pending.");
        }

        return pending.Count;
    });

    private void Withdraw(string approvalId) => database.Write(write =>
    {
        if (ApprovalStore.Find(write, approvalId) is { } approval && ApprovalLifecycle.Next(approval.Status, ApprovalEvent.Withdrawn) is not null)
        {
            SettleWithoutDecision(write, approval, ApprovalEvent.Withdrawn, "approval.withdrawn", "The agent no longer needs this decision.");
        }
    });

    private void SettleWithoutDecision(DbWrite write, Approval approval, ApprovalEvent @event, string ledgerAction, string message)
    {
        if (ApprovalStore.MarkSettled(write, approval, @event, clock.GetUtcNow(), message) is not { } settled)
        {
            return;
        }

        ledger.Append(write, Actor.System.Name, ledgerAction, approval.Id,
            new JsonObject { ["sessionId"] = approval.SessionId, ["tool"] = approval.Tool, ["message"] = message });
        events.Append(write, approval.SessionId, settled.ResolvedEvent());
        GateLog.Settled(logger, approval.Id, approval.Tool, approval.SessionId, settled.Status.ToWire(), message);
    }

    /// <summary>Unanswered in time by those who first could decide: the owners are asked too (the notifier pushes to them).</summary>
    private void Escalate(Approval approval, int afterSeconds) => database.Write(write =>
    {
        if (ApprovalStore.MarkEscalated(write, approval.Id, clock.GetUtcNow()))
        {
            ledger.Append(write, Actor.System.Name, "approval.escalated", approval.Id, new JsonObject
            {
                ["sessionId"] = approval.SessionId, ["to"] = Roles.Owner, ["afterSeconds"] = afterSeconds,
            });
            events.Append(write, approval.SessionId, new ApprovalEscalatedEvent(approval.Id, approval.ToolCallId, Roles.Owner));
        }
    });

    /// <summary>What "always allow" would remember: this command, this file, or the tool as a whole.</summary>
    private static string RulePattern(PermissionRequest request, string projectRoot) => request switch
    {
        { Kind: ToolKind.Execute, Command: { Length: > 0 } command } => Glob.Escape(command.Trim()),
        { Kind: ToolKind.Network, Command: { Length: > 0 } target } => target,
        { Path: { Length: > 0 } path } when Policy.RelativeToProject(path, projectRoot) is { } relative => Glob.Escape(relative),
        { Path: { Length: > 0 } path } => Glob.Escape(path),
        _ => "*",
    };
}
