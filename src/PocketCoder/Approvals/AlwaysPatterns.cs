using System.Text.RegularExpressions;
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
public static partial class AlwaysPatterns
{
    /// <summary>
    /// Programs whose listed subcommands read, build or test the project whatever their arguments: the words that make the
    /// pattern's fixed part. <c>*</c> after a subcommand word (<c>npm run</c>, <c>make</c>) takes one more word, the script
    /// or target, into the fixed part: <c>npm run build *</c>, never <c>npm run *</c> (any script is any code).
    /// </summary>
    private static readonly Dictionary<string, string[]> Subcommands = new(StringComparer.Ordinal)
    {
        ["git"] = ["status", "diff", "log", "show", "blame", "ls-files", "rev-parse", "grep", "shortlog", "describe"],
        ["npm"] = ["test", "run *"],
        ["pnpm"] = ["test", "run *"],
        ["yarn"] = ["test", "run *"],
        ["bun"] = ["test", "run *"],
        ["dotnet"] = ["build", "test"],
        ["cargo"] = ["build", "test", "check", "clippy"],
        ["go"] = ["build", "test", "vet"],
        ["make"] = ["*"],
        ["pytest"] = [""],
        ["python"] = ["-m pytest"],
        ["python3"] = ["-m pytest"],
    };

    /// <summary>What "Always allow" proposes for this approval: a command's <see cref="ForCommand"/>, anything else its exact pattern.</summary>
    public static string For(Approval approval) =>
        approval.Kind == ToolKind.Execute.ToWire() && approval.RulePattern != "*"
            ? ForCommand(Glob.Unescape(approval.RulePattern), approval.Risk == RiskClasses.Protected ? [RiskClasses.Protected] : approval.Signs)
            : approval.RulePattern;

    /// <summary>The pattern proposed for <paramref name="command"/>, which the server read with <paramref name="signs"/>.</summary>
    public static string ForCommand(string command, IReadOnlyCollection<string> signs)
    {
        var trimmed = command.Trim();
        var exact = Glob.Escape(trimmed);
        // Past a screenful a command is not a plain tool run (and its reading would outlast the regex's time).
        if (signs.Count > 0 || trimmed.Length > 500 || !PlainWords().IsMatch(trimmed))
        {
            return exact;
        }

        var words = trimmed.Split(' ');
        var fixedWords = FixedPart(words);
        // Exactly its words: nothing to widen over (a pattern "npm test *" would not cover "npm test" itself).
        return fixedWords is null || fixedWords == words.Length ? exact : Glob.Escape(string.Join(' ', words[..fixedWords.Value])) + " *";
    }

    /// <summary>How many leading words name what runs (program, subcommand, script), or null when the table does not know it.</summary>
    private static int? FixedPart(string[] words)
    {
        if (!Subcommands.TryGetValue(words[0], out var subcommands))
        {
            return null;
        }

        foreach (var subcommand in subcommands)
        {
            var parts = subcommand.Length == 0 ? [] : subcommand.Split(' ');
            if (words.Length > parts.Length && parts.Select((part, i) => part == "*" ? NameWord().IsMatch(words[i + 1]) : part == words[i + 1]).All(ok => ok))
            {
                return parts.Length + 1;
            }
        }

        return null;
    }

    // Words of letters, digits and the punctuation of options and paths, one space apart: no quotes, globs, escapes or shell syntax.
    [GeneratedRegex(@"\A[A-Za-z0-9_./:=@%+,-]+(?: [A-Za-z0-9_./:=@%+,-]+)*\z", RegexOptions.None, 100)]
    private static partial Regex PlainWords();

    // A script or target's name: no option (a leading dash) and no path.
    [GeneratedRegex(@"\A[A-Za-z0-9_][A-Za-z0-9_:.-]*\z", RegexOptions.None, 100)]
    private static partial Regex NameWord();
}
