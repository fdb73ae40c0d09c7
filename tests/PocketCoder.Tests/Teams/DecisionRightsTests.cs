using CsCheck;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Teams;

/// <summary>The one table of who may do what (<see cref="DecisionRights"/>): its answers, its laws, and the page that documents it.</summary>
[Trait("Category", "Unit")]
public sealed class DecisionRightsTests
{
    private static Decider As(Role role) => new("p1", "Ana", role, Active: true);

    private static readonly TeamPolicy Default = TeamPolicy.Default;

    [Fact]
    public void SecurityPage_HoldsTheTablesGeneratedFromTheTable()
    {
        var page = File.ReadAllText(Path.Combine(Infrastructure.ClaudeCli.RepositoryRoot(), "docs", "security.md"));
        const string begin = "<!-- decision-rights:begin (generated from Teams/DecisionRights.cs by DecisionRightsDocument; a test checks it) -->\n";
        const string end = "<!-- decision-rights:end -->";
        var from = page.IndexOf(begin, StringComparison.Ordinal);
        var to = page.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, "docs/security.md has no decision-rights block.");
        var documented = page[(from + begin.Length)..to];
        if (Environment.GetEnvironmentVariable("POCKETCODER_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(Path.Combine(Infrastructure.ClaudeCli.RepositoryRoot(), "docs", "security.md"),
                page[..(from + begin.Length)] + DecisionRightsDocument.Markdown() + page[to..]);
            return;
        }

        Assert.True(documented == DecisionRightsDocument.Markdown(),
            "docs/security.md's table is not what the table says: run `POCKETCODER_UPDATE_DOCS=1 dotnet test tests/PocketCoder.Tests "
            + "--filter FullyQualifiedName~DecisionRightsTests` and review the change.");
    }

    [Fact]
    public void Revoked_MayDoNothing_NotEvenRead()
    {
        var revoked = Decider.Nobody("Mallory's phone");
        foreach (var (_, act) in DecisionRightsDocument.Acts)
        {
            Assert.False(DecisionRights.Check(revoked, act(Default), Default).Allowed);
        }
    }

    [Fact]
    public void Steering_ATrustedSession_IsRefusedToAnOperator_NamingWhoCan()
    {
        var refused = DecisionRights.Check(As(Role.Operator), new Steer(SessionModes.Trusted, []), Default);

        Assert.Equal("STEER_NOT_ALLOWED", refused.Code);
        Assert.Equal(403, refused.Status);
        Assert.Contains("approvers and owners", refused.Reason);
        Assert.True(DecisionRights.Check(As(Role.Approver), new Steer(SessionModes.Trusted, []), Default).Allowed);
    }

    [Fact]
    public void ASessionGrant_IsAStandingAllow_SteeringItNeedsTheRightToAllowItsKind()
    {
        Assert.True(DecisionRights.Check(As(Role.Operator), new Steer(SessionModes.Ask, []), Default).Allowed);
        var refused = DecisionRights.Check(As(Role.Operator), new Steer(SessionModes.Ask, [RiskClasses.Shell]), Default);
        Assert.Equal("STEER_NOT_ALLOWED", refused.Code);
        Assert.Contains("allow for this session", refused.Reason);

        // Where the policy gives operators shell calls, the grant is theirs to ride on.
        var operatorsDecideShell = Default with { Deciders = new Dictionary<string, string> { [RiskClasses.Shell] = Roles.Operator } };
        Assert.True(DecisionRights.Check(As(Role.Operator), new Steer(SessionModes.Ask, [RiskClasses.Shell]), operatorsDecideShell).Allowed);
    }

    [Fact]
    public void TwoPersonKinds_RunUnaskedByNoModeOrGrant_SoTheyDoNotCountAgainstSteering()
    {
        var twoForShell = Default with { TwoPerson = [RiskClasses.Shell] };

        Assert.DoesNotContain(RiskClasses.Shell, DecisionRights.Unasked(SessionModes.Trusted, [RiskClasses.Shell], twoForShell));
        Assert.Contains(RiskClasses.Shell, DecisionRights.Unasked(SessionModes.Trusted, [], Default));
        Assert.Empty(DecisionRights.Unasked(SessionModes.Ask, [RiskClasses.Protected, RiskClasses.Question, RiskClasses.Budget], Default));
    }

    [Fact]
    public void Decisions_TwoPersonCallsAreAllowedOnceAtATime_ByTwoDifferentPeople()
    {
        DecideCall Call(string decision, bool already = false, bool edited = false) => new(RiskClasses.Shell, Role.Approver, 2, already, decision, edited);

        Assert.True(DecisionRights.Check(As(Role.Approver), Call(Decisions.AllowOnce), Default).Allowed);
        Assert.Equal("TWO_PERSON_ALLOW_ONCE", DecisionRights.Check(As(Role.Owner), Call(Decisions.AllowSession), Default).Code);
        Assert.Equal("TWO_PERSON_ALLOW_ONCE", DecisionRights.Check(As(Role.Owner), Call(Decisions.AllowOnce, edited: true), Default).Code);
        Assert.Equal("ALREADY_ALLOWED_BY_YOU", DecisionRights.Check(As(Role.Owner), Call(Decisions.AllowOnce, already: true), Default).Code);
        Assert.True(DecisionRights.Check(As(Role.Approver), Call(Decisions.Deny, already: true), Default).Allowed);
        Assert.Equal("ROLE_FORBIDDEN", DecisionRights.Check(As(Role.Operator), Call(Decisions.Deny), Default).Code);
    }

    [Fact]
    public void ABudget_IsRaisedOnceAtATime_ByApproversAndOwners()
    {
        DecideCall Raise(string decision) => new(RiskClasses.Budget, Role.Approver, 1, false, decision);

        Assert.True(DecisionRights.Check(As(Role.Approver), Raise(Decisions.AllowOnce), Default).Allowed);
        Assert.Equal("VALIDATION_FAILED", DecisionRights.Check(As(Role.Owner), Raise(Decisions.AllowSession), Default).Code);
        Assert.Contains("raise a budget", DecisionRights.Check(As(Role.Operator), Raise(Decisions.AllowOnce), Default).Reason);
    }

    [Fact]
    public void WritingProtectedFiles_NeedsWhoMayAllowSuchAnEditAlone()
    {
        Assert.True(DecisionRights.Check(As(Role.Operator), new WriteFile(false), Default).Allowed);
        Assert.Equal("ROLE_FORBIDDEN", DecisionRights.Check(As(Role.Operator), new WriteFile(true), Default).Code);
        Assert.Equal("ROLE_FORBIDDEN", DecisionRights.Check(As(Role.Viewer), new WriteFile(false), Default).Code);
        var operatorsDecideProtected = Default with { Deciders = new Dictionary<string, string> { [RiskClasses.Protected] = Roles.Operator } };
        Assert.True(DecisionRights.Check(As(Role.Operator), new WriteFile(true), operatorsDecideProtected).Allowed);
    }

    // ---- Laws, over every role, mode, grant set and policy ----

    private static readonly Gen<Role> Roles_ = Gen.OneOf(Role.Viewer, Role.Operator, Role.Approver, Role.Owner);
    private static readonly Gen<string> Modes = Gen.OneOf(SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted);
    private static readonly Gen<string> Kinds = Gen.OneOf([.. RiskClasses.Routed]);

    private static readonly Gen<TeamPolicy> Policies =
        Gen.Select(
            Gen.Select(Kinds, Gen.OneOf(Roles.Operator, Roles.Approver, Roles.Owner)).Array[0, 8],
            Gen.OneOf([.. RiskClasses.Routed.Where(r => r != RiskClasses.Question)]).Array[0, 4],
            (deciders, two) => Default with
            {
                Deciders = deciders.DistinctBy(d => d.Item1).ToDictionary(d => d.Item1, d => d.Item2),
                TwoPerson = [.. two.Distinct()],
            });

    [Fact]
    public void Law_SteeringWithNoGrantsIsAllowedExactlyWhenChoosingThatModeIs() =>
        Gen.Select(Roles_, Modes, Policies).Sample((role, mode, policy) =>
            DecisionRights.Check(As(role), new Steer(mode, []), policy).Allowed == DecisionRights.Check(As(role), new ChooseMode(mode), policy).Allowed);

    [Fact]
    public void Law_WhoMaySteerASessionMayAllowAloneEveryCallItRunsUnasked() =>
        Gen.Select(Roles_, Modes, Kinds.Array[0, 3], Policies).Sample((role, mode, grants, policy) =>
            !DecisionRights.Check(As(role), new Steer(mode, grants), policy).Allowed
            || DecisionRights.Unasked(mode, grants, policy).All(risk => DecisionRights.Check(As(role), new AllowUnasked(risk), policy).Allowed));

    [Fact]
    public void Law_AHigherRoleMayDoWhateverALowerOneMay() =>
        Gen.Select(Roles_, Roles_, Gen.Int[0, DecisionRightsDocument.Acts.Count - 1], Policies).Sample((a, b, act, policy) =>
        {
            var (low, high) = a <= b ? (a, b) : (b, a);
            var asked = DecisionRightsDocument.Acts[act].Act(policy);
            return !DecisionRights.Check(As(low), asked, policy).Allowed || DecisionRights.Check(As(high), asked, policy).Allowed;
        });

    [Fact]
    public void Law_EveryRefusalHasAStableCodeAndSaysWhy() =>
        Gen.Select(Roles_, Gen.Int[0, DecisionRightsDocument.Acts.Count - 1], Policies).Sample((role, act, policy) =>
            DecisionRights.Check(As(role), DecisionRightsDocument.Acts[act].Act(policy), policy) is { Allowed: true } or { Code.Length: > 0, Reason.Length: > 20 });

    // ---- Step-up (#68): a person with a passkey gives a fresh assertion for what matters; nothing else changes ----

    private static readonly Gen<DecideCall> Calls =
        Gen.Select(Gen.OneOf([.. RiskClasses.Routed, RiskClasses.Budget]), Roles_, Gen.Int[1, 2], Gen.Bool,
            Gen.OneOf(Decisions.AllowOnce, Decisions.AllowSession, Decisions.AllowAlways, Decisions.Deny, DecideCall.Answer), Gen.Bool,
            (risk, least, needed, already, decision, edited) => new DecideCall(risk, least, needed, already, decision, edited));

    [Fact]
    public void Law_WithoutAPasskeyStepUpChangesNothing() =>
        Gen.Select(Roles_, Calls, Gen.Bool, Policies).Sample((role, call, verified, policy) =>
            DecisionRights.Check(As(role), call with { Verified = verified }, policy) == DecisionRights.Check(As(role), call, policy));

    [Fact]
    public void Law_WithAPasskeyWhatMattersNeedsAnAssertionAndNothingElseDoes() =>
        Gen.Select(Roles_, Calls, Policies).Sample((role, call, policy) =>
        {
            var without = DecisionRights.Check(As(role), call, policy);
            var keyed = As(role) with { HasPasskey = true };
            var verified = DecisionRights.Check(keyed, call with { Verified = true }, policy);
            var unverified = DecisionRights.Check(keyed, call, policy);
            // A verified decision is answered as one by someone with no passkey; an unverified one too, unless it matters and
            // would be allowed, when it is a 403 STEP_UP_REQUIRED.
            return verified == without && (without.Allowed && DecisionRights.NeedsStepUp(call)
                ? unverified is { Allowed: false, Status: 403, Code: Errors.ErrorCodes.StepUpRequired }
                : unverified == without);
        });

    [Theory]
    [InlineData(RiskClasses.Protected, Decisions.AllowOnce, 1, true)]
    [InlineData(RiskClasses.Network, Decisions.AllowOnce, 1, true)]
    [InlineData(RiskClasses.Budget, Decisions.AllowOnce, 1, true)]
    [InlineData(RiskClasses.Shell, Decisions.AllowAlways, 1, true)]
    [InlineData(RiskClasses.Shell, Decisions.AllowOnce, 2, true)]
    [InlineData(RiskClasses.Shell, Decisions.AllowOnce, 1, false)]
    [InlineData(RiskClasses.Edit, Decisions.AllowSession, 1, false)]
    [InlineData(RiskClasses.Protected, Decisions.Deny, 1, false)]
    [InlineData(RiskClasses.Question, DecideCall.Answer, 1, false)]
    public void NeedsStepUp_TheDefaultActs(string risk, string decision, int needed, bool needs) =>
        Assert.Equal(needs, DecisionRights.NeedsStepUp(new DecideCall(risk, Role.Approver, needed, false, decision)));
}
