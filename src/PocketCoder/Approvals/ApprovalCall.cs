using System.Globalization;
using System.Text;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Display;

namespace PocketCoder.Approvals;

/// <summary>
/// An approval's call as a person deciding away from the app reads it (a chat message, a notification), and whether
/// that shows it whole: only a call shown whole may be allowed from there (docs/bridges.md, docs/notifications.md).
/// </summary>
public static class ApprovalCall
{
    /// <summary>Longest part of a call shown before it counts as not shown whole.</summary>
    public const int LongestShown = 2500;

    /// <summary>Input fields that never change what a call does (the agent's own words about it): not shown.</summary>
    private static readonly HashSet<string> Commentary = new(StringComparer.Ordinal) { "description", "reason", "timeout" };

    /// <summary>
    /// What the call does, exactly as it will run: a command and its folder, an edit's path and lines, a patch's files and
    /// diffs, and every other field of the input as the agent sent it; not only the agent's description. Whatever is
    /// shown in a readable form is taken out; whatever is left is shown raw, so nothing that decides what runs is hidden.
    /// </summary>
    /// <returns>Whether everything was shown verbatim (nothing cut, no character or spacing that could hide what it says).</returns>
    public static bool Append(StringBuilder text, Approval approval)
    {
        var input = approval.InputJson;
        var shown = new Shown(text);
        if (input.ValueKind != JsonValueKind.Object)
        {
            shown.Show("", Raw(input));
            return shown.Whole;
        }

        if (approval.Budget is { } budget)
        {
            // What a raise adds and what it lets go on, in words: the decider weighs the spend, not the fields.
            shown.Show("A raise adds ", Teams.Budgets.Describe(budget.RaiseTokens, budget.RaiseCostUsd) + ".");
            shown.Show("It holds ", budget.Holds.Kind == Teams.BudgetHold.Call ? $"the {budget.Holds.Tool} call: {budget.Holds.Text}" : $"the message: {budget.Holds.Text}");
            return shown.Whole && shown.Any;
        }

        if (approval.Kind is ApprovalKind.Question && input.TryGetProperty("questions", out var questions)
            && questions.ValueKind == JsonValueKind.Array)
        {
            shown.Questions(questions);
            return shown.Whole; // Never allowed from a chat; shown whole, a one-question choice can be answered with its buttons.
        }

        shown.Left = input.EnumerateObject().Where(p => !Commentary.Contains(p.Name) && p.Value.ValueKind != JsonValueKind.Null)
            .ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        if (shown.Left.Count == 0 && approval.Plan is null)
        {
            return false; // Nothing but the agent's own title would say what it does.
        }

        _ = shown.Command() || shown.Edit() || shown.Patch();
        if (approval.Plan is { Length: > 0 })
        {
            shown.Left.Remove("plan");
        }

        if (shown.Left.Count > 0)
        {
            // Any other tool (a fetch, an MCP tool's call), or fields beside a command or an edit (replace_all, a host): as sent.
            shown.Show("", RawObject(shown.Left));
        }

        if (approval.Plan is { Length: > 0 } plan)
        {
            text.Append('\n');
            shown.Show("", plan);
        }

        // Nothing at all shown (an empty command, say) leaves only the agent's own title to go by.
        return shown.Whole && shown.Any;
    }

    /// <summary>A call being written out: what is shown, whether all of it was shown whole, and the input's fields not shown yet.</summary>
    private sealed class Shown(StringBuilder text)
    {
        public bool Whole { get; private set; } = true;

        public bool Any { get; private set; }

        public Dictionary<string, JsonElement> Left { get; set; } = [];

        public void Show(string prefix, string value)
        {
            // A part of 40 lines or more is folded away by some chats ("Show more") or scrolls past its buttons.
            Whole &= value.Length <= LongestShown && Readable(value) && value.Count(c => c == '\n') < 40;
            Any |= value.Trim().Length > 0;
            text.Append(prefix).Append(TerminalText.Clean(Shorten(value)) ?? "").Append('\n');
        }

        /// <summary>The first of these string fields the input has, taken out of what is left to show.</summary>
        private string? Take(params string[] names)
        {
            foreach (var name in names)
            {
                if (Left.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    Left.Remove(name);
                    return value.GetString();
                }
            }

            return null;
        }

        public void Questions(JsonElement questions)
        {
            foreach (var question in questions.EnumerateArray().Where(q => q.ValueKind == JsonValueKind.Object))
            {
                Show("• ", (Field(question, "question") ?? "") + (question.TryGetProperty("multiSelect", out var many) && many.ValueKind == JsonValueKind.True ? " (any number)" : ""));
                var options = question.TryGetProperty("options", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : [];
                foreach (var option in options.Where(o => o.ValueKind == JsonValueKind.Object))
                {
                    Show("   – ", Field(option, "label") + (Field(option, "description") is { Length: > 0 } about ? ": " + about : ""));
                }
            }
        }

        /// <summary>A command and the folder it runs in.</summary>
        public bool Command()
        {
            if (Take("command") is not { Length: > 0 } command)
            {
                return false;
            }

            Show("$ ", command);
            if (Take("cwd", "workdir") is { Length: > 0 } folder)
            {
                Show("in ", folder);
            }

            return true;
        }

        /// <summary>An edit: its path, how many lines go and come, and those lines.</summary>
        public bool Edit()
        {
            if (!Left.Keys.Any(k => k is "old_string" or "oldString" or "new_string" or "newString" or "content")
                || Take("file_path", "path", "filePath") is not { Length: > 0 } path)
            {
                return false;
            }

            var removed = Take("old_string", "oldString");
            var added = Take("new_string", "newString", "content");
            Show("", path);
            text.Append($"+{Lines(added)} −{Lines(removed)} lines\n");
            if (removed is { Length: > 0 })
            {
                Show("", Prefixed(removed, "- "));
            }

            if (added is { Length: > 0 })
            {
                Show("", Prefixed(added, "+ "));
            }

            return true;
        }

        /// <summary>A patch of several files (Codex): each file, how it changes, and its diff.</summary>
        public bool Patch()
        {
            if (!Left.TryGetValue("changes", out var changes) || changes.ValueKind != JsonValueKind.Array
                || !changes.EnumerateArray().All(c => c.ValueKind == JsonValueKind.Object && Field(c, "path") is not null))
            {
                return false;
            }

            Left.Remove("changes");
            foreach (var change in changes.EnumerateArray())
            {
                Show("", Field(change, "path")! + (change.TryGetProperty("kind", out var kind) ? " " + Raw(kind) : ""));
                if (Field(change, "diff") is { Length: > 0 } diff)
                {
                    Show("", diff.TrimEnd('\n'));
                }

                var rest = change.EnumerateObject().Where(p => p.Name is not ("path" or "kind" or "diff")).ToList();
                if (rest.Count > 0)
                {
                    Show("", RawObject(rest.Select(p => KeyValuePair.Create(p.Name, p.Value))));
                }
            }

            return true;
        }
    }

    /// <summary>JSON as a person reads it: <c>+</c>, <c>&lt;</c> and letters as themselves, not as <c>\u002B</c>.</summary>
    private static string Raw(JsonElement value) => JsonSerializer.Serialize(value, PlainJson.Readable.JsonElement);

    private static string RawObject(IEnumerable<KeyValuePair<string, JsonElement>> fields) =>
        "{" + string.Join(", ", fields.Select(f => JsonSerializer.Serialize(f.Key, PlainJson.Readable.String) + ": " + Raw(f.Value))) + "}";

    private static string Prefixed(string text, string prefix) =>
        string.Join('\n', text.TrimEnd('\n').Split('\n').Select(line => prefix + line));

    /// <summary>
    /// Text that shows as it is: no control character (but line breaks and tabs), no invisible formatting (zero-width
    /// characters, bidirectional overrides, tag characters), no line or paragraph separator, no blank letters (Hangul
    /// fillers, the braille blank), and no spacing that pushes a part out of sight (two blank lines in a row, a run of
    /// spaces or tabs inside a line), any of which could make a command look like another. Checked by code point, so
    /// nothing outside the basic plane slips through as half a pair.
    /// </summary>
    public static bool Readable(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value is '\n' or '\t')
            {
                continue;
            }

            if (Rune.IsControl(rune) || rune == Rune.ReplacementChar || rune.Value is 0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x2800
                || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return false;
            }
        }

        var blank = 0;
        foreach (var line in text.Split('\n'))
        {
            blank = line.Trim().Length == 0 ? blank + 1 : 0;
            var inside = line.TrimStart();
            if (blank >= 2 || inside.Contains(new string(' ', 16), StringComparison.Ordinal) || inside.Contains("\t\t\t\t", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    internal static string? Field(JsonElement input, string name) =>
        input.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int Lines(string? text) => string.IsNullOrEmpty(text) ? 0 : text.Count(c => c == '\n') + (text.EndsWith('\n') ? 0 : 1);

    private static string Shorten(string text) => text.Length <= LongestShown ? text : text[..(LongestShown - 1)] + "…";
}
