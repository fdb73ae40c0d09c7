using System.Text;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// Claude Code's own transcripts: one JSON line per event in <c>&lt;config&gt;/projects/&lt;folder&gt;/&lt;id&gt;.jsonl</c>,
/// the folder being the project's path with every character but ASCII letters and digits turned into '-'. The config
/// folder is CLAUDE_CONFIG_DIR, else ~/.claude, of the environment the agent runs in. Two paths can share a folder name
/// (<c>/a/b-c</c>, <c>/a/b/c</c>): a transcript counts for a project only when the <c>cwd</c> its lines record is the
/// project's path. Files are opened through <see cref="BeneathRoot"/>: regular files only, never through a link.
/// </summary>
internal sealed class ClaudeTranscripts(AgentCommand command)
{
    // A line longer than this (pasted screenshots in base64) is passed over, not parsed.
    private const int MaxLine = 4 * 1024 * 1024;
    private const int TitleScanLines = 400;

    public IReadOnlyList<AgentConversation> List(string projectPath)
    {
        var folder = Folder(projectPath);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var found = new List<AgentConversation>();
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*.jsonl"))
        {
            var id = Path.GetFileNameWithoutExtension(file.Name);
            if (!IsCanonicalId(id))
            {
                continue;
            }

            try
            {
                using var reader = Open(folder, file.Name, out var status);
                if (Describe(reader, projectPath) is { Matches: true } description)
                {
                    found.Add(new AgentConversation(id, description.Title, status.ModifiedAt, status.Size));
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone (Claude prunes old transcripts), not a regular file, or not ours to read: not listed.
            }
        }

        return [.. found.OrderByDescending(c => c.LastActivity)];
    }

    /// <summary>
    /// The folders Claude Code keeps transcripts for, newest first. A transcript folder's name is lossy (every character but letters
    /// and digits became '-'), so the folder is the <c>cwd</c> the newest transcript's lines record.
    /// </summary>
    public IReadOnlyList<AgentFolder> Folders(int max, CancellationToken cancellationToken)
    {
        var projects = Path.Combine(ClaudeCodeAdapter.ConfigFolder(command), "projects");
        if (!Directory.Exists(projects))
        {
            return [];
        }

        var found = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var folders = new DirectoryInfo(projects).EnumerateDirectories().Where(d => d.LinkTarget is null)
            .OrderByDescending(d => d.LastWriteTimeUtc).Take(MaxFolderScan);
        foreach (var folder in folders)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var newest = folder.EnumerateFiles("*.jsonl").Where(f => IsCanonicalId(Path.GetFileNameWithoutExtension(f.Name)))
                    .OrderByDescending(f => f.LastWriteTimeUtc).Take(3);
                foreach (var file in newest)
                {
                    using var reader = Open(folder.FullName, file.Name, out var status);
                    // The cwd a transcript records is only believed where Claude would have filed it there: one naming another
                    // folder was not written by Claude for it (a planted transcript), and is no folder it worked in.
                    if (Lines(reader).Take(TitleScanLines).Select(line => line.Cwd).FirstOrDefault(c => c is not null) is { } cwd && Path.IsPathFullyQualified(cwd)
                        && Path.GetFileName(Folder(cwd)) == folder.Name)
                    {
                        found[cwd] = found.TryGetValue(cwd, out var seen) && seen > status.ModifiedAt ? seen : status.ModifiedAt;
                        break;
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ConfinedIOException)
            {
                // A folder or transcript gone, or not ours to read: nothing to suggest from it.
            }
        }

        return [.. found.Select(f => new AgentFolder(f.Key, f.Value)).OrderByDescending(f => f.LastActivity).Take(max)];
    }

    // The newest folders are the ones worth suggesting; an old machine's hundreds of them are not all read.
    private const int MaxFolderScan = 200;

    public ConversationHistory? Read(string projectPath, string id)
    {
        if (!IsCanonicalId(id))
        {
            return null;
        }

        try
        {
            var folder = Folder(projectPath);
            using (var check = Open(folder, id + ".jsonl", out _))
            {
                if (Describe(check, projectPath) is not { Matches: true })
                {
                    return null;
                }
            }

            // Streamed: only the newest entries are kept, whatever the transcript's length.
            using var reader = Open(folder, id + ".jsonl", out _);
            return ConversationHistory.Newest(Lines(reader).SelectMany(Entries));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Copies a transcript, as data, between the owner's Claude config folder and the agent's home of PocketCoder's own, where the
    /// source is newer than what the destination has: a terminal's conversation into a sandboxed agent's home, and back. The
    /// agent's home is read and written without following a link (<see cref="AgentHome.Read"/>). Toward the owner's own claude
    /// only what a conversation is made of is kept (<see cref="Settled"/>): what the agent's home holds is the agent's to have
    /// written, and a call left open there (a deferred one, or one an allowed command forged) would run first as the owner
    /// resumes it. False when the source has no such transcript.
    /// </summary>
    public bool Copy(string projectPath, string id, string ownersConfig, AgentHome home, bool toAgentHome)
    {
        if (!IsCanonicalId(id))
        {
            return false;
        }

        var owners = Path.Combine(Folder(ownersConfig, projectPath), id + ".jsonl");
        try
        {
            if (toAgentHome)
            {
                using var reader = Open(Path.GetDirectoryName(owners)!, Path.GetFileName(owners), out var status);
                if (!(home.Probe(owners) is { IsRegularFile: true } copy && copy.ModifiedAt >= status.ModifiedAt))
                {
                    // Every line, however long (a pasted screenshot): the entries chain to each other, and one left out breaks the chain.
                    home.Write(owners, reader.ReadToEnd(), status.ModifiedAt);
                }

                return true;
            }

            return home.CopyOut(owners, MaxCopied, Settled);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ConfinedIOException)
        {
            return false;
        }
    }

    /// <summary>A transcript larger than this is not copied to the owner (read whole, it would weigh on the server).</summary>
    private const long MaxCopied = 256L * 1024 * 1024;

    /// <summary>The kinds of line a conversation is made of; the rest (attachments such as a deferred call's, queued prompts, the
    /// pointer to where to resume) is bookkeeping an agent's home must not hand to the owner's claude.</summary>
    private static readonly HashSet<string> ConversationLines = new(StringComparer.Ordinal) { "user", "assistant", "system", "summary" };

    /// <summary>
    /// What of a transcript from the agent's home goes to the owner's: the conversation's own lines (<see cref="ConversationLines"/>),
    /// up to the last point where every main-thread call has its result, a result counting only on a line that follows on from
    /// one kept before it (its <c>parentUuid</c>), as Claude itself reads the chain.
    /// </summary>
    internal static List<string> Settled(IReadOnlyList<string> lines)
    {
        var kept = new List<string>();
        var uuids = new HashSet<string>(StringComparer.Ordinal);
        var open = new HashSet<string>(StringComparer.Ordinal);
        var settled = 0;
        foreach (var line in lines)
        {
            if (ClaudeJson.Read<TranscriptLine>(line) is not { Type: { } type } entry || !ConversationLines.Contains(type))
            {
                continue;
            }

            kept.Add(line);
            var onChain = entry.ParentUuid is { } parent && uuids.Contains(parent);
            if (entry.Uuid is { } uuid)
            {
                uuids.Add(uuid);
            }

            foreach (var block in ClaudeJson.Blocks(entry.IsSidechain == true ? null : entry.Message?.Content))
            {
                switch (block)
                {
                    case { Type: "tool_use", Id: { } call } when type == "assistant":
                        open.Add(call);
                        break;
                    case { Type: "tool_result", ToolUseId: { } answered } when type == "user" && onChain:
                        open.Remove(answered);
                        break;
                }
            }

            if (open.Count == 0)
            {
                settled = kept.Count;
            }
        }

        return kept[..settled];
    }

    /// <summary>A conversation id as Claude writes it: a lower-case GUID with dashes, so one id names one file.</summary>
    private static bool IsCanonicalId(string id) => Guid.TryParse(id, out var guid) && guid.ToString("D") == id;

    private string Folder(string projectPath) => Folder(ClaudeCodeAdapter.ConfigFolder(command), projectPath);

    private static string Folder(string config, string projectPath) =>
        Path.Combine(config, "projects", new string([.. projectPath.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]));

    private static StreamReader Open(string folder, string name, out BeneathRoot.HandleStatus status)
    {
        var handle = BeneathRoot.OpenFileForRead(folder, name, out status);
        return new StreamReader(new FileStream(handle, FileAccess.Read), Encoding.UTF8);
    }

    /// <summary>The first prompt as a title, and whether the transcript's recorded folder is this project's.</summary>
    private static (bool Matches, string? Title) Describe(StreamReader reader, string projectPath)
    {
        string? cwd = null;
        string? title = null;
        foreach (var line in Lines(reader).Take(TitleScanLines))
        {
            cwd ??= line.Cwd;
            if (title is null && Entries(line).OfType<HistoryUserText>().FirstOrDefault() is { } first)
            {
                title = ConversationHistory.Title(first.Text);
            }

            if (cwd is not null && title is not null)
            {
                break;
            }
        }

        return (cwd is null || cwd == projectPath, title);
    }

    /// <summary>The transcript's lines that are JSON objects, passing over those too long to be worth reading.</summary>
    private static IEnumerable<TranscriptLine> Lines(StreamReader reader)
    {
        while (reader.ReadLine() is { } line)
        {
            if (line.Length <= MaxLine && ClaudeJson.Read<TranscriptLine>(line) is { } read)
            {
                yield return read;
            }
        }
    }

    /// <summary>
    /// What one transcript line holds for a reader: only the conversation's own user and assistant lines do. Bookkeeping lines hold
    /// nothing, even those carrying a message (2.1.332 keeps a copy of each request's system prompt and reminders, as
    /// <c>api-request-blob</c> lines with a user or system message), and neither do side chains and meta messages.
    /// </summary>
    internal static IEnumerable<HistoryEntry> Entries(TranscriptLine line)
    {
        if (line is not { Type: "user" or "assistant", IsSidechain: not true, IsMeta: not true, Message: { } message })
        {
            yield break;
        }

        foreach (var block in ClaudeJson.Blocks(message.Content))
        {
            switch (block)
            {
                case { Type: "text", Text: { Length: > 0 } text }:
                    yield return line.Type == "user"
                        ? new HistoryUserText(ConversationHistory.Cut(text))
                        : new HistoryAssistantText(ConversationHistory.Cut(text));
                    break;
                case { Type: "tool_use", Id: not null }:
                    // Only the input is kept (its own copy), never the whole line it came in.
                    var call = ClaudeUpdates.Call(block);
                    yield return new HistoryToolCall(call.ToolCallId, call.Tool, call.Kind, call.Title, call.Input);
                    break;
                case { Type: "tool_result", ToolUseId: not null }:
                    var result = ClaudeUpdates.Result(block);
                    yield return new HistoryToolResult(result.ToolCallId, ConversationHistory.Cut(result.Content), result.IsError);
                    break;
            }
        }
    }
}
