using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>
/// The rule "Always allow" proposes for a call: for a plain command of a known developer tool whose arguments do not matter
/// (<c>git status --short</c>), the tool and its subcommand with any arguments (<c>git status *</c>); for everything else the
/// exact call, as before. The owner sees the proposal on the card, edits it, previews it against the project's recent calls
/// and confirms: the server never saves a wider rule than the one confirmed. Pure: the same call gives the same proposal.
/// </summary>
/// <remarks>
/// A proposal is an allow rule, matched by <see cref="Glob.AllowsCommand"/>: its <c>*</c> never stands for the shell's syntax
/// for running something else, so <c>git status *</c> does not cover <c>git status; curl … | sh</c>. Widened only where that
/// holds and nothing else stands out: a call the server read as risky (any <see cref="RiskSigns">sign</see>, or one naming
/// git, agent or CI configuration) is proposed as itself, and so is a command that itself holds shell syntax, quotes or
/// globs (what it does is not the plain words the table below knows).
/// </remarks>
public static class AlwaysPatterns
{
    /// <summary>
    /// Programs whose listed subcommands only read the repository whatever options follow: the words that make the pattern's
    /// fixed part. Kept to those on purpose. Most developer tools take an option that runs another program or writes a file
    /// anywhere (<c>git grep -O&lt;cmd&gt;</c>, <c>git diff --output=&lt;file&gt;</c>, <c>npm … --script-shell=&lt;cmd&gt;</c>,
    /// <c>make … SHELL=&lt;cmd&gt;</c>, <c>go test -exec &lt;cmd&gt;</c>, <c>pytest -p &lt;plugin&gt;</c>, MSBuild properties), and
    /// <c>git blame --contents &lt;file&gt;</c> reads any file: "<c>npm test *</c>" would be "any command", one option away.
    /// Those are proposed as the exact call; the owner may still widen one by hand, seeing the preview.
    /// </summary>
    private static readonly Dictionary<string, string[]> Subcommands = new(StringComparer.Ordinal)
    {
        ["git"] = ["status", "ls-files", "rev-parse", "describe", "shortlog"],
    };

    /// <summary>What "Always allow" proposes for this approval: a command's <see cref="ForCommand"/>, anything else its exact pattern.</summary>
    public static string For(Approval approval) =>
        approval.Kind is ApprovalKind.ToolCall { Tool: ToolKind.Execute } && approval.RulePattern != "*"
            ? ForCommand(Glob.Unescape(approval.RulePattern), approval.Risk == RiskClasses.Protected ? [RiskClasses.Protected] : approval.Signs)
            : approval.RulePattern;

    /// <summary>The pattern proposed for <paramref name="command"/>, which the server read with <paramref name="signs"/>.</summary>
    public static string ForCommand(string command, IReadOnlyCollection<string> signs)
    {
        var trimmed = command.Trim();
        var exact = Glob.Escape(trimmed);
        // Past a screenful a command is not a plain tool run.
        if (signs.Count > 0 || trimmed.Length > 500 || !IsPlainWords(trimmed))
        {
            return exact;
        }

        var words = trimmed.Split(' ');
        var fixedWords = FixedPart(words);
        // Exactly its words: nothing to widen over (a pattern "npm test *" would not cover "npm test" itself).
        return fixedWords is null || fixedWords == words.Length ? exact : Glob.Escape(string.Join(' ', words[..fixedWords.Value])) + " *";
    }

    /// <summary>How many leading words name what runs (program and subcommand), or null when the table does not know it.</summary>
    private static int? FixedPart(string[] words) =>
        words.Length > 2 && Subcommands.TryGetValue(words[0], out var subcommands) && subcommands.Contains(words[1], StringComparer.Ordinal) ? 2 : null;

    /// <summary>
    /// Words of letters, digits and the punctuation of options and paths, one space apart: no quotes, globs, escapes or
    /// shell syntax. Read a character at a time (it was a regex with a time limit, which a busy machine could exceed).
    /// </summary>
    internal static bool IsPlainWords(string command)
    {
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            var wordEdge = i == 0 || i == command.Length - 1 || command[i - 1] == ' ';
            if (c == ' ' ? wordEdge : !(char.IsAsciiLetterOrDigit(c) || "_./:=@%+,-".Contains(c)))
            {
                return false;
            }
        }

        return command.Length > 0;
    }
}
