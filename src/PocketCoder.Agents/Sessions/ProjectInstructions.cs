using System.Text;
using PocketCoder.Agents.FileSystem;

namespace PocketCoder.Agents.Sessions;

/// <summary>
/// A repository's instruction files (CLAUDE.md, GEMINI.md). The agents read them only together with the project's
/// settings, which PocketCoder keeps from them (settings can run commands and pre-approve calls); the instructions are
/// content, not configuration, so PocketCoder hands them over itself, read through the confined reader and capped.
/// </summary>
internal static class ProjectInstructions
{
    public const int MaxBytes = 64 * 1024;

    /// <summary>The files Claude Code would read from a project's root, in its order.</summary>
    public static readonly IReadOnlyList<string> Claude = ["CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md"];

    /// <summary>The file Gemini CLI reads from a trusted project's root.</summary>
    public static readonly IReadOnlyList<string> Gemini = ["GEMINI.md"];

    /// <summary>The files' contents, each headed by its path; null when none is there.</summary>
    public static string? Read(string projectRoot, IReadOnlyList<string> files)
    {
        var root = RealPath.Resolve(projectRoot) ?? projectRoot;
        var text = new StringBuilder();
        var budget = MaxBytes;
        foreach (var file in files)
        {
            try
            {
                using var handle = BeneathRoot.OpenFileForRead(root, file, out var status);
                var bytes = new byte[Math.Min(status.Size, budget)];
                var read = RandomAccess.Read(handle, bytes, 0);
                budget -= read;
                text.Append($"\nContents of {Path.Combine(root, file)} (project instructions, checked into the codebase):\n\n")
                    .Append(Encoding.UTF8.GetString(bytes, 0, read)).Append('\n');
            }
            catch (ConfinedIOException)
            {
                // Absent, a link leading elsewhere, or not a regular file: nothing to add.
            }

            if (budget <= 0)
            {
                break;
            }
        }

        return text.Length == 0 ? null : text.ToString();
    }

    /// <summary>
    /// Most UTF-8 bytes handed over: one command-line argument may hold 128 KiB on Linux, and a file of invalid UTF-8 grows
    /// threefold when decoded (each bad byte becomes U+FFFD), so a repository could otherwise stop Claude from starting.
    /// </summary>
    public const int MaxHandedOver = 120_000;

    /// <summary>
    /// The repository's instructions followed by the owner's for this session (a profile's), or null when neither is there;
    /// the repository's cut first when together they would be too long to hand over (<see cref="MaxHandedOver"/>).
    /// </summary>
    public static string? With(string? project, string? owner)
    {
        var own = string.IsNullOrWhiteSpace(owner) ? null : $"\nThe owner's instructions for this session:\n\n{owner}\n";
        if (project is null && own is null)
        {
            return null;
        }

        var room = MaxHandedOver - Encoding.UTF8.GetByteCount(own ?? "");
        return Cut(project ?? "", Math.Max(room, 0)) + own;
    }

    /// <summary>The text cut (on a character boundary) to at most this many UTF-8 bytes.</summary>
    private static string Cut(string text, int bytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= bytes)
        {
            return text;
        }

        var length = Math.Min(text.Length, bytes);
        while (length > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, length)) > bytes)
        {
            length = Math.Max(0, length - Math.Max(1, (Encoding.UTF8.GetByteCount(text.AsSpan(0, length)) - bytes) / 3));
        }

        if (length > 0 && char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return text[..length];
    }
}
