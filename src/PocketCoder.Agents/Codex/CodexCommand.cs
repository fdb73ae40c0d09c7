using System.Text;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// The command a Codex approval is about, exactly as it will run. Codex sends it shell-joined, usually wrapped as
/// <c>/bin/bash -lc '…'</c>; the script inside is what the owner should read. Codex's <c>commandActions</c> are not
/// used: Codex calls them a best-effort summary for display, and they drop parts that matter (a leading <c>cd</c>, a
/// <c>| tee</c>), so <c>cd ~ &amp;&amp; rm -rf proj</c> would read as <c>rm -rf proj</c>.
/// </summary>
public static class CodexCommand
{
    private static readonly string[] ShellPrefixes =
    [
        "/bin/bash -lc ", "/bin/bash -c ", "/usr/bin/bash -lc ", "/usr/bin/bash -c ", "bash -lc ", "bash -c ",
        "/bin/zsh -lc ", "/bin/zsh -c ", "zsh -lc ", "zsh -c ", "/bin/sh -c ", "sh -c ",
    ];

    /// <summary>The script a shell wrapper runs, or the command itself when it is not one plain wrapper around one quoted script.</summary>
    public static string Script(string command) =>
        ShellPrefixes.Where(prefix => command.StartsWith(prefix, StringComparison.Ordinal))
            .Select(prefix => SingleWord(command[prefix.Length..])).FirstOrDefault(script => script is not null) ?? command;

    /// <summary>
    /// A POSIX shell word made only of quoted parts and plain characters, unquoted; null when it is not exactly one such
    /// word (a second word, an expansion, an operator): then nothing is unwrapped and the whole command is shown.
    /// </summary>
    internal static string? SingleWord(string text)
    {
        var word = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\'')
            {
                var end = text.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    return null;
                }

                word.Append(text, i + 1, end - i - 1);
                i = end + 1;
            }
            else if (c == '"')
            {
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] is '$' or '`')
                    {
                        return null;
                    }

                    if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '$' or '`' or '"' or '\\' or '\n')
                    {
                        if (text[i + 1] != '\n')
                        {
                            word.Append(text[i + 1]);
                        }

                        i += 2;
                        continue;
                    }

                    word.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    return null;
                }

                i++;
            }
            else if (c == '\\')
            {
                if (i + 1 >= text.Length || text[i + 1] == '\n')
                {
                    return null;
                }

                word.Append(text[i + 1]);
                i += 2;
            }
            else if (char.IsWhiteSpace(c) || "|&;<>()$`*?[]{}~#!=%".Contains(c, StringComparison.Ordinal))
            {
                return null;
            }
            else
            {
                word.Append(c);
                i++;
            }
        }

        return word.Length == 0 ? null : word.ToString();
    }
}
