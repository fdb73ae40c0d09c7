using System.Text;
using PocketCoder.Agents.FileSystem;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// The repository's CLAUDE.md. Claude Code reads it only together with the project's settings, which PocketCoder does
/// not load (they can run commands); the instructions are content, not configuration, so PocketCoder hands them to
/// Claude itself (<c>--append-system-prompt</c>), read through the confined reader and capped.
/// </summary>
internal static class ClaudeInstructions
{
    public const int MaxBytes = 64 * 1024;

    /// <summary>The files Claude would read from a project's root, in its order.</summary>
    private static readonly string[] Files = ["CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md"];

    public static string? Read(string projectRoot)
    {
        var root = RealPath.Resolve(projectRoot) ?? projectRoot;
        var text = new StringBuilder();
        foreach (var file in Files)
        {
            try
            {
                using var handle = BeneathRoot.OpenFileForRead(root, file, out var status);
                var bytes = new byte[Math.Min(status.Size, MaxBytes - text.Length)];
                var read = RandomAccess.Read(handle, bytes, 0);
                text.Append($"\nContents of {Path.Combine(root, file)} (project instructions, checked into the codebase):\n\n")
                    .Append(Encoding.UTF8.GetString(bytes, 0, read)).Append('\n');
            }
            catch (ConfinedIOException)
            {
                // Absent, a link leading elsewhere, or not a regular file: nothing to add.
            }

            if (text.Length >= MaxBytes)
            {
                break;
            }
        }

        return text.Length == 0 ? null : text.ToString();
    }
}
