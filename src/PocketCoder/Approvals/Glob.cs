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

    /// <summary>
    /// A command an allow rule lets through: as <see cref="MatchesCommand"/>, except that a wildcard never stands for the
    /// shell's syntax for running something else (<c>; &amp; | ` $ ( )</c>, a line break): "allow npm *" means npm with any
    /// arguments, not <c>npm test; curl … | sh</c> or <c>npm test $(curl …)</c>. A command with such syntax is allowed only
    /// by a rule that spells it out (or <c>*</c>, "anything"). Redirections stay arguments (<c>echo ok &gt; out.txt</c>): a
    /// write to a protected path is asked by the policy whatever the rule. Deny and ask rules keep the wide wildcard: they
    /// should catch more, never less.
    /// </summary>
    public static bool AllowsCommand(string pattern, string command) => ToRegex(pattern, starCrossesSlash: true, plainWords: true).IsMatch(command.Trim());

    /// <summary>A pattern that matches exactly <paramref name="literal"/>: each <c>*</c>, <c>?</c> and <c>\</c> escaped.</summary>
    public static string Escape(string literal) => Regex.Replace(literal, @"[*?\\]", @"\$0");

    /// <summary>The literal an <see cref="Escape"/>d pattern matches (a remembered command or path, shown as such).</summary>
    public static string Unescape(string pattern) => Regex.Replace(pattern, @"\\(.)", "$1", RegexOptions.Singleline);

    /// <summary>What a wildcard of an allow rule's command pattern may stand for: anything but the shell's syntax.</summary>
    private const string PlainWord = @"[^;&|`$()\r\n]";

    private static Regex ToRegex(string pattern, bool starCrossesSlash, bool plainWords = false)
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
                    regex.Append(plainWords ? PlainWord + "*" : ".*");
                }
            }
            else if (c == '*')
            {
                regex.Append(plainWords ? PlainWord + "*" : starCrossesSlash ? ".*" : "[^/]*");
            }
            else if (c == '?')
            {
                regex.Append(plainWords ? PlainWord : starCrossesSlash ? "." : "[^/]");
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
