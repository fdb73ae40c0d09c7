namespace PocketCoder.Server;

/// <summary>
/// A Markdown table as docs/design.md shows the tables written from code (the approval and session lifecycles; a test keeps
/// each page the same as its table), so that both are written one way.
/// </summary>
public static class MarkdownTable
{
    /// <summary>The header, its rule, then one line a row; no cell holds a <c>|</c> of its own.</summary>
    public static string Of(string[] header, IEnumerable<string[]> rows) =>
        string.Join('\n', new[] { Row(header), $"|{string.Join('|', header.Select(_ => "---"))}|" }.Concat(rows.Select(Row)));

    private static string Row(string[] cells) => $"| {string.Join(" | ", cells)} |";
}
