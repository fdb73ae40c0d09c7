using System.Text;
using System.Text.Json;
using PocketCoder.Agents.FileSystem;

namespace PocketCoder.Approvals;

/// <summary>
/// Where an edit's <c>old_string</c> sits in its file, so the phone shows the change among the lines around it with
/// their true numbers (approval.requested's <c>editContext</c>): the whole lines the replaced text starts and ends on
/// (<see cref="Prefix"/> and <see cref="Suffix"/> are their rest) and up to <see cref="Around"/> lines either side.
/// </summary>
/// <param name="Line">The 1-based line on which the replaced text starts.</param>
public sealed record EditContext(int Line, IReadOnlyList<string> Before, IReadOnlyList<string> After, string Prefix, string Suffix)
{
    internal const int Around = 3;

    // The phone shows an edit, not a file: a file too big to read quickly at the moment of asking is shown without context.
    private const long MaxFileBytes = 2 * 1024 * 1024;

    private const int MaxLineLength = 2048;

    /// <summary>
    /// The context of a single-replacement edit (<c>old_string</c>/<c>new_string</c>, as Claude's Edit sends) of a text
    /// file inside <paramref name="projectRoot"/> (the session's folder: the project, or its worktree), or null: another
    /// tool, a path outside the root (through a link too), no such file, a binary or huge file, text not found.
    /// Only lines of a file inside the root are ever read; the files screen shows the owner the same lines.
    /// </summary>
    public static EditContext? For(string? path, JsonElement input, string projectRoot)
    {
        if (string.IsNullOrEmpty(path) || input.ValueKind != JsonValueKind.Object
            || !input.TryGetProperty("old_string", out var oldValue) || oldValue.ValueKind != JsonValueKind.String
            || !input.TryGetProperty("new_string", out var newValue) || newValue.ValueKind != JsonValueKind.String
            || oldValue.GetString() is not { Length: > 0 } oldText
            // Every occurrence is replaced: the lines around one of them would make the change look local.
            || (input.TryGetProperty("replace_all", out var all) && all.ValueKind == JsonValueKind.True))
        {
            return null;
        }

        var root = RealPath.Resolve(projectRoot);
        if (root is null || RealPath.InsideRoot(root, path) is not { } real)
        {
            return null;
        }

        try
        {
            // Opened beneath the root and judged on the handle: a FIFO the agent left under an edited name is never read (it
            // would hold the gate until a writer came), and a link swapped in after the check above leads nowhere.
            using var handle = BeneathRoot.OpenFileForRead(root, Path.GetRelativePath(root, real), out var status);
            if (status.Size > MaxFileBytes)
            {
                return null;
            }

            using var stream = new FileStream(handle, FileAccess.Read, 1);
            var bytes = new byte[status.Size];
            stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (Array.IndexOf(bytes, (byte)0) >= 0)
            {
                return null;
            }

            // As Claude reads it: UTF-8, line endings as "\n" (its old_string never carries "\r").
            var text = Encoding.UTF8.GetString(bytes).Replace("\r\n", "\n", StringComparison.Ordinal);
            return Locate(text, oldText);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The context of the first occurrence of <paramref name="oldText"/> in <paramref name="text"/> (as Claude's Edit replaces it).</summary>
    internal static EditContext? Locate(string text, string oldText)
    {
        var at = text.IndexOf(oldText, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var end = at + oldText.Length;
        var lineStart = at == 0 ? 0 : text.LastIndexOf('\n', at - 1) + 1;
        var lineEnd = text.IndexOf('\n', end) is var n and >= 0 ? n : text.Length;
        // The text may end with the newline that ends its last line: then that line is whole, and nothing is left of it.
        if (oldText.EndsWith('\n'))
        {
            lineEnd = end - 1;
        }

        var line = 1 + text.AsSpan(0, lineStart).Count('\n');
        var before = lineStart == 0 ? [] : text[..(lineStart - 1)].Split('\n');
        var afterText = lineEnd >= text.Length ? null : text[(lineEnd + 1)..];
        var after = afterText is null ? [] : afterText.Split('\n');
        // A final newline ends the last line; it does not start an empty one.
        if (after.Length > 0 && after[^1].Length == 0)
        {
            after = after[..^1];
        }

        var context = new EditContext(line, [.. before.TakeLast(Math.Min(Around, line - 1))], [.. after.Take(Around)],
            text[lineStart..at], oldText.EndsWith('\n') ? "" : text[end..lineEnd]);
        // A minified file's one line would put megabytes in an event every device gets: such an edit goes without context.
        return context.Prefix.Length > MaxLineLength || context.Suffix.Length > MaxLineLength
            || context.Before.Concat(context.After).Any(l => l.Length > MaxLineLength) ? null : context;
    }
}
