using System.Text.Json;

namespace PocketCoder.Agents;

/// <summary>A conversation the agent keeps on this machine for a project folder (started in a terminal, or by PocketCoder).</summary>
/// <param name="Size">Bytes on disk where the agent says (0 when it does not).</param>
public sealed record AgentConversation(string Id, string? Title, DateTimeOffset LastActivity, long Size);

/// <summary>One step of an agent's own transcript, as PocketCoder shows history: words, tool calls and their results.</summary>
public abstract record HistoryEntry;

public sealed record HistoryUserText(string Text) : HistoryEntry;

public sealed record HistoryAssistantText(string Text) : HistoryEntry;

public sealed record HistoryToolCall(string ToolCallId, string Tool, ToolKind Kind, string Title, JsonElement Input) : HistoryEntry;

public sealed record HistoryToolResult(string ToolCallId, string Content, bool IsError) : HistoryEntry;

/// <summary>The conversation's history, oldest first; <c>Skipped</c> counts the oldest entries left out.</summary>
public sealed record ConversationHistory(IReadOnlyList<HistoryEntry> Entries, int Skipped)
{
    // A history is for reading back on a phone: the newest entries are what matters, and a huge transcript costs no more.
    internal const int MaxEntries = 1000;
    internal const int MaxText = 64 * 1024;
    private const int TitleLength = 120;

    /// <summary>The newest <see cref="MaxEntries"/> of <paramref name="entries"/>, read as a stream (never all held at once).</summary>
    internal static ConversationHistory Newest(IEnumerable<HistoryEntry> entries)
    {
        var newest = new Queue<HistoryEntry>(MaxEntries);
        var total = 0;
        foreach (var entry in entries)
        {
            total++;
            if (newest.Count == MaxEntries)
            {
                newest.Dequeue();
            }

            newest.Enqueue(entry);
        }

        return new ConversationHistory([.. newest], total - newest.Count);
    }

    /// <summary>The folder as PocketCoder names it and as a terminal's <c>getcwd</c> would (through any link): agents record either.</summary>
    internal static IReadOnlyList<string> Folders(string projectPath)
    {
        var real = FileSystem.RealPath.Resolve(projectPath);
        return real is null || real == projectPath ? [projectPath] : [projectPath, real];
    }

    internal static string Cut(string text) => text.Length > MaxText ? text[..MaxText] + "…" : text;

    /// <summary>A first prompt as a one-line title, control characters left out (a title is shown in terminals too).</summary>
    internal static string? Title(string? text)
    {
        var line = text is null ? null : new string([.. text.ReplaceLineEndings(" ").Where(c => !char.IsControl(c))]).Trim();
        return string.IsNullOrEmpty(line) ? null : line.Length > TitleLength ? line[..TitleLength] + "…" : line;
    }
}

/// <summary>
/// An agent whose conversations live on this machine, so they can be listed, read, continued by PocketCoder and handed
/// back to the terminal. The terminal command is the agent's own: <see cref="ResumeCommand"/>.
/// </summary>
public interface IAgentConversations
{
    /// <summary>The agent's process name, to find one working in a project's folder without naming a conversation.</summary>
    string ProcessName { get; }

    /// <exception cref="AgentUnavailableException">The agent cannot be asked (not installed, or failed to answer).</exception>
    Task<IReadOnlyList<AgentConversation>> ListConversationsAsync(string projectPath, CancellationToken cancellationToken);

    /// <summary>The history, or null when there is no such conversation for the folder.</summary>
    /// <exception cref="AgentUnavailableException">The agent cannot be asked (not installed, or failed to answer).</exception>
    Task<ConversationHistory?> ReadConversationAsync(string projectPath, string conversationId, CancellationToken cancellationToken);

    /// <summary>What to run in the project folder to carry on in a terminal, as an argument list.</summary>
    IReadOnlyList<string> ResumeCommand(string conversationId);

    /// <summary>
    /// Copies one conversation, as data, between the owner's home and the agent's home of PocketCoder's own
    /// (<see cref="Processes.AgentHome"/>, at <paramref name="agentHome"/>), where the source's is newer than the destination's: a
    /// conversation begun in a terminal carried on by a sandboxed agent, and handed back. Toward the owner, nothing is kept that
    /// would make the owner's own agent run something as it resumes. False when the source has no such conversation.
    /// </summary>
    /// <param name="workingDirectory">Where the conversation works (the project's folder, or a session's worktree).</param>
    Task<bool> CopyConversationAsync(string workingDirectory, string conversationId, string agentHome, bool toAgentHome, CancellationToken cancellationToken);
}

/// <summary>A folder an agent worked in on this machine, as its own conversation store records it.</summary>
public sealed record AgentFolder(string Path, DateTimeOffset LastActivity);

/// <summary>
/// An agent whose conversation store says which folders it worked in: where the owner already works, offered when a project is
/// added. Read from the same store <see cref="IAgentConversations"/> lists a folder's conversations from, the other way round.
/// </summary>
public interface IAgentFolders
{
    /// <summary>Folders, newest first, at most <paramref name="max"/>; they may no longer exist.</summary>
    /// <exception cref="AgentUnavailableException">The agent cannot be asked (not installed, or failed to answer).</exception>
    Task<IReadOnlyList<AgentFolder>> ListFoldersAsync(int max, CancellationToken cancellationToken);
}
