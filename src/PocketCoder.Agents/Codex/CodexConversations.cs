using System.Globalization;
using System.Text.Json;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Codex's threads for a project folder, asked of Codex itself: a short-lived <c>codex app-server</c> answers
/// <c>thread/list</c> (filtered by the folder) and <c>thread/read</c> with its turns. Its rollout files are Codex's
/// business, not a format to parse here. Nothing runs in the thread: listing and reading start no turn.
/// </summary>
internal sealed class CodexConversations(AgentCommand command, string name, string installHint)
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);
    // Enough to find any recent conversation; a folder with more threads than this shows the newest.
    private const int MaxListed = 500;
    private const int PageSize = 100;

    // Every source a person starts a thread from (the TUI, an editor, `codex exec`, an app-server client like this one);
    // sub-agents' threads are parts of another conversation, not conversations of their own.
    private static readonly string[] PersonSources = ["cli", "vscode", "exec", "appServer"];

    public Task<IReadOnlyList<AgentConversation>> ListAsync(string projectPath, CancellationToken cancellationToken) =>
        WithAppServerAsync(projectPath, async (rpc, ct) =>
        {
            var found = new List<AgentConversation>();
            string? cursor = null;
            do
            {
                var page = await ListAsync(rpc, [.. ConversationHistory.Folders(projectPath)], cursor, ct).ConfigureAwait(false);
                found.AddRange((page?.Data ?? []).Select(Describe).OfType<AgentConversation>());
                cursor = page?.NextCursor;
            }
            while (cursor is not null && found.Count < MaxListed);

            return (IReadOnlyList<AgentConversation>)[.. found.OrderByDescending(c => c.LastActivity).Take(MaxListed)];
        }, cancellationToken);

    /// <summary>The folders of the newest threads (one page of <c>thread/list</c>, unfiltered), newest first.</summary>
    public Task<IReadOnlyList<AgentFolder>> FoldersAsync(int max, CancellationToken cancellationToken) =>
        WithAppServerAsync(Path.GetTempPath(), async (rpc, ct) =>
        {
            var page = await ListAsync(rpc, null, null, ct).ConfigureAwait(false);
            var folders = (page?.Data ?? [])
                .Select(t => (t.Cwd, Thread: Describe(t)))
                .Where(t => t.Cwd is not null && Path.IsPathFullyQualified(t.Cwd) && t.Thread is not null)
                .GroupBy(t => t.Cwd!, StringComparer.Ordinal)
                .Select(g => new AgentFolder(g.Key, g.Max(t => t.Thread!.LastActivity)));
            return (IReadOnlyList<AgentFolder>)[.. folders.OrderByDescending(f => f.LastActivity).Take(max)];
        }, cancellationToken);

    public Task<ConversationHistory?> ReadAsync(string projectPath, string threadId, CancellationToken cancellationToken)
    {
        // One spelling per thread (Codex's: lower case with dashes), so the lock's comparisons of ids hold.
        if (!Guid.TryParse(threadId, out var guid) || guid.ToString("D") != threadId)
        {
            return Task.FromResult<ConversationHistory?>(null);
        }

        return WithAppServerAsync(projectPath, async (rpc, ct) =>
        {
            JsonElement answer;
            try
            {
                answer = await rpc.RequestAsync("thread/read", CodexWire.Node(new ThreadReadParams(threadId, true)), ct).ConfigureAwait(false);
            }
            catch (JsonRpcException)
            {
                // No such thread (or no rollout left for it).
                return null;
            }

            // Only a thread begun in this project's folder: another folder's conversation is not this project's to carry on.
            if (CodexWire.Read<ThreadResponse>(answer)?.Thread is not { Cwd: { } cwd } thread || !ConversationHistory.Folders(projectPath).Contains(cwd))
            {
                return null;
            }

            return ConversationHistory.Newest(Entries(thread));
        }, cancellationToken);
    }

    /// <summary>One page of threads (those begun in <paramref name="folders"/>, or all), newest first.</summary>
    private static async Task<ThreadListResponse?> ListAsync(JsonRpcConnection rpc, IReadOnlyList<string>? folders, string? cursor, CancellationToken ct) =>
        CodexWire.Read<ThreadListResponse>(await rpc.RequestAsync("thread/list",
            CodexWire.Node(new ThreadListParams(folders, PersonSources, "updated_at", PageSize, cursor)), ct).ConfigureAwait(false));

    /// <summary>What one thread holds for a reader: the prompts, the answers, and each tool call with its result.</summary>
    internal static IEnumerable<HistoryEntry> Entries(CodexThread thread)
    {
        foreach (var item in (thread.Turns ?? []).SelectMany(turn => turn.Items ?? []))
        {
            switch (item)
            {
                case UserMessageItem { Content: { } content }
                    when string.Join('\n', content.Where(i => i.Type == "text").Select(i => i.Text).OfType<string>()) is { Length: > 0 } text:
                    yield return new HistoryUserText(ConversationHistory.Cut(text));
                    break;
                case AgentMessageItem { Text: { Length: > 0 } text }:
                    yield return new HistoryAssistantText(ConversationHistory.Cut(text));
                    break;
                default:
                    if (CodexUpdates.Describe(item) is { } call)
                    {
                        yield return new HistoryToolCall(call.ToolCallId, call.Tool, call.Kind, call.Title, call.Input);
                        var result = CodexUpdates.ResultOf(call.ToolCallId, item);
                        yield return new HistoryToolResult(result.ToolCallId, ConversationHistory.Cut(result.Content), result.IsError);
                    }

                    break;
            }
        }
    }

    private static AgentConversation? Describe(CodexThread thread)
    {
        if (thread.Id is not { } id)
        {
            return null;
        }

        var updated = Math.Clamp(thread.UpdatedAt ?? 0, 0, 253402300799);
        // The rollout's size where Codex says where it is (a field it marks unstable: without it, 0).
        var size = thread.Path is { } path && File.Exists(path) ? new FileInfo(path).Length : 0;
        return new AgentConversation(id, ConversationHistory.Title(thread.Name ?? thread.Preview), DateTimeOffset.FromUnixTimeSeconds(updated), size);
    }

    private async Task<T> WithAppServerAsync<T>(string projectPath, Func<JsonRpcConnection, CancellationToken, Task<T>> ask,
        CancellationToken cancellationToken)
    {
        var executable = command.ResolveToStart(CodexAdapter.AgentId, name, installHint);
        ChildProcess? process = null;
        // It has nothing to ask of a client that starts no turn; should it ask, it is refused rather than left waiting.
        var rpc = new JsonRpcConnection((line, ct) => process!.WriteLineAsync(line, ct), stampVersion: false);
        // Started outside the repository, so nothing of the project's (.codex/config.toml) is loaded: thread/list names the folder.
        process = ChildProcess.StartAgent(CodexAdapter.AgentId, name, new ProcessSpec(executable, ["app-server"], Path.GetTempPath(), command.Environment, null),
            rpc.OnLineAsync);
        await using (process.ConfigureAwait(false))
        {
            _ = process.Exited.ContinueWith(exit => rpc.Close($"the codex process exited with code {exit.Result}"), TaskScheduler.Default);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(AnswerTimeout);
            try
            {
                await CodexWire.InitializeAsync(rpc, "1", timeout.Token).ConfigureAwait(false);
                return await ask(rpc, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is InvalidOperationException or JsonRpcException
                                                  || exception is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                await process.StopAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
                var tail = process.StderrTail.Trim();
                throw new AgentUnavailableException(CodexAdapter.AgentId,
                    string.Create(CultureInfo.InvariantCulture, $"{name} did not answer about its conversations ({exception.Message}).")
                    + (tail.Length > 0 ? $" Its last output: {tail[^Math.Min(tail.Length, 400)..]}" : ""), exception);
            }
            finally
            {
                await process.StopAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
