using System.Text;

namespace PocketCoder.Network;

/// <summary>
/// A sandboxed process's command line as the owner would type it: what a network call's card and the timeline say opened a
/// connection (#67). The agents run every command through a shell wrapper of their own, and a card that shows
/// <c>/bin/bash -c source …/shell-snapshots/… &amp;&amp; \builtin shopt -u extglob … &amp;&amp; eval '…'</c> hides the one program it is
/// about. So <c>sh -c SCRIPT</c> (Codex's <c>bash -lc</c>, OpenCode's and Pi's <c>-c</c>) is read as its script; Claude Code's
/// script as the command it <c>eval</c>s; Gemini CLI's and Qwen Code's as the command inside their exit-code bookkeeping.
/// Any other process is its arguments, each quoted where a shell would need it.
/// </summary>
public static class TypedCommand
{
    private static readonly HashSet<string> Shells = new(["sh", "bash", "zsh", "dash", "ksh"], StringComparer.Ordinal);

    public static string Of(IReadOnlyList<string> argv) =>
        ShellScript(argv) is { } script ? (ClaudeCode(script) ?? GeminiOrQwen(script) ?? script).Trim() : string.Join(' ', argv.Select(Quote));

    /// <summary>The script of <c>sh -c SCRIPT</c>, its options apart or run together (<c>-l -c</c>, <c>-lc</c>); null for anything else.</summary>
    private static string? ShellScript(IReadOnlyList<string> argv)
    {
        if (argv.Count < 3 || !Shells.Contains(Path.GetFileName(argv[0])))
        {
            return null;
        }

        for (var i = 1; i < argv.Count - 1; i++)
        {
            var option = argv[i];
            if (option.StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            if (option.Length < 2 || option[0] is not ('-' or '+'))
            {
                return null;
            }

            if (option[0] == '-' && option.Contains('c', StringComparison.Ordinal))
            {
                return argv[i + 1];
            }

            // -o and -O name a shell option next (`bash -o pipefail -c …`).
            i += option[1..] is "o" or "O" ? 1 : 0;
        }

        return null;
    }

    /// <summary>
    /// Claude Code's wrapper: its set-up steps joined by <c>&amp;&amp;</c>, then <c>eval COMMAND</c> (in braces for some shells) with
    /// the owner's command quoted as one word, then <c>pwd -P &gt;| FILE</c> to learn where it ended. The words <c>eval</c> is given,
    /// unquoted, are the command.
    /// </summary>
    private static string? ClaudeCode(string script)
    {
        if (!script.Contains("pwd -P >|", StringComparison.Ordinal))
        {
            return null;
        }

        var words = ShellWords.Split(script);
        for (var i = 0; i < words.Count - 1; i++)
        {
            if (words[i] is { Operator: false, Text: "eval" } && (i == 0 || words[i - 1].StartsCommand))
            {
                var said = words.Skip(i + 1).TakeWhile(w => !w.Operator).Select(w => w.Text).ToList();
                return said.Count > 0 ? string.Join(' ', said) : null;
            }
        }

        return null;
    }

    /// <summary>
    /// Gemini CLI's wrapper (<c>_bgpids_file=…</c>, a subshell whose trap notes the background jobs, the command, its exit code),
    /// or the older one Qwen Code keeps (<c>{ COMMAND }; __code=$?; …; exit $__code</c>).
    /// </summary>
    private static string? GeminiOrQwen(string script)
    {
        const string Trap = "trap 'jobs -p > \"$_bgpids_file\"' EXIT\n";
        const string Exit = "\n)\n__code=$?";
        if (script.StartsWith("_bgpids_file=", StringComparison.Ordinal) && script.IndexOf(Trap, StringComparison.Ordinal) is var start and >= 0
            && script.LastIndexOf(Exit, StringComparison.Ordinal) is var end && end > start)
        {
            return script[(start + Trap.Length)..end];
        }

        var close = script.LastIndexOf("}; __code=$?", StringComparison.Ordinal);
        return script.StartsWith("{ ", StringComparison.Ordinal) && close > 2 ? script[2..close].TrimEnd().TrimEnd(';') : null;
    }

    /// <summary>An argument as a shell needs it: as it is when it holds nothing special, else in single quotes.</summary>
    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "_./:=,+@%-".Contains(c, StringComparison.Ordinal))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// Enough of a POSIX shell's reading of words to take a wrapper apart: quotes and backslashes undone, and the operators that
    /// end a command (and redirections, which end the words a command is given) kept apart. Not a parser: nothing runs on it.
    /// </summary>
    private static class ShellWords
    {
        public sealed record Word(string Text, bool Operator)
        {
            /// <summary>After it, a new command begins.</summary>
            public bool StartsCommand => Operator ? Text is "&&" or "||" or ";" or "|" or "&" or "(" or "\n" : Text == "{";
        }

        public static List<Word> Split(string script)
        {
            var words = new List<Word>();
            var word = new StringBuilder();
            var inWord = false;
            void End()
            {
                if (inWord)
                {
                    words.Add(new Word(word.ToString(), false));
                }

                (inWord, word.Length) = (false, 0);
            }

            for (var i = 0; i < script.Length; i++)
            {
                var c = script[i];
                if (c is ' ' or '\t')
                {
                    End();
                }
                else if (OperatorAt(script, i) is { } op)
                {
                    End();
                    words.Add(new Word(op, true));
                    i += op.Length - 1;
                }
                else
                {
                    inWord = true;
                    i = ReadPart(script, i, word);
                }
            }

            End();
            return words;
        }

        private static readonly string[] Operators = ["&&", "||", ">>", ">|", ";", "|", "&", "(", ")", "<", ">", "\n"];

        private static string? OperatorAt(string script, int i) =>
            Operators.FirstOrDefault(op => string.CompareOrdinal(script, i, op, 0, op.Length) == 0);

        /// <summary>Reads one quoted run, escaped character or plain character at <paramref name="i"/>; returns where it ended.</summary>
        private static int ReadPart(string script, int i, StringBuilder word)
        {
            switch (script[i])
            {
                case '\'':
                    var close = script.IndexOf('\'', i + 1);
                    close = close < 0 ? script.Length : close;
                    word.Append(script, i + 1, close - i - 1);
                    return close;
                case '"':
                    var j = i + 1;
                    for (; j < script.Length && script[j] != '"'; j++)
                    {
                        if (script[j] == '\\' && j + 1 < script.Length && script[j + 1] is '"' or '\\' or '$' or '`' or '\n')
                        {
                            j++;
                        }

                        word.Append(script[j]);
                    }

                    return j;
                case '\\' when i + 1 < script.Length:
                    word.Append(script[i + 1]);
                    return i + 1;
                default:
                    word.Append(script[i]);
                    return i;
            }
        }
    }
}
