using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Realtime;
using PocketCoder.Sessions;

namespace PocketCoder.Tests.Realtime;

/// <param name="Shows">Words the phone shows for it; null when it is absorbed (deltas the whole message replaces, a status).</param>
/// <param name="Folded">Words the phone shows only once the owner unfolds them.</param>
internal sealed record EventSample(string Kind, Func<EventLog, DbWrite, string, StoredEvent> Append, string? Shows, string? Folded = null);

/// <summary>
/// One event of every kind in <see cref="SessionEventCatalogue"/>, in an order a session could have them. A kind added to
/// the catalogue without a sample here fails <c>EventCatalogueTests</c>, so it reaches the phone in
/// <c>EveryEventBrowserTests</c> the day it is added.
/// </summary>
internal static class EventSamples
{
    public const string ErrorMessage = "Sample: the agent reported trouble.";

    public static IReadOnlyList<EventSample> All { get; } =
    [
        // Shown only while the session is still being prepared; the idle status below ends that.
        Of(new SessionPreparingEvent(PocketCoder.Workspace.Worktrees.PreparationPhases.Checkout, 40, 4000, 10000), null),
        Of(new UserMessageEvent("Show me every kind of event", "laptop", [new AttachmentInfo("notes.txt", "text", "text/plain", 12)]),
            "Show me every kind of event"),
        Of(new ThinkingEvent("Sample thought about the folder."), "Thinking"),
        Of(new MessageDeltaEvent("Here is a whole"), null),
        Of(new MessageEvent("Here is a whole sample reply."), "Here is a whole sample reply."),
        Of(new PlanEvent([new PlanEntry("Sample first step", "completed"), new PlanEntry("Sample second step", "in_progress")]), "Sample second step"),
        // Announced before its input (as ACP agents do), then completed in place: the row shows the update's title, not "Shell".
        Of(new ToolCallEvent("sample-call", "Bash", ToolKind.Execute.ToWire(), "Shell", JsonElement.Parse("{}")), null),
        Of(new ToolCallUpdatedEvent("sample-call", "ls sample-folder", Input(), InputMissing: false), "ls sample-folder"),
        Of(new ApprovalRequestedEvent("sample-approval", "sample-call", "Bash", ToolKind.Execute.ToWire(), "ls sample-folder", Input(), null, true,
            "2026-01-01T00:00:00.000Z", "ls sample-folder"), null),
        // Shown on the waiting card ("Allowed by Ana · 1 of 2", "Escalated to owners"), which the denial below then settles.
        Of(new ApprovalVoteEvent("sample-approval", "sample-call", ["Ana"], 2), null),
        Of(new ApprovalEscalatedEvent("sample-approval", "sample-call", "owner"), null),
        Of(new ApprovalResolvedEvent("sample-approval", "sample-call", "decided", "deny", "laptop", "Not this sample folder", null),
            "Not this sample folder"),
        Of(new ToolResultEvent("sample-call", "Denied: Not this sample folder", true, false), null),
        // A subagent (issue #55): its call, its task's state, and what it did under it (folded away by its toggle, see every-event.mjs).
        Of(new ToolCallEvent("sample-agent", "Agent", ToolKind.Other.ToWire(), "Subagent: Sample delegated work",
            JsonElement.Parse("""{"description":"Sample delegated work","prompt":"Read the sample notes"}""")), "Subagent: Sample delegated work"),
        Of(new TaskStatusEvent("sample-agent", "sample-task", "local_agent", "running", "Sample delegated work", null), null),
        Of(new ThinkingEvent("Sample subagent thought.", "sample-agent"), null),
        Of(new ToolCallEvent("sample-sub-call", "Read", ToolKind.Read.ToWire(), "Read sample-notes.md", JsonElement.Parse("""{"file_path":"sample-notes.md"}"""),
            "sample-agent"), "Read sample-notes.md"),
        Of(new ToolResultEvent("sample-sub-call", "Sample notes.", false, false), null),
        Of(new MessageEvent("Sample subagent finding.", "sample-agent"), "Sample subagent finding."),
        Of(new TaskStatusEvent("sample-agent", "sample-task", null, "completed", null, "Sample subagent finding."), null),
        Of(new ToolResultEvent("sample-agent", "Sample subagent finding.", false, false), null),
        Of(new UsageEvent(1200, 300, 0, 0, 0.042m, 0.042m), "$0.04"),
        Of(new TurnCompletedEvent("end_turn", false, "Here is a whole sample reply."), null),
        Of(new TurnChangesEvent(1, 2), "Review 2 changed files"),
        Of(new HistoryImportedEvent("terminal", 4, 0), "the conversation so far in the terminal"),
        Of(new ErrorEvent(ErrorMessage) { StderrTail = "sample: the last line the agent printed" }, ErrorMessage,
            "sample: the last line the agent printed"),
        Of(new QueueUpdatedEvent([], false), null),
        // One line for connections in a row; who opened it and why unfold under it.
        Of(new NetworkConnectionEvent("files.example.org", 443, NetworkConnectionEvent.Allowed, "Allowed by the project rule 'network *.example.org'.",
            1200, 56000, 80, "pip install sample-package"), "files.example.org:443", "by pip install sample-package"),
        Of(new SessionStatusEvent(SessionStatuses.Idle, "ask", null), null),
    ];

    private static EventSample Of<T>(T sample, string? shows, string? folded = null) where T : ISessionEvent =>
        new(T.Kind, (log, write, sessionId) => log.Append(write, sessionId, sample), shows, folded);

    private static JsonElement Input() => JsonElement.Parse("""{"command":"ls sample-folder","description":"List the sample folder"}""");
}
