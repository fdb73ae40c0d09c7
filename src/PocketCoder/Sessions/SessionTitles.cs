using System.Text.RegularExpressions;

namespace PocketCoder.Sessions;

/// <summary>
/// A session's short title (its <c>shortTitle</c>): what tells it apart on a phone's list. Made from the first prompt, or
/// the agent's own title for a conversation carried on from a terminal: the first sentence, without markdown or code,
/// cut at a word near <see cref="MaxLength"/> characters.
/// </summary>
public static partial class SessionTitles
{
    public const int MaxLength = 48;

    /// <summary>The short title for <paramref name="text"/>, or null when nothing readable is left of it.</summary>
    public static string? Short(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var line = Prose(text).Select(l => Markers().Replace(Links().Replace(l, "$1").Replace("`", "", StringComparison.Ordinal), "").Trim())
            .FirstOrDefault(l => l.Length > 0);
        if (line is null)
        {
            return null;
        }

        line = Emphasis().Replace(line, "$2");
        line = Spaces().Replace(new string([.. line.Select(c => char.IsControl(c) ? ' ' : c)]), " ").Trim();
        if (Sentence().Match(line) is { Success: true } sentence)
        {
            line = sentence.Groups[1].Value.TrimEnd('.');
        }

        if (line.Length <= MaxLength)
        {
            return line.Length == 0 ? null : line;
        }

        // At a word when one ends late enough, else mid-word (a long path or identifier).
        var space = line.LastIndexOf(' ', MaxLength);
        var cut = space >= MaxLength / 2 ? line[..space] : line[..MaxLength];
        return cut.TrimEnd(' ', ',', ';', ':', '-', '(') + "…";
    }

    /// <summary>The lines outside fenced code blocks (an unclosed fence runs to the end).</summary>
    private static IEnumerable<string> Prose(string text)
    {
        string? fence = null;
        foreach (var line in text.ReplaceLineEndings("\n").Split('\n'))
        {
            var trimmed = line.TrimStart();
            var marker = trimmed.StartsWith("```", StringComparison.Ordinal) ? "```" : trimmed.StartsWith("~~~", StringComparison.Ordinal) ? "~~~" : null;
            if (marker is not null && (fence is null || fence == marker))
            {
                fence = fence is null ? marker : null;
            }
            else if (fence is null)
            {
                yield return line;
            }
        }
    }

    [GeneratedRegex(@"!?\[([^\]\n]*)\]\([^)\n]*\)")]
    private static partial Regex Links();

    [GeneratedRegex(@"^(?:#{1,6}\s+|>\s*|[-*+]\s+(?:\[[ xX]\]\s+)?|\d{1,9}[.)]\s+)+")]
    private static partial Regex Markers();

    [GeneratedRegex(@"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")]
    private static partial Regex Emphasis();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"^(.+?[.!?])(?:\s|$)")]
    private static partial Regex Sentence();
}
