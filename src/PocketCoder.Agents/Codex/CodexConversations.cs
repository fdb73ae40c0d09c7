using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;
using static PocketCoder.Agents.JsonFields;

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
                var page = await rpc.RequestAsync("thread/list", new JsonObject
                {
                    ["cwd"] = new JsonArray([.. ConversationHistory.Folders(projectPath).Select(f => (JsonNode)f)]),
                    ["sourceKinds"] = new JsonArray([.. PersonSources.Select(s => (JsonNode)s)]),
                    ["sortKey"] = "updated_at",
                    ["limit"] = PageSize,
                    ["cursor"] = cursor,
                }, ct).ConfigureAwait(false);
                if (page.TryGetProperty("data", out var threads) && threads.ValueKind == JsonValueKind.Array)
                {
                    found.AddRange(threads.EnumerateArray().Select(Describe).OfType<AgentConversation>());
                }

                cursor = Text(page, "nextCursor");
            }
            while (cursor is not null && found.Count < MaxListed);

            return (IReadOnlyList<AgentConversation>)[.. found.OrderByDescending(c => c.LastActivity).Take(MaxListed)];
        }, cancellationToken);

    /// <summary>The folders of the newest threads (one page of <c>thread/list</c>, unfiltered), newest first.</summary>
    public Task<IReadOnlyList<AgentFolder>> FoldersAsync(int max, CancellationToken cancellationToken) =>
        WithAppServerAsync(Path.GetTempPath(), async (rpc, ct) =>
        {
            var page = await rpc.RequestAsync("thread/list", new JsonObject
            {
                ["sourceKinds"] = new JsonArray([.. PersonSources.Select(s => (JsonNode)s)]),
                ["sortKey"] = "updated_at",
                ["limit"] = PageSize,
            }, ct).ConfigureAwait(false);
            var folders = page.TryGetProperty("data", out var threads) && threads.ValueKind == JsonValueKind.Array
                ? threads.EnumerateArray()
                    .Select(t => (Cwd: Text(t, "cwd"), Thread: Describe(t)))
                    .Where(t => t.Cwd is not null && Path.IsPathFullyQualified(t.Cwd) && t.Thread is not null)
                    .GroupBy(t => t.Cwd!, StringComparer.Ordinal)
                    .Select(g => new AgentFolder(g.Key, g.Max(t => t.Thread!.LastActivity)))
                : [];
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
                answer = await rpc.RequestAsync("thread/read", new JsonObject { ["threadId"] = threadId, ["includeTurns"] = true }, ct)
                    .ConfigureAwait(false);
            }
            catch (JsonRpcException)
            {
                // No such thread (or no rollout left for it).
                return null;
            }

            // Only a thread begun in this project's folder: another folder's conversation is not this project's to carry on.
            if (!answer.TryGetProperty("thread", out var thread) || Text(thread, "cwd") is not { } cwd
                || !ConversationHistory.Folders(projectPath).Contains(cwd))
            {
                return null;
            }

            return ConversationHistory.Newest(Entries(thread));
        }, cancellationToken);
    }

    /// <summary>What one thread holds for a reader: the prompts, the answers, and each tool call with its result.</summary>
    internal static IEnumerable<HistoryEntry> Entries(JsonElement thread)
    {
        if (!thread.TryGetProperty("turns", out var turns) || turns.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var turn in turns.EnumerateArray())
        {
            if (!turn.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var item in items.EnumerateArray())
            {
                switch (Text(item, "type"))
                {
                    case "userMessage" when UserText(item) is { Length: > 0 } text:
                        yield return new HistoryUserText(ConversationHistory.Cut(text));
                        break;
                    case "agentMessage" when Text(item, "text") is { Length: > 0 } text:
                        yield return new HistoryAssistantText(ConversationHistory.Cut(text));
                        break;
                    default:
                        if (CodexSession.Describe(item) is { } call)
                        {
                            yield return new HistoryToolCall(call.ToolCallId, call.Tool, call.Kind, call.Title, call.Input);
                            var result = CodexSession.ResultOf(call.ToolCallId, item);
                            yield return new HistoryToolResult(result.ToolCallId, ConversationHistory.Cut(result.Content), result.IsError);
                        }

                        break;
                }
            }
        }
    }

    private static string? UserText(JsonElement item) =>
        item.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            ? string.Join('\n', content.EnumerateArray().Where(i => Text(i, "type") == "text").Select(i => Text(i, "text")).OfType<string>())
            : null;

    private static AgentConversation? Describe(JsonElement thread)
    {
        if (Text(thread, "id") is not { } id)
        {
            return null;
        }

        var updated = thread.TryGetProperty("updatedAt", out var at) && at.TryGetInt64(out var seconds) ? Math.Clamp(seconds, 0, 253402300799) : 0;
        // The rollout's size where Codex says where it is (a field it marks unstable: without it, 0).
        var size = Text(thread, "path") is { } path && File.Exists(path) ? new FileInfo(path).Length : 0;
        return new AgentConversation(id, ConversationHistory.Title(Text(thread, "name") ?? Text(thread, "preview")),
            DateTimeOffset.FromUnixTimeSeconds(updated), size);
    }

    private async Task<T> WithAppServerAsync<T>(string projectPath, Func<JsonRpcConnection, CancellationToken, Task<T>> ask,
        CancellationToken cancellationToken)
    {
        var executable = command.ResolveToStart(CodexAdapter.AgentId, name, installHint);
        ChildProcess? process = null;
        JsonRpcConnection rpc = null!;
        rpc = new JsonRpcConnection((line, ct) => process!.WriteLineAsync(line, ct), stampVersion: false)
        {
            // It has nothing to ask of a client that starts no turn; should it ask, it is told so rather than left waiting.
            OnRequest = (id, method, _) => rpc.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.MethodNotFound, $"PocketCoder does not handle '{method}' here.")),
        };
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
                await rpc.RequestAsync("initialize", new JsonObject
                {
                    ["clientInfo"] = new JsonObject { ["name"] = "pocketcoder", ["title"] = "PocketCoder", ["version"] = "1" },
                }, timeout.Token).ConfigureAwait(false);
                await rpc.NotifyAsync("initialized", null, timeout.Token).ConfigureAwait(false);
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
