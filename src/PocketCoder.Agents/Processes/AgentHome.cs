namespace PocketCoder.Agents.Processes;

/// <summary>
/// What an agent keeps in its home folder, as its adapter declares it for the sandbox.
/// </summary>
/// <param name="Folders">Where it writes its state: conversations, logs, caches, its own state file. In a sandbox each is backed by
/// the agent's home of PocketCoder's own (<see cref="AgentHome"/>), never the owner's folder of that name.</param>
/// <param name="Config">Paths inside those folders that decide what the agent may do or run (settings, hooks, rules, plugins,
/// extensions, instructions): read-only in a sandbox, the owner's own where they have one.</param>
/// <param name="Logins">Files inside those folders that log the agent in: the owner's copied in as data whenever the owner's is
/// newer, the agent's copy its own after that (a refresh it makes is never written back to the owner's).</param>
/// <param name="Provided">Files PocketCoder writes for the agent in its data folder (Gemini CLI's gate policy): in a sandbox, which
/// hides the data folder, read-only at their own path.</param>
public sealed record AgentState(IReadOnlyList<string> Folders, IReadOnlyList<AgentConfig> Config, IReadOnlyList<string> Logins,
    IReadOnlyList<string> Provided)
{
    public static AgentState Of(IEnumerable<string> folders, IEnumerable<AgentConfig>? config = null, IEnumerable<string>? logins = null,
        IEnumerable<string>? provided = null) =>
        new([.. folders], [.. config ?? []], [.. logins ?? []], [.. provided ?? []]);
}

/// <summary>What stands read-only at a config path the owner has nothing at, so that the agent cannot put something there.</summary>
public enum Placeholder
{
    /// <summary>A JSON settings file with no settings: <c>{}</c>.</summary>
    JsonObject,

    /// <summary>An empty file (TOML, Markdown, rules).</summary>
    Empty,

    /// <summary>An empty folder (plugins, hooks, extensions, commands).</summary>
    Folder,
}

/// <param name="Path">Where the agent reads it, a path in the owner's home (inside one of <see cref="AgentState.Folders"/>).</param>
public sealed record AgentConfig(string Path, Placeholder Placeholder);

/// <summary>
/// A sandboxed agent's home of PocketCoder's own: one per agent, persistent, under the data folder. Every state folder the
/// agent has in the owner's home is given to it from here, at the same path, so nothing it writes reaches what the owner's
/// own terminal agent reads; what the owner configured comes in read-only (<see cref="AgentState.Config"/>).
/// </summary>
/// <param name="Root">The folder (<c>DATA/agents/AGENT/home</c>).</param>
/// <param name="OwnerHome">The owner's home, whose layout the copy keeps.</param>
public sealed record AgentHome(string Root, string OwnerHome)
{
    /// <summary>
    /// Copies the owner's login files in where the owner's is newer than the agent's copy (a login made since, or the first),
    /// readable by its owner only; the agent's own refreshes of it stay its own.
    /// </summary>
    public void CopyLogins(IEnumerable<string> logins)
    {
        foreach (var login in logins)
        {
            var owners = new FileInfo(login);
            var copy = new FileInfo(Map(login));
            if (!owners.Exists || (copy.Exists && copy.LinkTarget is null && copy.LastWriteTimeUtc >= owners.LastWriteTimeUtc))
            {
                continue;
            }

            Directory.CreateDirectory(copy.DirectoryName!);
            var aside = copy.FullName + ".pocketcoder-copy";
            File.Copy(owners.FullName, aside, overwrite: true);
            File.SetUnixFileMode(aside, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetLastWriteTimeUtc(aside, owners.LastWriteTimeUtc);
            File.Move(aside, copy.FullName, overwrite: true);
        }
    }

    /// <summary>Replaces a file of the agent's home whole (written aside, then renamed), readable by its owner only.</summary>
    public static void WritePrivate(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var aside = path + ".pocketcoder-copy";
        File.WriteAllText(aside, text);
        File.SetUnixFileMode(aside, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(aside, path, overwrite: true);
    }

    /// <summary>Where the agent's copy of a path in the owner's home lives: the same path below <see cref="Root"/> (one outside the
    /// owner's home, as a CODEX_HOME of its own can be, below <c>Root/_/</c>).</summary>
    public string Map(string ownerPath)
    {
        var full = Path.GetFullPath(ownerPath);
        var relative = Path.GetRelativePath(OwnerHome, full);
        return relative == "." ? Root
            : relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? Path.Combine(Root, "_", full.TrimStart('/'))
            : Path.Combine(Root, relative);
    }
}
