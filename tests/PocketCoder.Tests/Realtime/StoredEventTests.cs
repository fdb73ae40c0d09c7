using System.Text.Json;
using PocketCoder.Realtime;

namespace PocketCoder.Tests.Realtime;

/// <summary>A stored event read back as its record (what the bridges and the notifier act on), never field by field.</summary>
[Trait("Category", "Unit")]
public sealed class StoredEventTests
{
    [Fact]
    public void As_ReadsItsOwnKind_WithInitOnlyFields_NullForAnother()
    {
        var stalled = Stored(new ErrorEvent("No output for 300 s.") { Code = "AGENT_STALLED", SilentSeconds = 300 });
        Assert.Equal(("No output for 300 s.", "AGENT_STALLED", 300), stalled.As<ErrorEvent>() is { } e ? (e.Message, e.Code, e.SilentSeconds) : default);
        Assert.Null(stalled.As<MessageEvent>());

        var input = JsonDocument.Parse("""{"command":"ls"}""").RootElement;
        var requested = Stored(new ApprovalRequestedEvent("ap1", "call1", "Bash", "execute", "List", input, null, true, "2026-01-01T00:00:00.000Z", "ls"));
        var read = requested.As<ApprovalRequestedEvent>()!;
        Assert.Equal(("ap1", "execute", "ls"), (read.ApprovalId, read.ToolKind, read.Input.GetProperty("command").GetString()));
        Assert.Null(requested.As<ApprovalResolvedEvent>());

        var resolved = Stored(new ApprovalResolvedEvent("ap1", "call1", "decided", "deny", "phone", "no", null)).As<ApprovalResolvedEvent>()!;
        Assert.Equal(("ap1", "deny", "no"), (resolved.ApprovalId, resolved.Decision, resolved.Message));
        Assert.Equal(("cancelled", true, (string?)null), Stored(new TurnCompletedEvent("cancelled", true, null)).As<TurnCompletedEvent>() is { } t ? (t.StopReason, t.IsError, t.Result) : default);
    }

    private static StoredEvent Stored<T>(T data) where T : ISessionEvent => new(7, "s1", 3, T.Kind, EventLog.Payload("s1", 3, data), "2026-01-01T00:00:00.000Z");
}
