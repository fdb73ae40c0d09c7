using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// Keeps Gemini CLI's own record of a conversation alive across session/load, which Gemini CLI 0.61 loses by itself
/// (docs/agents-acp.md, Resume). It records a conversation in <c>~/.gemini/tmp/PROJECT/chats/session-TIME-SHORT.jsonl</c>
/// (TIME: the UTC minute the file was made, <c>YYYY-MM-DDTHH-MM</c>; SHORT: the first 8 characters of the session id).
/// Every start of a conversation, a loaded one too, first writes a start-up file under that name for the current minute:
/// a header and the environment context, no message. A load then carries on in the conversation's own file, and:
/// <list type="bullet">
/// <item>its start-up file stays behind. The next Gemini CLI started for that project (another session, a restart, the
/// owner's terminal) cleans up at start: it takes the start-up file for a broken session and deletes every file with its
/// SHORT, the conversation's own among them. A conversation loaded twice has lost its history.</item>
/// <item>in the minute the conversation's file was made, the start-up file is that very file: its header and empty
/// message list are appended to it, and the conversation is gone before the load reads it.</item>
/// </list>
/// So before a load (the agent not yet started) the conversation's file is renamed out of the start-up name, and start-up
/// files of the session left behind are deleted; after the load, the ones it just wrote. Read in Gemini CLI's bundled source:
/// <c>ChatRecordingService.initialize</c>, <c>cleanupExpiredSessions</c>, <c>AcpSessionManager.loadSession</c>.
/// </summary>
/// <param name="geminiHome">The home Gemini CLI keeps <c>.gemini</c> in, as its process gets it.</param>
internal sealed partial class GeminiChats(string geminiHome, ILogger logger)
{
    // Renamed files keep Gemini's prefix and end in "-SHORT.jsonl", which is all Gemini reads of a file's name.
    private const string RenameMark = "pocketcoder";

    /// <summary>
    /// Gemini CLI's home as the agent's environment gives it (<c>GEMINI_CLI_HOME</c>, else <c>HOME</c>), or the agent's home of
    /// PocketCoder's own that stands in for it in a sandbox.
    /// </summary>
    public static GeminiChats For(IReadOnlyDictionary<string, string?> environment, AgentHome? sandboxed, ILogger logger)
    {
        var agent = new AgentCommand("gemini", environment);
        var home = agent.Setting("GEMINI_CLI_HOME") is { Length: > 0 } set ? set : agent.Home;
        return new GeminiChats(sandboxed?.Map(home) ?? home, logger);
    }

    /// <summary>Before the agent that loads <paramref name="sessionId"/> starts: nothing of Gemini's may run on these files now.</summary>
    public void BeforeLoad(string sessionId) => Tidy(sessionId, renameConversation: true);

    /// <summary>
    /// After session/load answered: the start-up files it wrote are no longer written to (the conversation goes on in its
    /// own file). The conversation's file is not renamed now: the running agent appends to it by name.
    /// </summary>
    public void AfterLoad(string sessionId) => Tidy(sessionId, renameConversation: false);

    private void Tidy(string sessionId, bool renameConversation)
    {
        // Gemini's ids are UUIDs; anything else is no name of its files (and no pattern to search with).
        if (!ShortId().IsMatch(sessionId))
        {
            return;
        }

        try
        {
            var files = Files(sessionId).ToList();
            var conversations = files.Where(f => f.Kind == ChatKind.Conversation).ToList();
            if (conversations.Count == 0)
            {
                // Nothing to lose, and a start-up file may be a new conversation's own, still to get its first message.
                return;
            }

            foreach (var startup in files.Where(f => f.Kind == ChatKind.StartUp))
            {
                File.Delete(startup.Path);
            }

            if (renameConversation)
            {
                foreach (var conversation in conversations.Where(c => StartUpName().IsMatch(Path.GetFileName(c.Path))))
                {
                    // session-TIME-SHORT.jsonl -> session-TIME-pocketcoder-SHORT.jsonl
                    var name = Path.GetFileName(conversation.Path);
                    var renamed = Path.Combine(Path.GetDirectoryName(conversation.Path)!, $"{name[..^15]}-{RenameMark}{name[^15..]}");
                    File.Move(conversation.Path, renamed, overwrite: false);
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            TidyFailed(logger, exception, sessionId);
        }
    }

    /// <summary>The session's chat files in every project folder (which one Gemini picks for a path is its own business).</summary>
    private IEnumerable<(string Path, ChatKind Kind)> Files(string sessionId)
    {
        var projects = Path.Combine(geminiHome, ".gemini", "tmp");
        if (!Directory.Exists(projects))
        {
            yield break;
        }

        foreach (var project in Directory.EnumerateDirectories(projects))
        {
            // The agent can write here (its state): links are not followed to whatever they name.
            var chats = Path.Combine(project, "chats");
            if (!Directory.Exists(chats) || new DirectoryInfo(project).LinkTarget is not null || new DirectoryInfo(chats).LinkTarget is not null)
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(chats, $"session-*-{sessionId[..8]}.jsonl").Where(f => new FileInfo(f).LinkTarget is null))
            {
                var kind = Classify(file, sessionId);
                if (kind != ChatKind.Other)
                {
                    yield return (file, kind);
                }
            }
        }
    }

    /// <summary>
    /// A start-up file holds headers (<c>sessionId</c>, <c>projectHash</c>) and <c>$set</c> updates whose messages, if any, are
    /// the user's side only (the environment context); a conversation holds a message record (a line with an <c>id</c>) or an
    /// answer of the model. Anything else, or another session's file with the same first 8 characters, is left alone.
    /// </summary>
    internal static ChatKind Classify(string file, string sessionId)
    {
        using var reader = new StreamReader(file);
        var first = true;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            JsonElement record;
            try
            {
                record = JsonElement.Parse(line);
            }
            catch (JsonException)
            {
                return ChatKind.Other;
            }

            if (record.ValueKind != JsonValueKind.Object)
            {
                return ChatKind.Other;
            }

            if (first)
            {
                if (JsonFields.Text(record, "sessionId") != sessionId)
                {
                    return ChatKind.Other;
                }

                first = false;
            }

            if (JsonFields.Text(record, "id") is not null)
            {
                return ChatKind.Conversation;
            }

            if (record.TryGetProperty("$set", out var update))
            {
                if (update.ValueKind != JsonValueKind.Object)
                {
                    return ChatKind.Other;
                }

                if (update.TryGetProperty("messages", out var messages) && !OnlyUserMessages(messages))
                {
                    return ChatKind.Conversation;
                }
            }
            else if (JsonFields.Text(record, "sessionId") is null)
            {
                // A rewind or a record of a kind this reading does not know.
                return ChatKind.Other;
            }
        }

        return first ? ChatKind.Other : ChatKind.StartUp;
    }

    private static bool OnlyUserMessages(JsonElement messages) =>
        messages.ValueKind != JsonValueKind.Array || messages.EnumerateArray().All(m => JsonFields.Text(m, "type") == "user");

    internal enum ChatKind
    {
        Other,
        StartUp,
        Conversation,
    }

    // The name a start-up file takes; a conversation's file named so would take the next start-up header of its minute.
    [GeneratedRegex(@"^session-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-[A-Za-z0-9]{8}\.jsonl$")]
    private static partial Regex StartUpName();

    [GeneratedRegex("^[A-Za-z0-9]{8}")]
    private static partial Regex ShortId();

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Could not tidy Gemini CLI's chat files of session {SessionId}; its conversation may not survive the next start")]
    private static partial void TidyFailed(ILogger logger, Exception exception, string sessionId);
}
