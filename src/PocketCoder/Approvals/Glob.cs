using System.Text.RegularExpressions;

namespace PocketCoder.Approvals;

/// <summary>
/// Shell-style globs for rules. For paths, <c>*</c> stays within one directory and <c>**</c> crosses them;
/// for commands, <c>*</c> matches anything (a command has no directory structure). A backslash makes
/// the next character literal, so a remembered command such as <c>ls *.txt</c> matches only itself.
/// </summary>
/// <remarks>
/// Matched by walking every place in the pattern at once (a small automaton), not by a backtracking regex: time grows with
/// the pattern's length times the subject's, never exponentially, so the gate needs no time limit. A limit measured on the
/// wall clock failed closed on a busy machine (a rule's check threw when the thread was merely not scheduled), and the
/// pattern <c>*a*a*a*b</c> against a long command of <c>a</c>s is the case a backtracking engine cannot finish.
/// </remarks>
public static class Glob
{
    public static bool MatchesPath(string pattern, string path) => Matches(Parse(pattern, starCrossesSlash: false, plainWords: false), path);

    public static bool MatchesCommand(string pattern, string command) => Matches(Parse(pattern, starCrossesSlash: true, plainWords: false), command.Trim());

    /// <summary>
    /// A command an allow rule lets through: as <see cref="MatchesCommand"/>, except that a wildcard never stands for the
    /// shell's syntax for running something else (<c>; &amp; | ` $ ( )</c>, a line break): "allow npm *" means npm with any
    /// arguments, not <c>npm test; curl … | sh</c> or <c>npm test $(curl …)</c>. A command with such syntax is allowed only
    /// by a rule that spells it out (or <c>*</c>, "anything"). Redirections stay arguments (<c>echo ok &gt; out.txt</c>): a
    /// write to a protected path is asked by the policy whatever the rule. Deny and ask rules keep the wide wildcard: they
    /// should catch more, never less.
    /// </summary>
    public static bool AllowsCommand(string pattern, string command) => Matches(Parse(pattern, starCrossesSlash: true, plainWords: true), command.Trim());

    /// <summary>A pattern that matches exactly <paramref name="literal"/>: each <c>*</c>, <c>?</c> and <c>\</c> escaped.</summary>
    public static string Escape(string literal) => Regex.Replace(literal, @"[*?\\]", @"\$0");

    /// <summary>The literal an <see cref="Escape"/>d pattern matches (a remembered command or path, shown as such).</summary>
    public static string Unescape(string pattern) => Regex.Replace(pattern, @"\\(.)", "$1", RegexOptions.Singleline);

    /// <summary>What a wildcard may stand for.</summary>
    private enum Span : byte
    {
        Anything,
        NotSlash,

        /// <summary>An allow rule's command wildcard: anything but the shell's syntax for running something else.</summary>
        PlainWord,
    }

    private enum Step : byte
    {
        /// <summary>One given character.</summary>
        Literal,

        /// <summary><c>?</c>: one character of the span.</summary>
        One,

        /// <summary><c>*</c> (or <c>**</c> not before a slash): any number of characters of the span.</summary>
        Many,

        /// <summary><c>**/</c>: zero or more whole directories, so "a/**/b" matches "a/b" and "a/x/y/b", never "a/xb".</summary>
        Directories,
    }

    private readonly record struct Part(Step Step, Span Span, char Literal);

    private static Part[] Parse(string pattern, bool starCrossesSlash, bool plainWords)
    {
        var star = plainWords ? Span.PlainWord : starCrossesSlash ? Span.Anything : Span.NotSlash;
        var doubleStar = plainWords ? Span.PlainWord : Span.Anything;
        var parts = new List<Part>(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                parts.Add(new Part(Step.Literal, default, pattern[++i]));
            }
            else if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                {
                    parts.Add(new Part(Step.Directories, Span.Anything, '/'));
                    i++;
                }
                else
                {
                    parts.Add(new Part(Step.Many, doubleStar, default));
                }
            }
            else
            {
                parts.Add(c switch
                {
                    '*' => new Part(Step.Many, star, default),
                    '?' => new Part(Step.One, star, default),
                    _ => new Part(Step.Literal, default, c),
                });
            }
        }

        return [.. parts];
    }

    private static bool Within(Span span, char c) => span switch
    {
        Span.Anything => true,
        Span.NotSlash => c != '/',
        _ => c is not (';' or '&' or '|' or '`' or '$' or '(' or ')' or '\r' or '\n'),
    };

    /// <summary>
    /// Whether <paramref name="subject"/>, whole, is one of the strings <paramref name="parts"/> describe. <c>at[i]</c>: the
    /// text read so far can end just before part i (<c>at[parts.Length]</c>: the whole pattern read); <c>inside[i]</c>: it
    /// ends within the directories of a <see cref="Step.Directories"/> part i, before its closing slash.
    /// </summary>
    private static bool Matches(Part[] parts, string subject)
    {
        var at = new bool[parts.Length + 1];
        var inside = new bool[parts.Length];
        var nextAt = new bool[parts.Length + 1];
        var nextInside = new bool[parts.Length];
        at[0] = true;
        Close(parts, at, inside);
        foreach (var c in subject)
        {
            Array.Clear(nextAt);
            Array.Clear(nextInside);
            var any = false;
            for (var i = 0; i < parts.Length; i++)
            {
                if (inside[i])
                {
                    nextInside[i] = true;
                    nextAt[i + 1] |= c == '/';
                    any = true;
                }

                if (!at[i])
                {
                    continue;
                }

                var part = parts[i];
                switch (part.Step)
                {
                    case Step.Literal when part.Literal == c:
                    case Step.One when Within(part.Span, c):
                        nextAt[i + 1] = any = true;
                        break;
                    case Step.Many when Within(part.Span, c):
                        nextAt[i] = any = true;
                        break;
                }
            }

            if (!any)
            {
                return false;
            }

            (at, nextAt) = (nextAt, at);
            (inside, nextInside) = (nextInside, inside);
            Close(parts, at, inside);
        }

        return at[parts.Length];
    }

    /// <summary>Adds the places reached by reading nothing: past a <c>*</c>, past or into a <c>**/</c>.</summary>
    private static void Close(Part[] parts, bool[] at, bool[] inside)
    {
        for (var i = 0; i < parts.Length; i++)
        {
            if (at[i] && parts[i].Step is Step.Many or Step.Directories)
            {
                at[i + 1] = true;
                inside[i] |= parts[i].Step == Step.Directories;
            }
        }
    }
}
