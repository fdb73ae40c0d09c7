using System.Text;
using System.Text.RegularExpressions;

namespace PocketCoder.Approvals;

/// <summary>
/// Shell-style globs for rules. For paths, <c>*</c> stays within one directory and <c>**</c> crosses them;
/// for commands, <c>*</c> matches anything (a command has no directory structure). A backslash makes
/// the next character literal, so a remembered command such as <c>ls *.txt</c> matches only itself.
/// </summary>
public static class Glob
{
    public static bool MatchesPath(string pattern, string path) => ToRegex(pattern, starCrossesSlash: false).IsMatch(path);

    public static bool MatchesCommand(string pattern, string command) => ToRegex(pattern, starCrossesSlash: true).IsMatch(command.Trim());

    /// <summary>A pattern that matches exactly <paramref name="literal"/>: each <c>*</c>, <c>?</c> and <c>\</c> escaped.</summary>
    public static string Escape(string literal) => Regex.Replace(literal, @"[*?\\]", @"\$0");

    /// <summary>The literal an <see cref="Escape"/>d pattern matches (a remembered command or path, shown as such).</summary>
    public static string Unescape(string pattern) => Regex.Replace(pattern, @"\\(.)", "$1", RegexOptions.Singleline);

    private static Regex ToRegex(string pattern, bool starCrossesSlash)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                regex.Append(Regex.Escape(pattern[++i].ToString()));
            }
            else if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                {
                    // "**/" is zero or more whole directories: "a/**/b" matches "a/b" and "a/x/y/b", never "a/xb".
                    regex.Append("(?:.*/)?");
                    i++;
                }
                else
                {
                    regex.Append(".*");
                }
            }
            else if (c == '*')
            {
                regex.Append(starCrossesSlash ? ".*" : "[^/]*");
            }
            else if (c == '?')
            {
                regex.Append(starCrossesSlash ? "." : "[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        // \z, not $: $ also matches before a final newline, so "probe\n" would pass for "probe".
        regex.Append(@"\z");
        return new Regex(regex.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromMilliseconds(100));
    }
}
