namespace PocketCoder.Workspace.Git;

public sealed record GitChange(string Path, string Status, string? OriginalPath);

public sealed record GitStatusResponse(
    string? Branch,
    string? Head,
    string? Upstream,
    int Ahead,
    int Behind,
    IReadOnlyList<GitChange> Staged,
    IReadOnlyList<GitChange> Unstaged,
    IReadOnlyList<string> Untracked,
    IReadOnlyList<string> Conflicted);

/// <summary>Reads <c>git status --porcelain=v2 --branch -z</c>, the format git promises not to change.</summary>
public static class GitStatusParser
{
    public static GitStatusResponse Parse(string output)
    {
        string? branch = null, head = null, upstream = null;
        int ahead = 0, behind = 0;
        List<GitChange> staged = [], unstaged = [];
        List<string> untracked = [], conflicted = [];
        var records = output.Split('\0');
        for (var i = 0; i < records.Length; i++)
        {
            var record = records[i];
            if (record.StartsWith("# branch.oid ", StringComparison.Ordinal))
            {
                head = record[13..] is var oid && oid != "(initial)" ? oid : null;
            }
            else if (record.StartsWith("# branch.head ", StringComparison.Ordinal))
            {
                branch = record[14..] is var name && name != "(detached)" ? name : null;
            }
            else if (record.StartsWith("# branch.upstream ", StringComparison.Ordinal))
            {
                upstream = record[18..];
            }
            else if (record.StartsWith("# branch.ab ", StringComparison.Ordinal))
            {
                var parts = record[12..].Split(' ');
                ahead = int.Parse(parts[0].TrimStart('+'), System.Globalization.CultureInfo.InvariantCulture);
                behind = int.Parse(parts[1].TrimStart('-'), System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (record.StartsWith("1 ", StringComparison.Ordinal) || record.StartsWith("2 ", StringComparison.Ordinal))
            {
                var renamed = record[0] == '2';
                var fields = record.Split(' ', renamed ? 10 : 9);
                var path = fields[^1];
                var original = renamed ? records[++i] : null;
                Add(staged, fields[1][0], path, original);
                Add(unstaged, fields[1][1], path, original);
            }
            else if (record.StartsWith("u ", StringComparison.Ordinal))
            {
                conflicted.Add(record.Split(' ', 11)[^1]);
            }
            else if (record.StartsWith("? ", StringComparison.Ordinal))
            {
                untracked.Add(record[2..]);
            }
        }

        return new GitStatusResponse(branch, head, upstream, ahead, behind, staged, unstaged, untracked, conflicted);
    }

    private static void Add(List<GitChange> changes, char code, string path, string? original)
    {
        var status = code switch
        {
            'M' => "modified",
            'A' => "added",
            'D' => "deleted",
            'R' => "renamed",
            'C' => "copied",
            'T' => "typechange",
            _ => null,
        };
        if (status is not null)
        {
            changes.Add(new GitChange(path, status, original));
        }
    }
}
