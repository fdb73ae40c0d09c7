using System.Text.Json;

namespace PocketCoder.Agents;

/// <summary>A conversation the agent keeps on this machine for a project folder (started in a terminal, or by PocketCoder).</summary>
public sealed record AgentConversation(string Id, string? Title, DateTimeOffset LastActivity, long Size);

/// <summary>One step of an agent's own transcript, as PocketCoder shows history: words, tool calls and their results.</summary>
public abstract record HistoryEntry;

public sealed record HistoryUserText(string Text) : HistoryEntry;

public sealed record HistoryAssistantText(string Text) : HistoryEntry;

public sealed record HistoryToolCall(string ToolCallId, string Tool, ToolKind Kind, string Title, JsonElement Input) : HistoryEntry;

public sealed record HistoryToolResult(string ToolCallId, string Content, bool IsError) : HistoryEntry;

/// <summary>The conversation's history, oldest first; <c>Skipped</c> counts the oldest entries left out.</summary>
public sealed record ConversationHistory(IReadOnlyList<HistoryEntry> Entries, int Skipped);

/// <summary>
/// An agent whose conversations live in files on this machine, so they can be listed, read, continued by PocketCoder
/// and handed back to the terminal. The terminal command is the agent's own: <see cref="ResumeCommand"/>.
/// </summary>
public interface IAgentConversations
{
    IReadOnlyList<AgentConversation> ListConversations(string projectPath);

    /// <summary>The history, or null when there is no such conversation for the folder.</summary>
    ConversationHistory? ReadConversation(string projectPath, string conversationId);

    /// <summary>What to run in the project folder to carry on in a terminal, as an argument list.</summary>
    IReadOnlyList<string> ResumeCommand(string conversationId);
}
