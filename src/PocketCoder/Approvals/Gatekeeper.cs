using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;

namespace PocketCoder.Approvals;

/// <summary>What the gatekeeper needs to know about the session asking.</summary>
/// <param name="Agent">The session's agent: gives an edited call the title it runs under (<see cref="IAgentAdapter.TitleOf"/>).</param>
public sealed record GateContext(string SessionId, Project Project, string Mode, IAgentAdapter? Agent = null);

/// <summary>
/// The single choke point every agent tool call passes. Policy decides what it can; everything else
/// becomes a persisted pending approval that waits — as long as it takes, unless the project set a
/// visible timeout — for the first decision from any device. Every outcome is written to the ledger.
/// </summary>
public sealed class Gatekeeper(
    Database database,
    EventLog events,
    Ledger.LedgerStore ledger,
    Rules rules,
    TeamPolicies policies,
    Budgets budgets,
    TimeProvider clock,
    ILogger<Gatekeeper> logger)
{
    private readonly ConcurrentDictionary<string, Waiter> _waiting = new(StringComparer.Ordinal);

    /// <summary>A request waiting for its decision, with the agent that asked (a pending approval always has one: those
    /// left by a stopped server are interrupted at start).</summary>
    private sealed record Waiter(TaskCompletionSource<PermissionDecision> Answer, IAgentAdapter? Agent);

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

        if (budgets.Reached(context.Project.Id, context.SessionId) is { } spent)
        {
            // The agent's next call after its budget is spent waits on whether to raise it; a refusal stops it there.
            var raised = await AskAsync(context, BudgetQuestion(context, request, spent), null, AskingOnce, cancellationToken).ConfigureAwait(false);
            if (!raised.Allow)
            {
                return raised;
            }
        }

        var grants = database.Read(connection => connection.Query(
            "SELECT tool FROM session_grants WHERE session_id = $session", r => r.GetString(0), ("$session", context.SessionId)))
            .ToHashSet(StringComparer.Ordinal);
        var verdict = Policy.Evaluate(request, context.Mode, rules.List(context.Project.Id), grants, context.Project.Path);
        var team = policies.For(context.Project.Id);
        var risk = Policy.RiskOf(request, context.Project.Path);
        if (verdict is { Outcome: Outcome.Allow, Rule: null } && team.NeedsTwo(risk) && request.Kind != ToolKind.Bookkeeping)
        {
            // A mode or an "allow for this session" grant is one person's word: a call that needs two people is asked.
            // An owner's rule naming it still allows it: rules are the owner's alone.
            verdict = new Verdict(Outcome.Ask, $"This project asks two people to allow {risk} calls.");
        }

        if (verdict.Outcome != Outcome.Ask)
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
                }));
            GateLog.ByPolicy(logger, allowed ? "allowed" : "denied", request.Tool, request.ToolCallId, context.SessionId, context.Mode, verdict.Rule?.Id);
            return allowed ? new PermissionDecision(true) : PermissionDecision.Deny(verdict.Reason);
        }

        var approval = new Approval(
            Guid.NewGuid().ToString("N"), context.SessionId, context.Project.Id, request.ToolCallId, request.Tool, request.Kind.ToWire(),
            request.Title, request.Input.GetRawText(), request.PlanText, RulePattern(request, context.Project.Path),
            ApprovalStatuses.Pending, clock.GetUtcNow(), null, null, null, null, null, request.CanEditInput, risk, team.LeastToDecide(risk).ToWire(),
            team.NeedsTwo(risk) ? 2 : 1);
        // Read now, as the agent sees the file when it asks: the phone shows the edit among its lines.
        var editContext = request.Kind == ToolKind.Edit ? EditContext.For(request.Path, request.Input, context.Project.Path) : null;
        return await AskAsync(context, approval, editContext, AskingOnce, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Puts the approval to the people who may decide it and waits for the first decision that settles it.</summary>
    private async Task<PermissionDecision> AskAsync(GateContext context, Approval approval, EditContext? editContext, Action onAsking,
        CancellationToken cancellationToken)
    {
        var team = policies.For(context.Project.Id);
        var answer = new TaskCompletionSource<PermissionDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Registered before the approval is visible, so even an instant decision finds its waiter;
        // and the timeout is armed before anyone can see the question, so it can never be missed.
        _waiting[approval.Id] = new Waiter(answer, context.Agent);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (context.Project.ApprovalTimeoutSeconds is > 0 and var seconds)
        {
            _ = DenyWhenTimedOutAsync(approval.Id, TimeSpan.FromSeconds(seconds), timeout.Token);
        }

        if (team.EscalateAfterSeconds is { } escalate && approval.DeciderRole != Roles.Owner)
        {
            _ = EscalateWhenUnansweredAsync(approval, TimeSpan.FromSeconds(escalate), timeout.Token);
        }

        try
        {
            database.Write(write =>
            {
                write.Execute(
                    $"INSERT INTO approvals ({ApprovalStore.Columns}) VALUES ($id, $session, $project, $call, $tool, $kind, $title, $input, $plan, $pattern, 'pending', $at, NULL, NULL, NULL, NULL, NULL, $edit, $risk, $deciders, $needed)",
                    ("$id", approval.Id), ("$session", approval.SessionId), ("$project", approval.ProjectId), ("$call", approval.ToolCallId),
                    ("$tool", approval.Tool), ("$kind", approval.Kind), ("$title", approval.Title), ("$input", approval.Input),
                    ("$plan", approval.Plan), ("$pattern", approval.RulePattern), ("$at", approval.CreatedAt.ToDb()), ("$edit", approval.CanEditInput),
                    ("$risk", approval.Risk), ("$deciders", approval.DeciderRole), ("$needed", approval.Needed));
                events.Append(write, approval.SessionId, approval.RequestedEvent(editContext));
            });
            GateLog.Asked(logger, approval.Id, approval.Tool, approval.ToolCallId, approval.SessionId);
            onAsking();
            return await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Withdraw(approval.Id);
            throw;
        }
        finally
        {
            _waiting.TryRemove(approval.Id, out _);
            await timeout.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>"Raise the budget?", asked before the call it holds (same tool call id, so the phone shows it on that call).</summary>
    private Approval BudgetQuestion(GateContext context, PermissionRequest request, BudgetUse spent) => new(
        Guid.NewGuid().ToString("N"), context.SessionId, context.Project.Id, request.ToolCallId, RiskClasses.Budget, ToolKind.Bookkeeping.ToWire(),
        Budgets.Title(spent), budgets.Question(context.Project.Id, spent).GetRawText(), null, "*", ApprovalStatuses.Pending, clock.GetUtcNow(),
        null, null, null, null, null, false, RiskClasses.Budget, Roles.Approver, 1);

    /// <summary>The first decision wins; any later one is a 409 <c>APPROVAL_ALREADY_DECIDED</c>.</summary>
    public Approval Decide(string approvalId, string decision, string? message, JsonElement? updatedInput, Actor actor) =>
        TryDecide(approvalId, decision, message, updatedInput, actor, out var refusal) ?? throw refusal!;

    /// <summary>
    /// Answers a question: the only way a question is allowed, with the input <see cref="QuestionAnswers.Apply"/> made
    /// from the owner's checked answers. An allow on <see cref="Decide"/> never answers one, whatever input it carries.
    /// </summary>
    public Approval Answer(string approvalId, JsonElement answeredInput, IReadOnlyList<OwnerAnswer> answers, Actor actor) =>
        TryDecide(approvalId, Decisions.AllowOnce, null, answeredInput, actor, out var refusal, answers: answers) ?? throw refusal!;

    /// <summary>Decides, or says why not (unknown, already decided, an edit the agent cannot apply) without throwing.</summary>
    /// <param name="answers">Set when answering a question (and only then).</param>
    private Approval? TryDecide(string approvalId, string decision, string? message, JsonElement? updatedInput, Actor actor, out ApiProblem? refusal,
        IReadOnlyList<OwnerAnswer>? answers = null)
    {
        var answering = answers is not null;
        ApiProblem? why = null;
        var voted = false;
        var decided = database.Write(write =>
        {
            if (ApprovalStore.Find(write, approvalId) is not { } approval)
            {
                why = ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, $"No approval with id '{approvalId}'.");
                return null;
            }

            if (approval.Status != ApprovalStatuses.Pending)
            {
                var by = approval.DecidedBy is null ? "" : $" by {approval.DecidedBy}";
                why = ApiProblem.Conflict(ErrorCodes.ApprovalAlreadyDecided,
                    $"This approval is already {approval.Status}{by}{(approval.Decision is null ? "" : $" ({approval.Decision})")}.");
                return null;
            }

            var allow = decision != Decisions.Deny;
            if (answering && approval.Kind != ToolKinds.ToWire(ToolKind.Question))
            {
                why = ApiProblem.Conflict(ErrorCodes.NotAQuestion, $"Approval '{approval.Id}' is a {approval.Tool} call, not a question: decide it instead.");
                return null;
            }

            if (allow && approval.Kind == ToolKinds.ToWire(ToolKind.Question) && !answering)
            {
                // Allowing a question without answers would let the agent go on as if answered; a grant or a rule would
                // answer the next ones unread. It is answered (POST …/answer) or dismissed (deny).
                why = new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.QuestionNeedsAnswers,
                    "This is a question: answer it (its answers, not an allow) or dismiss it (deny).");
                return null;
            }

            // Answers are not an edit: every agent that asks a question takes its answers back (each in its own form).
            if (allow && updatedInput is not null && !answering && !approval.CanEditInput)
            {
                // Claude runs the input we send back; the others run what they asked for whatever we say, so an
                // "edited" allow would approve a command the owner did not see run. Nothing is decided.
                why = new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.EditedInputUnsupported,
                    "This session's agent cannot run an edited input: allow it as asked, or deny it with a message saying what to do instead.");
                return null;
            }

            // Who may decide: the person behind the device, in this project, by what the call was when it was asked.
            var person = IsSystem(actor) ? null : People.OfDevice(write, actor.Id);
            if (!IsSystem(actor) && (why = Refusal(write, approval, person, decision, allow && updatedInput is not null && !answering)) is not null)
            {
                return null;
            }

            var allowedBy = new List<string>();
            if (allow && approval.Needed > 1 && person is not null)
            {
                allowedBy.AddRange(write.Query("SELECT person_name FROM approval_votes WHERE approval_id = $id ORDER BY at", r => r.GetString(0), ("$id", approval.Id)));
                allowedBy.Add(person.Name);
                if (allowedBy.Count < approval.Needed)
                {
                    // One of two: recorded, shown to every phone ("1 of 2"), and the call goes on waiting.
                    write.Execute("INSERT INTO approval_votes (approval_id, person_id, person_name, device_id, at) VALUES ($id, $person, $name, $device, $at)",
                        ("$id", approval.Id), ("$person", person.Id), ("$name", person.Name), ("$device", actor.Id), ("$at", clock.GetUtcNow().ToDb()));
                    ledger.Append(write, actor.Name, "approval.allowed_by_one", approval.Id, new JsonObject
                    {
                        ["sessionId"] = approval.SessionId, ["deviceId"] = actor.Id, ["personId"] = person.Id, ["person"] = person.Name,
                        ["tool"] = approval.Tool, ["input"] = JsonNode.Parse(approval.Input), ["needed"] = approval.Needed,
                    });
                    events.Append(write, approval.SessionId, new ApprovalVoteEvent(approval.Id, approval.ToolCallId, allowedBy, approval.Needed));
                    voted = true;
                    return approval;
                }
            }

            // Kept, shown to every device and ledgered: a secret answer is not (the agent alone gets it, below).
            var updated = allow ? (answering ? QuestionAnswers.Recorded(approval, updatedInput!.Value) : updatedInput)?.GetRawText() : null;
            var finalMessage = allow ? message : !string.IsNullOrWhiteSpace(message) ? message : approval.Risk == RiskClasses.Budget
                ? "The budget is spent and was not raised: stop here, make no more tool calls and end your turn."
                : $"The owner denied this {approval.Tool} call.";
            var now = clock.GetUtcNow();
            write.Execute(
                "UPDATE approvals SET status = 'decided', decision = $decision, decided_by = $by, decided_at = $at, message = $message, updated_input = $updated WHERE id = $id",
                ("$decision", decision), ("$by", actor.Name), ("$at", now.ToDb()), ("$message", finalMessage), ("$updated", updated), ("$id", approval.Id));
            approval = approval with
            {
                Status = ApprovalStatuses.Decided, Decision = decision, DecidedBy = actor.Name, DecidedAt = now, Message = finalMessage, UpdatedInput = updated,
            };

            if (decision == Decisions.AllowSession)
            {
                write.Execute("INSERT OR IGNORE INTO session_grants (session_id, tool) VALUES ($session, $tool)",
                    ("$session", approval.SessionId), ("$tool", approval.Tool));
            }
            else if (decision == Decisions.AllowAlways)
            {
                // A connection's rule is the kind word with its host (network files.example.org:443), as the rules screen writes them.
                rules.Add(write, approval.ProjectId, approval.Kind == ToolKind.Network.ToWire() ? "network" : approval.Tool, approval.RulePattern,
                    RuleActions.Allow, actor);
            }

            ledger.Append(write, actor.Name, "approval.decided", approval.Id, new JsonObject
            {
                ["decision"] = decision,
                ["sessionId"] = approval.SessionId,
                ["deviceId"] = actor.Id,
                ["personId"] = person?.Id,
                ["person"] = person?.Name,
                ["allowedBy"] = allowedBy.Count > 1 ? new JsonArray([.. allowedBy.Select(name => JsonValue.Create(name))]) : null,
                ["tool"] = approval.Tool,
                ["input"] = JsonNode.Parse(approval.Input),
                ["updatedInput"] = updated is null ? null : JsonNode.Parse(updated),
                ["message"] = finalMessage,
            });
            if (allow && approval.Risk == RiskClasses.Budget)
            {
                // After the decision's own entry, so the ledger reads "decided, then raised". (A budget is only ever allowed once.)
                budgets.Raise(write, approval, actor);
            }

            // An edited call runs as edited: its title (what the tool row shows) is the edit's, in the agent's own words.
            var updatedTitle = allow && !answering && updatedInput is { } edit && _waiting.TryGetValue(approval.Id, out var asker)
                ? asker.Agent?.TitleOf(approval.Tool, edit) : null;
            events.Append(write, approval.SessionId, approval.ResolvedEvent() with { UpdatedTitle = updatedTitle });
            return approval;
        });

        refusal = why;
        if (decided is null || voted)
        {
            return decided;
        }

        GateLog.Decided(logger, decided.Id, decided.Tool, decided.SessionId, decision, actor.Name);

        if (_waiting.TryGetValue(approvalId, out var waiter))
        {
            waiter.Answer.TrySetResult(decision == Decisions.Deny
                ? PermissionDecision.Deny(decided.Message!)
                : new PermissionDecision(true, decided.Message, updatedInput, decision == Decisions.AllowSession, answers));
        }

        return decided;
    }

    private static bool IsSystem(Actor actor) => actor == Actor.Timeout || actor == Actor.System || actor == Actor.Policy;

    /// <summary>Why this person may not make this decision on this call, or null: the one check every way of deciding passes.</summary>
    /// <param name="edited">An allow with an edited input ("edit, then allow").</param>
    private static ApiProblem? Refusal(DbWrite write, Approval approval, Person? person, string decision, bool edited)
    {
        var allow = decision != Decisions.Deny;
        if (person is null)
        {
            return Forbidden("This device belongs to no one who may decide: pair it as a person's device.");
        }

        var role = People.RoleIn(write, person, approval.ProjectId);
        var least = Roles.FromWire(approval.DeciderRole) ?? Role.Approver;
        if (role < least)
        {
            var what = approval.Risk == RiskClasses.Budget ? "raise a budget" : $"decide {approval.Risk} calls in this project";
            return Forbidden($"Only {least.AndAbove()} may {what}; {person.Name} is {(role == Role.Approver || role == Role.Operator ? "an" : "a")} {role.ToWire()}.");
        }

        if (allow && approval.Risk == RiskClasses.Budget && decision != Decisions.AllowOnce)
        {
            return ApiProblem.Validation("A budget is raised one step at a time: allow it once (or deny to stop the agent).");
        }

        if (decision == Decisions.AllowAlways && role != Role.Owner)
        {
            return Forbidden("\"Allow always\" adds a project rule, and only owners change rules: allow it once or for this session.");
        }

        if (allow && approval.Needed > 1)
        {
            if (decision != Decisions.AllowOnce)
            {
                return new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.TwoPersonAllowOnce,
                    "This call needs two people's allow, so it is allowed once at a time: a grant or a rule would let one person allow the next.");
            }

            if (edited)
            {
                // The other person allowed what was asked; an edit would run a command only one person saw.
                return new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.TwoPersonAllowOnce,
                    "This call needs two people's allow of the same thing, so it cannot be edited: deny it with a message saying what to run instead.");
            }

            if (write.Scalar<string>("SELECT person_id FROM approval_votes WHERE approval_id = $id AND person_id = $person",
                    ("$id", approval.Id), ("$person", person.Id)) is not null)
            {
                return ApiProblem.Conflict(ErrorCodes.AlreadyAllowedByYou,
                    $"{person.Name} has allowed this already: it needs another person's allow (your other devices are you).");
            }
        }

        return null;
    }

    private static ApiProblem Forbidden(string detail) => new(StatusCodes.Status403Forbidden, ErrorCodes.RoleForbidden, detail);

    /// <summary>At start-up: questions asked before the server stopped can no longer be answered to anyone.</summary>
    public int InterruptPending() => database.Write(write =>
    {
        var pending = write.Query($"SELECT {ApprovalStore.Columns} FROM approvals WHERE status = 'pending'", ApprovalStore.Map);
        foreach (var approval in pending)
        {
            Settle(write, approval, ApprovalStatuses.Interrupted, "approval.interrupted", "The server stopped while this was pending.");
        }

        return pending.Count;
    });

    private void Withdraw(string approvalId) => database.Write(write =>
    {
        if (ApprovalStore.Find(write, approvalId) is { Status: ApprovalStatuses.Pending } approval)
        {
            Settle(write, approval, ApprovalStatuses.Cancelled, "approval.withdrawn", "The agent no longer needs this decision.");
        }
    });

    private void Settle(DbWrite write, Approval approval, string status, string ledgerAction, string message)
    {
        var now = clock.GetUtcNow();
        write.Execute("UPDATE approvals SET status = $status, decided_by = 'system', decided_at = $at, message = $message WHERE id = $id",
            ("$status", status), ("$at", now.ToDb()), ("$message", message), ("$id", approval.Id));
        var settled = approval with { Status = status, DecidedBy = Actor.System.Name, DecidedAt = now, Message = message };
        ledger.Append(write, Actor.System.Name, ledgerAction, approval.Id,
            new JsonObject { ["sessionId"] = approval.SessionId, ["tool"] = approval.Tool, ["message"] = message });
        events.Append(write, approval.SessionId, settled.ResolvedEvent());
        GateLog.Settled(logger, approval.Id, approval.Tool, approval.SessionId, status, message);
    }

    private async Task DenyWhenTimedOutAsync(string approvalId, TimeSpan after, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(after, clock, cancellationToken).ConfigureAwait(false);
            // Refused when someone decided in the same instant: theirs stands.
            TryDecide(approvalId, Decisions.Deny, $"No decision within {after.TotalSeconds:0} seconds: denied by the project's approval timeout.",
                null, Actor.Timeout, out _);
        }
        catch (OperationCanceledException)
        {
            // Decided or withdrawn in time.
        }
    }

    /// <summary>Unanswered in time by those who first could decide: the owners are asked too (the notifier pushes to them).</summary>
    private async Task EscalateWhenUnansweredAsync(Approval approval, TimeSpan after, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(after, clock, cancellationToken).ConfigureAwait(false);
            database.Write(write =>
            {
                if (write.Execute("UPDATE approvals SET escalated_at = $at WHERE id = $id AND status = 'pending' AND escalated_at IS NULL",
                        ("$at", clock.GetUtcNow().ToDb()), ("$id", approval.Id)) == 1)
                {
                    ledger.Append(write, Actor.System.Name, "approval.escalated", approval.Id, new JsonObject
                    {
                        ["sessionId"] = approval.SessionId, ["to"] = Roles.Owner, ["afterSeconds"] = (int)after.TotalSeconds,
                    });
                    events.Append(write, approval.SessionId, new ApprovalEscalatedEvent(approval.Id, approval.ToolCallId, Roles.Owner));
                }
            });
        }
        catch (OperationCanceledException)
        {
            // Decided or withdrawn in time.
        }
    }

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
