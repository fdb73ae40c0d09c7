using System.Text.Json;
using PocketCoder.Approvals;
using PocketCoder.Bridges;
using PocketCoder.Realtime;

namespace PocketCoder.Tests.Bridges;

/// <summary>The pure parts of a chat bridge: reading a command, rendering an approval's message, and a turn's message from its events.</summary>
[Trait("Category", "Unit")]
public sealed class ChatBridgePartsTests
{
    [Theory]
    [InlineData("/help", "help", "", null)]
    [InlineData("/new fix the login bug", "new", "fix the login bug", null)]
    [InlineData("  /Bind@Pocket_Bot   My Project  ", "bind", "My Project", "Pocket_Bot")]
    [InlineData("/stop\nnow please", "stop", "now please", null)]
    [InlineData("/pair 123456", "pair", "123456", null)]
    [InlineData("plain text /help", null, "", null)]
    [InlineData("mail a@b.c", null, "", null)]
    [InlineData("/", null, "", null)]
    [InlineData("/1abc", null, "", null)]
    [InlineData("//comment", null, "", null)]
    [InlineData("", null, "", null)]
    public void Parse_CommandArgumentAndBot(string text, string? command, string argument, string? bot) =>
        Assert.Equal((command, argument, bot), ChatCommands.Parse(text));

    private const string Bash = "execute";
    private const string Question = "question";
    private const string Ls = """{"command":"ls -la"}""";
    private const string YesNo = """{"questions":[{"question":"Deploy?","options":[{"label":"Yes"},{"label":"No"}]}]}""";

    /// <summary>Buttons as "label=data" per row, rows split by " / ".</summary>
    [Theory]
    [InlineData(Bash, Ls, "List files", "pending", null, true, "Allow once=n1:a|All Bash this session=n1:s / Deny=n1:d|Deny with a reason=n1:r", "Bash wants to: List files\n$ ls -la\n\nshop · session 0123abcd")]
    [InlineData(Bash, """{"command":"echo \u202Egnp.exe"}""", "Echo", "pending", null, true, "Deny=n1:d|Deny with a reason=n1:r", "Not shown here whole, so it can only be denied here")]
    [InlineData(Bash, """{"command":"echo \u001b[2Khi"}""", "Echo", "pending", null, true, "Deny=n1:d|Deny with a reason=n1:r", "$ echo hi\n")]
    [InlineData(Bash, """{"description":"only commentary"}""", "Something", "pending", null, true, "Deny=n1:d|Deny with a reason=n1:r", "Not shown here whole")]
    [InlineData(Bash, Ls, "List files", "pending", null, false, "", "This chat no longer steers the project: decide in the app.")]
    [InlineData(Bash, Ls, "List files", "decided", "allow_session", true, "", "✅ Allowed for this session by Alice's phone.")]
    [InlineData(Bash, Ls, "List files", "decided", "deny", true, "", "❌ Denied by Alice's phone: not now")]
    [InlineData(Bash, Ls, "List files", "cancelled", null, true, "", "Withdrawn: the agent no longer asks")]
    [InlineData(Bash, Ls, "List files", "interrupted", null, true, "", "Interrupted: the server stopped while it waited.")]
    [InlineData(Question, YesNo, "Deploy?", "pending", null, true, "Yes=n1:o0 / No=n1:o1 / Dismiss=n1:d", "❓ Choose one, or answer in the app in your own words.")]
    [InlineData(Question, """{"questions":[{"question":"Which?","multiSelect":true,"options":[{"label":"A"},{"label":"B"}]}]}""", "Which?", "pending", null, true, "Dismiss=n1:d", "❓ Answer it in the app; here it can only be dismissed.")]
    [InlineData(Question, """{"questions":[{"question":"Which?","options":[{"label":"A"},{"label":"A"}]}]}""", "Which?", "pending", null, true, "Dismiss=n1:d", "here it can only be dismissed")]
    [InlineData(Question, YesNo, "Deploy?", "decided", "allow_once", true, "", "💬 Answered by Alice's phone.")]
    [InlineData(Question, YesNo, "Deploy?", "decided", "deny", true, "", "❌ Dismissed by Alice's phone")]
    public void Render_ButtonsOnlyForWhatMayBeDecidedHere(string kind, string input, string title, string status, string? decision, bool bound, string buttons, string says)
    {
        var approval = NewApproval(kind, input, title, status, decision);
        var message = ApprovalText.Render(approval, "n1", bound, "shop", null, 4096);

        Assert.Equal(buttons, string.Join(" / ", (message.Buttons ?? []).Select(row => string.Join("|", row.Select(b => $"{b.Label}={b.Data}")))));
        Assert.Contains(says, message.Text, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', message.Text);
    }

    [Fact]
    public void Render_CutToThePlatform_OrWithAnUnreadableTitle_OnlyDenies()
    {
        var longCommand = NewApproval(Bash, JsonSerializer.Serialize(new { command = "echo " + new string('x', 400) }), "Echo", "pending", null);
        var cut = ApprovalText.Render(longCommand, "n1", bound: true, "shop", "https://pc.example/s/0123abcd", maxTextLength: 300);
        Assert.True(cut.Text.Length <= 300, cut.Text);
        Assert.Equal(["Deny", "Deny with a reason"], cut.Buttons!.Single().Select(b => b.Label));

        var longTitle = NewApproval(Bash, Ls, new string('t', 301), "pending", null);
        Assert.False(ApprovalText.Describe(longTitle, "shop", null, 4096).Whole);
        Assert.True(ApprovalText.Describe(NewApproval(Bash, Ls, "List files", "pending", null), "shop", "https://pc.example/s/0123abcd", 4096).Whole);
    }

    private static Approval NewApproval(string kind, string input, string title, string status, string? decision) =>
        new("ap1", "0123abcd-session", "p1", "call1", kind == Question ? "AskUserQuestion" : "Bash", ApprovalKind.FromWire(kind), title, input, null, "*", ApprovalLifecycle.FromWire(status),
            DateTimeOffset.UnixEpoch, decision, status == "decided" ? "Alice's phone" : null, null, decision == "deny" && kind == Bash ? "not now" : null, null, CanEditInput: false);

    public static TheoryData<StoredEvent[], string> Turns => new()
    {
        { [Event(new MessageDeltaEvent("Hel")), Event(new MessageDeltaEvent("lo"))], "Hello\n\n… working" },
        { [Event(new MessageDeltaEvent("Hel")), Event(new MessageEvent("Hello there."))], "Hello there.\n\n… working" },
        { [Event(new MessageEvent("Looking.")), Event(Call("Bash", "List files")), Event(new TurnCompletedEvent("end_turn", false, "ok"))], "Looking.\n\n▸ Bash: List files\n\n✓ Done" },
        // An ACP agent's call announced before its input: its line names the command once the agent tells it.
        {
            [Event(Call("Bash", "Shell")), Event(new ToolCallUpdatedEvent("c1", "echo hi > made.txt", JsonDocument.Parse("{}").RootElement, false))],
            "▸ Bash: echo hi > made.txt\n\n… working"
        },
        { [Event(new MessageDeltaEvent("Half")), Event(new TurnCompletedEvent("cancelled", false, null))], "Half\n\n⏹ Stopped" },
        { [Event(new ErrorEvent("The agent exited.")), Event(new TurnCompletedEvent("error", true, null))], "⚠ The agent exited.\n\n⚠ Ended with an error" },
        {
            [Event(new MessageEvent("Done.")), Event(new TurnCompletedEvent("end_turn", false, null)), Event(new TurnChangesEvent(1, 2)), Event(new UsageEvent(10, 5, 0, 0, 0.0123m, 1m))],
            "Done.\n\n✓ Done · 2 files changed · $0.0123"
        },
        { [Event(new TurnChangesEvent(1, 1)), Event(new TurnCompletedEvent("end_turn", false, null))], "✓ Done · 1 file changed" },
        { [Event(new MessageDeltaEvent("a\u001b[2Kb\u202e"))], "ab\n\n… working" },
        { [.. Enumerable.Range(1, 10).Select(i => Event(Call("Read", $"f{i}")))], "… 2 more\n▸ Read: f3\n▸ Read: f4\n▸ Read: f5\n▸ Read: f6\n▸ Read: f7\n▸ Read: f8\n▸ Read: f9\n▸ Read: f10\n\n… working" },
    };

    [Theory]
    [MemberData(nameof(Turns))]
    public void TurnPost_ShowsTheReplyToolsAndEnding(StoredEvent[] events, string shown)
    {
        var turn = new TurnPost("s1");
        Assert.All(events, e => Assert.True(turn.Take(e), e.Kind));
        Assert.Equal(shown, turn.Render(4096, null).Text);
    }

    [Fact]
    public void TurnPost_IgnoresWhatItDoesNotShow_LinksOnceFinished_KeepsTheNewestWhenLong()
    {
        var turn = new TurnPost("s1");
        Assert.False(turn.Take(Event(new UserMessageEvent("hi", "phone"))));
        Assert.False(turn.Take(Event(new ThinkingEvent("hmm"))));
        Assert.False(turn.Take(Event(new ToolResultEvent("c1", "output", false, false))));
        Assert.True(turn.Take(Event(new MessageDeltaEvent(new string('a', 300) + "THE END"))));
        Assert.DoesNotContain("https://pc.example/s/s1", turn.Render(4096, "https://pc.example/s/s1").Text, StringComparison.Ordinal);

        var cut = turn.Render(100, null).Text;
        Assert.True(cut.Length <= 100, cut);
        Assert.StartsWith("…", cut, StringComparison.Ordinal);
        Assert.Contains("THE END", cut, StringComparison.Ordinal);

        turn.Take(Event(new TurnCompletedEvent("end_turn", false, null)));
        Assert.EndsWith("✓ Done\nhttps://pc.example/s/s1", turn.Render(4096, "https://pc.example/s/s1").Text, StringComparison.Ordinal);
    }

    private static ToolCallEvent Call(string tool, string title) => new("c1", tool, "read", title, JsonDocument.Parse("{}").RootElement);

    private static StoredEvent Event<T>(T data) where T : ISessionEvent => new(1, "s1", 1, T.Kind, EventLog.Payload("s1", 1, data), "2026-01-01T00:00:00Z");
}
