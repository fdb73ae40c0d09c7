using System.Text.Json;
using System.Text.RegularExpressions;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// OpenCode's sessions for a project folder, asked of OpenCode's own CLI (<c>opencode session list --format json</c>
/// and <c>opencode export ID</c>), run with nothing of the repository's loaded, like every opencode PocketCoder runs.
/// OpenCode keeps its sessions in its own database: reading them through its CLI needs no server and no guess at the format.
/// </summary>
internal sealed partial class OpenCodeConversations(AgentCommand command, string name, string installHint)
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(60);
    // An export holds every message's parts (tool output included): one larger than this is not read back here.
    private const int MaxExport = 32 * 1024 * 1024;
    private const int MaxListed = 500;

    public async Task<IReadOnlyList<AgentConversation>> ListAsync(string projectPath, CancellationToken cancellationToken)
    {
        var list = OpenCodeJson.Default.Read<IReadOnlyList<ListedSession>>(await RunAsync(projectPath, ["session", "list", "--format", "json"], 4 * 1024 * 1024,
            failureIsAbsence: false, cancellationToken).ConfigureAwait(false));
        var folders = ConversationHistory.Folders(projectPath);
        return [.. (list ?? []).Where(s => s.Id is { } id && IsSessionId(id) && s.Directory is { } directory && folders.Contains(directory))
            .Select(s => new AgentConversation(s.Id!, ConversationHistory.Title(s.Title),
                DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(s.Updated ?? 0, 0, 253402300799999)), 0))
            .OrderByDescending(c => c.LastActivity)
            .Take(MaxListed)];
    }

    public async Task<ConversationHistory?> ReadAsync(string projectPath, string sessionId, CancellationToken cancellationToken) =>
        await ExportAsync(projectPath, sessionId, cancellationToken).ConfigureAwait(false) is { } export
            ? ConversationHistory.Newest(Entries(export.Session))
            : null;

    /// <summary>What one export holds for a reader: the prompts, the answers, and each tool call with its outcome.</summary>
    internal static IEnumerable<HistoryEntry> Entries(SessionExport export)
    {
        foreach (var message in export.Messages ?? [])
        {
            var user = message.Info?.Role == "user";
            foreach (var part in message.Parts ?? [])
            {
                switch (part)
                {
                    // Synthetic text is OpenCode's own addition to a prompt (a file's content, a reminder), not the person's words.
                    case { Type: "text", Text: { Length: > 0 } text, Synthetic: not true }:
                        yield return user ? new HistoryUserText(ConversationHistory.Cut(text)) : new HistoryAssistantText(ConversationHistory.Cut(text));
                        break;
                    case { Type: "tool", State: { Status: "completed" or "error" } state } when !user:
                        var callId = part.CallID ?? part.Id ?? "";
                        var tool = part.Tool ?? "tool";
                        var input = state.Input is { ValueKind: JsonValueKind.Object } given ? given : JsonElement.Parse("{}");
                        var (kind, title, _, _) = OpenCodeUpdates.Describe(tool, input);
                        yield return new HistoryToolCall(callId, tool, kind, title, input);
                        var failed = state.Status == "error";
                        yield return new HistoryToolResult(callId, ConversationHistory.Cut((failed ? state.Error : state.Output) ?? ""), failed);
                        break;
                }
            }
        }
    }

    /// <summary>OpenCode's session ids: <c>ses_</c> and letters or digits.</summary>
    private static bool IsSessionId(string id) => SessionIdPattern().IsMatch(id);

    [GeneratedRegex("^ses_[A-Za-z0-9]{1,64}$")]
    private static partial Regex SessionIdPattern();

    /// <summary>
    /// git settings from the environment, which outrank every config file: no fsmonitor or hook program, no transport at all (a
    /// partial clone's lazy fetch would run <c>core.sshCommand</c>).
    /// </summary>
    private static readonly Dictionary<string, string?> NeutralGit = new(StringComparer.Ordinal)
    {
        ["GIT_CONFIG_COUNT"] = "3",
        ["GIT_CONFIG_KEY_0"] = "core.fsmonitor",
        ["GIT_CONFIG_VALUE_0"] = "false",
        ["GIT_CONFIG_KEY_1"] = "core.hooksPath",
        ["GIT_CONFIG_VALUE_1"] = "/dev/null",
        ["GIT_CONFIG_KEY_2"] = "protocol.allow",
        ["GIT_CONFIG_VALUE_2"] = "never",
        ["GIT_ALLOW_PROTOCOL"] = "",
        ["GIT_TERMINAL_PROMPT"] = "0",
    };

    /// <summary>A session as OpenCode exports it (JSON text, and read) and when it last changed, or null when there is none for the folder.</summary>
    public async Task<(string Json, SessionExport Session, long Updated)?> ExportAsync(string projectPath, string sessionId, CancellationToken cancellationToken)
    {
        // Checked before it becomes an argument: an id is never read as an option. It fails for a session it does not know: that
        // is "no such conversation".
        var json = IsSessionId(sessionId)
            ? await RunAsync(projectPath, ["export", sessionId], MaxExport, failureIsAbsence: true, cancellationToken).ConfigureAwait(false)
            : null;
        return OpenCodeJson.Default.Read<SessionExport>(json) is { Info.Directory: { } directory } export && ConversationHistory.Folders(projectPath).Contains(directory)
            ? (json!, export, export.Info.Time?.Updated ?? 0)
            : null;
    }

    /// <summary>Imports a session OpenCode exported (a file: never a URL, which <c>opencode import</c> would fetch).</summary>
    public async Task ImportAsync(string projectPath, string file, CancellationToken cancellationToken)
    {
        var result = await RunCheckedAsync(projectPath, ["import", Path.GetFullPath(file)], 64 * 1024, "import a session", cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new AgentUnavailableException(OpenCodeAdapter.AgentId, $"{name} could not import a session (exit {result.ExitCode}): {Tail(result.Stderr)}");
        }
    }

    /// <summary>Runs opencode in the project's folder; its answer's text, or null when it has none.</summary>
    /// <param name="failureIsAbsence">A failed run means "nothing there" (else it is reported, with what opencode said).</param>
    private async Task<string?> RunAsync(string projectPath, IReadOnlyList<string> arguments, int outputLimit, bool failureIsAbsence,
        CancellationToken cancellationToken)
    {
        var result = await RunCheckedAsync(projectPath, arguments, outputLimit, "answer about its sessions", cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0 && !failureIsAbsence)
        {
            throw new AgentUnavailableException(OpenCodeAdapter.AgentId, $"{name} could not list its sessions (exit {result.ExitCode}).{Tail(result.Stderr)}");
        }

        return result.ExitCode == 0 && result.Stdout.Trim() is { Length: > 0 } json ? json : null;
    }

    private static string Tail(string stderr) => stderr.Trim() is { Length: > 0 } tail ? $" It said: {tail[^Math.Min(tail.Length, 400)..]}" : "";

    /// <summary>Runs opencode in the project's folder, with nothing of the repository loaded; a time-out or an oversized answer is reported.</summary>
    private async Task<ProcessResult> RunCheckedAsync(string projectPath, IReadOnlyList<string> arguments, int outputLimit, string what,
        CancellationToken cancellationToken)
    {
        var executable = command.ResolveToStart(OpenCodeAdapter.AgentId, name, installHint);
        if (OpenCodeProjectCheck.FindRepositoryCode(projectPath, OpenCodeFlavor.OpenCode) is { } problem)
        {
            throw new AgentUnavailableException(OpenCodeAdapter.AgentId, problem);
        }

        var environment = OpenCodeServer.Confined(command.Environment, projectPath, OpenCodeFlavor.OpenCode);
        // OpenCode runs git in the project (its project id is the first commit): run by the server, outside any sandbox, that git
        // must run no program the repository's config names, whoever wrote it.
        foreach (var (name, value) in NeutralGit)
        {
            environment[name] = value;
        }

        ProcessResult result;
        try
        {
            result = await ChildProcess.RunAsync(new ProcessSpec(executable, arguments, projectPath, environment, null), outputLimit, AnswerTimeout,
                cancellationToken).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new AgentUnavailableException(OpenCodeAdapter.AgentId, $"{name} could not be started: {exception.Message}", exception);
        }

        if (result.TimedOut || result.Truncated)
        {
            throw new AgentUnavailableException(OpenCodeAdapter.AgentId, result.TimedOut
                ? $"{name} did not {what} within {AnswerTimeout.TotalSeconds:0} s."
                : $"{name}'s answer is larger than {Math.Max(1, outputLimit / (1024 * 1024))} MB.");
        }

        return result;
    }
}
