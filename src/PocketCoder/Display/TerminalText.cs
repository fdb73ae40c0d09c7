using System.Text;

namespace PocketCoder.Display;

/// <summary>Text from elsewhere (an agent, a repository) made safe to show: in a terminal, a chat message, a notification.</summary>
internal static class TerminalText
{
    /// <summary>
    /// Leaves out escape sequences and control characters (bar newline and tab) and bidirectional overrides: an agent's
    /// output must not move the cursor, rewrite the command shown in an approval, set the clipboard or hide a link.
    /// </summary>
    public static string? Clean(string? text)
    {
        if (text is null || !text.Any(c => char.IsControl(c) && c is not ('\n' or '\t') || IsBidiControl(c)))
        {
            return text;
        }

        var clean = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\u001b')
            {
                i = SkipEscape(text, i);
                continue;
            }

            if (c is '\n' or '\t' || !char.IsControl(c) && !IsBidiControl(c))
            {
                clean.Append(c);
            }
        }

        return clean.ToString();
    }

    /// <summary>The index of the last character of the escape sequence starting at <paramref name="start"/>.</summary>
    private static int SkipEscape(string text, int start)
    {
        if (start + 1 >= text.Length)
        {
            return start;
        }

        var i = start + 1;
        switch (text[i])
        {
            case '[':
                // CSI: parameters and intermediates, then one final byte from @ to ~.
                while (++i < text.Length && text[i] is < '@' or > '~')
                {
                }

                return Math.Min(i, text.Length - 1);
            case ']' or 'P' or '_' or '^' or 'X':
                // OSC, DCS and the like: up to BEL or ESC \.
                while (++i < text.Length)
                {
                    if (text[i] == '\u0007')
                    {
                        return i;
                    }

                    if (text[i] == '\u001b' && i + 1 < text.Length && text[i + 1] == '\\')
                    {
                        return i + 1;
                    }
                }

                return text.Length - 1;
            default:
                return i;
        }
    }

    private static bool IsBidiControl(char c) => c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069' or '\u200e' or '\u200f' or '\u061c';
}
