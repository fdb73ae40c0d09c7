namespace PocketCoder.Agents.Claude;

/// <summary>
/// Where Claude Code writes its plans in plan mode: <c>plans/NAME.md</c> in its config folder. Since 2.1 its <c>ExitPlanMode</c>
/// takes no plan of its own: the model writes the plan there first, and Claude hands the file's text to the permission prompt as
/// the call's <c>plan</c>. A write there is the agent's own note, like its to-do list: refused (as every edit is in plan mode), the
/// phone's plan card would have no plan to show. Only a Markdown file directly in that folder counts, spelled plainly, with neither
/// the folder nor the file a link (a link could lead the write anywhere).
/// </summary>
/// <param name="Folder">The folder as Claude sees it (its config folder's <c>plans</c>).</param>
/// <param name="OnDisk">The same folder where PocketCoder finds it: in a sandbox, in the agent's home of PocketCoder's own.</param>
internal sealed record ClaudePlanFiles(string Folder, string OnDisk)
{
    public bool Holds(string? path)
    {
        if (path is not { Length: > 0 } || !Path.IsPathFullyQualified(path) || Path.GetFullPath(path) != path
            || !path.EndsWith(".md", StringComparison.Ordinal) || Path.GetDirectoryName(path) != Path.TrimEndingDirectorySeparator(Folder))
        {
            return false;
        }

        try
        {
            var file = new FileInfo(Path.Combine(OnDisk, Path.GetFileName(path)));
            return new DirectoryInfo(OnDisk).LinkTarget is null && file.LinkTarget is null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
