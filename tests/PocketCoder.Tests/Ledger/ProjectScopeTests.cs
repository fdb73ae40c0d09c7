using PocketCoder.Ledger;

namespace PocketCoder.Tests.Ledger;

/// <summary>
/// <c>ledger export --project</c>: each action the server appends, shaped as its code appends it, is about project P
/// (or not) through its subject, its <c>detail.projectId</c>, or one of P's sessions.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ProjectScopeTests
{
    [Theory]
    [InlineData("project.added", "P", """{"path":"/p","name":"web"}""", true)]
    [InlineData("project.updated", "P", """{"name":"web"}""", true)]
    [InlineData("project.removed", "P", """{"path":"/p"}""", true)]
    [InlineData("rule.added", "r1", """{"projectId":"P","tool":"Bash","pattern":"*","action":"allow"}""", true)]
    [InlineData("rule.changed", "r1", """{"projectId":"P","from":{},"to":{}}""", true)]
    [InlineData("rule.removed", "r1", """{"projectId":"Q","tool":"Bash"}""", false)]
    [InlineData("approval.auto_allowed", "S", """{"tool":"Read","mode":"ask"}""", true)]
    [InlineData("approval.auto_denied", "T", """{"tool":"Read","mode":"ask"}""", false)]
    [InlineData("approval.decided", "a1", """{"decision":"deny","sessionId":"S","deviceId":"d"}""", true)]
    [InlineData("approval.decided", "a2", """{"decision":"deny","sessionId":"T","deviceId":"d"}""", false)]
    [InlineData("approval.withdrawn", "a1", """{"sessionId":"S","tool":"Bash","message":"m"}""", true)]
    [InlineData("approval.interrupted", "a1", """{"sessionId":"S","tool":"Bash","message":"m"}""", true)]
    [InlineData("session.started", "S", """{"projectId":"P","agent":"claude-code"}""", true)]
    [InlineData("session.start_failed", "S", """{"agent":"claude-code"}""", true)]
    [InlineData("session.stopped", "S", "{}", true)]
    [InlineData("session.suspended", "S", """{"reason":"agent_slot","for":"T"}""", true)]
    [InlineData("session.interrupted", "T", "{}", false)]
    [InlineData("turn.reviewed", "S", """{"turn":1}""", true)]
    [InlineData("queue.held", "m1", """{"sessionId":"S","deviceId":"d","reason":"r"}""", true)]
    [InlineData("queue.confirmed", "m1", """{"sessionId":"T","deviceId":"d"}""", false)]
    [InlineData("worktree.created", "S", """{"projectId":"P","branch":"b"}""", true)]
    [InlineData("worktree.orphans_cleaned", "P", """{"paths":[]}""", true)]
    [InlineData("file.written", "P", """{"path":"a.txt"}""", true)]
    [InlineData("terminal.input", "P", """{"bytes":3}""", true)]
    [InlineData("command.run", "Q", """{"command":"ls"}""", false)]
    [InlineData("git.committed", "P", """{"sha":"abc"}""", true)]
    [InlineData("bridge.bound", "P", """{"bridge":"telegram","chat":"1"}""", true)]
    [InlineData("profile.created", "P", """{"profile":"x"}""", true)]
    [InlineData("mcp.added", "P", """{"name":"x"}""", true)]
    [InlineData("schedule.ran", "sc1", """{"projectId":"P","taskId":"t"}""", true)]
    [InlineData("task.removed", "t1", """{"projectId":"P"}""", true)]
    [InlineData("approval.allowed_by_one", "a1", """{"sessionId":"S","personId":"p","needed":2}""", true)]
    [InlineData("approval.escalated", "a1", """{"sessionId":"S","to":"owner","afterSeconds":60}""", true)]
    [InlineData("policy.changed", "P", """{"policy":{},"byDevice":"d"}""", true)]
    [InlineData("member.set", "P", """{"personId":"p","role":"viewer"}""", true)]
    [InlineData("member.cleared", "Q", """{"personId":"p","role":null}""", false)]
    [InlineData("budget.raised", "P", """{"scope":"session","sessionId":"S","tokens":1000}""", true)]
    [InlineData("budget.warning", "P", """{"scope":"project","sessionId":"T","spent":0.8}""", true)]
    [InlineData("person.added", "p1", """{"name":"Ana","role":"approver"}""", false)]
    [InlineData("person.revoked", "p1", """{"name":"Ana","role":"approver"}""", false)]
    [InlineData("device.paired", "d1", """{"deviceName":"phone","personId":"p1"}""", false)]
    [InlineData("device.revoked", "d1", "{}", false)]
    [InlineData("pairing.burned", "pairing-code", """{"why":"said where others could read it"}""", false)]
    [InlineData("approval.decided", "a3", """{"sessionId":{"projectId":"P"}}""", false)]
    public void Contains_EachActionAsAppended(string action, string subject, string detail, bool about)
    {
        var scope = new ProjectScope("P", []);
        scope.Learn(Entry("session.started", "S", """{"projectId":"P","agent":"codex"}"""));
        scope.Learn(Entry("session.started", "T", """{"projectId":"Q","agent":"codex"}"""));

        Assert.Equal(about, scope.Contains(Entry(action, subject, detail)));
    }

    [Fact]
    public void Contains_ASessionTheLedgerNeverStarted_KnownFromTheDatabase() =>
        Assert.True(new ProjectScope("P", ["old"]).Contains(Entry("session.stopped", "old", "{}")));

    [Fact]
    public void Learn_ASessionContinuedFromTheTerminal_ItsEntriesBelong()
    {
        var scope = new ProjectScope("P", []);
        scope.Learn(Entry("session.continued", "C", """{"projectId":"P","agent":"claude-code","conversation":"x"}"""));

        Assert.True(scope.Contains(Entry("session.handed_back", "C", """{"conversation":"x"}""")));
    }

    private static LedgerEntry Entry(string action, string subject, string detail) => new(1, "2026-01-01T00:00:00.0000000Z", "phone", action, subject, detail, "", "");
}
