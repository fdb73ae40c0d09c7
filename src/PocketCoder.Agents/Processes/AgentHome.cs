using PocketCoder.Agents.FileSystem;

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
    /// <summary>
    /// Where its model is (the provider's hosts, or the base URL the owner set), as its own configuration says: in a sandbox, the
    /// only places its traffic reaches without the owner's word (docs/security.md, "The network").
    /// </summary>
    public IReadOnlyList<Network.NetworkEndpoint> Endpoints { get; init; } = [];

    /// <summary>It serves PocketCoder on its own loopback (OpenCode's server): in a sandbox, PocketCoder connects in through its door.</summary>
    public bool Serves { get; init; }

    /// <summary>
    /// Its model as a plain-HTTP endpoint of PocketCoder's inside the sandbox, which puts in the credentials the agent holds only as
    /// placeholders (docs/security.md, "Secrets"). None where the agent holds no credential of its own, or runs unsandboxed.
    /// </summary>
    public IReadOnlyList<Network.ModelForward> Forwards { get; init; } = [];

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
public sealed record AgentConfig(string Path, Placeholder Placeholder)
{
    /// <summary>
    /// A file PocketCoder wrote in the data folder to stand for the owner's in a sandbox (pi's <c>models.json</c> with its keys as
    /// placeholders and its base URLs the model endpoints: docs/security.md, "Secrets"), bound read-only in its place; null: the owner's.
    /// </summary>
    public string? Source { get; init; }
}

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
            CopyIn(login);
        }
    }

    /// <summary>Copies the owner's file in where it is newer than the agent's copy; false when the owner has none.</summary>
    public bool CopyIn(string ownerPath)
    {
        var owners = new FileInfo(ownerPath);
        if (owners.Exists && !(Probe(ownerPath) is { IsRegularFile: true } copy && copy.ModifiedAt >= owners.LastWriteTimeUtc))
        {
            Write(ownerPath, File.ReadAllBytes(owners.FullName), owners.LastWriteTimeUtc);
        }

        return owners.Exists;
    }

    /// <summary>
    /// The agent's copy of a JSON login file to start from, for a file whose keys go in as placeholders (OpenCode's and pi's
    /// <c>auth.json</c>): the owner's (<paramref name="owners"/>) where it is newer than the agent's copy (a login made since), else
    /// the agent's own (its refreshes of an OAuth login stay its own); and the time to give it, so the next start compares alike.
    /// </summary>
    internal System.Text.Json.Nodes.JsonObject JsonLoginCopy(string ownerPath, System.Text.Json.Nodes.JsonObject owners, out DateTimeOffset modifiedAt)
    {
        var ownersTime = new DateTimeOffset(File.GetLastWriteTimeUtc(ownerPath), TimeSpan.Zero);
        if (Probe(ownerPath) is { IsRegularFile: true } copy && copy.ModifiedAt >= ownersTime
            && Read(ownerPath, MaxLoginFile) is { } text && Network.ModelHosts.ParseJson(text) is { } agents)
        {
            modifiedAt = copy.ModifiedAt;
            return agents;
        }

        modifiedAt = ownersTime;
        return (System.Text.Json.Nodes.JsonObject)owners.DeepClone();
    }

    private const long MaxLoginFile = 4 * 1024 * 1024;

    /// <summary>
    /// Copies the agent's copy of a file of JSON lines out to the owner's where it is newer, with only the lines
    /// <paramref name="keep"/> picks (what the owner's own agent may read as its own), and its time. False when the agent has
    /// none, or none that is a regular file within <paramref name="limit"/> bytes.
    /// </summary>
    public bool CopyOut(string ownerPath, long limit, Func<string[], IEnumerable<string>> keep)
    {
        if (Probe(ownerPath) is not { IsRegularFile: true } agents)
        {
            return false;
        }

        if (File.Exists(ownerPath) && File.GetLastWriteTimeUtc(ownerPath) >= agents.ModifiedAt.UtcDateTime)
        {
            return true;
        }

        if (Read(ownerPath, limit) is not { } text)
        {
            return false;
        }

        WritePrivate(ownerPath, string.Concat(keep(text.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Select(line => line + "\n")));
        File.SetLastWriteTimeUtc(ownerPath, agents.ModifiedAt.UtcDateTime);
        return true;
    }

    // Every file and folder of the agent's home is the agent's to have made: what PocketCoder reads, writes or makes there goes
    // through a handle of its root, one component at a time, never through a link (BeneathRoot), and never reads a FIFO or a
    // file past a limit. A link there would otherwise make the server read a secret for the agent or write where it chose.

    /// <summary>What the agent's copy of <paramref name="ownerPath"/> is now (not following a link), or null when there is nothing.</summary>
    public BeneathRoot.HandleStatus? Probe(string ownerPath)
    {
        try
        {
            return Directory.Exists(Root) ? BeneathRoot.Probe(Root, Relative(ownerPath)) : null;
        }
        catch (ConfinedIOException)
        {
            return null;
        }
    }

    /// <summary>The agent's copy of <paramref name="ownerPath"/> as text, or null: missing, not a regular file, a link on the way, or over <paramref name="limit"/> bytes.</summary>
    public string? Read(string ownerPath, long limit)
    {
        try
        {
            using var handle = BeneathRoot.OpenFileForRead(Root, Relative(ownerPath), out var status);
            if (status.Size > limit)
            {
                return null;
            }

            using var reader = new StreamReader(new FileStream(handle, FileAccess.Read), System.Text.Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (Exception exception) when (exception is ConfinedIOException or IOException)
        {
            return null;
        }
    }

    /// <summary>Replaces the agent's copy of <paramref name="ownerPath"/> whole, readable by its owner only; what stands there that is no regular file goes first.</summary>
    public void Write(string ownerPath, ReadOnlySpan<byte> content, DateTimeOffset? modifiedAt = null)
    {
        var relative = Relative(ownerPath);
        EnsureFolderAt(Path.GetDirectoryName(relative) ?? "");
        if (BeneathRoot.Probe(Root, relative) is { IsRegularFile: false })
        {
            BeneathRoot.RemoveEntry(Root, relative);
        }

        BeneathRoot.ReplaceFile(Root, relative, content, newFileMode: 0x180, modifiedAt: modifiedAt); // 0600
    }

    public void Write(string ownerPath, string text, DateTimeOffset? modifiedAt = null) =>
        Write(ownerPath, System.Text.Encoding.UTF8.GetBytes(text), modifiedAt);

    /// <summary>Makes the agent's copy of a folder (and the folders above it), replacing a link found on the way by a folder.</summary>
    public void EnsureFolder(string ownerPath) => EnsureFolderAt(Relative(ownerPath));

    private void EnsureFolderAt(string relative)
    {
        Directory.CreateDirectory(Root);
        var made = "";
        foreach (var component in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            made = made.Length == 0 ? component : $"{made}/{component}";
            if (BeneathRoot.Probe(Root, made) is { IsDirectory: false })
            {
                BeneathRoot.RemoveEntry(Root, made);
            }
        }

        BeneathRoot.CreateDirectories(Root, relative);
    }

    /// <summary>The agent's copy of an owner path, relative to <see cref="Root"/> with '/' separators.</summary>
    private string Relative(string ownerPath) => Path.GetRelativePath(Root, Map(ownerPath));

    /// <summary>Replaces a file the server owns whole (written aside, then renamed), readable by its owner only: never one of the agent's home.</summary>
    public static void WritePrivate(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var aside = $"{path}.{Guid.NewGuid():N}.pocketcoder";
        try
        {
            using (var file = new FileStream(aside, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            {
                file.Write(System.Text.Encoding.UTF8.GetBytes(text));
                // On the disk before it replaces the file: a crash must leave the old whole or the new whole, never an empty one.
                file.Flush(flushToDisk: true);
            }

            File.Move(aside, path, overwrite: true);
        }
        catch
        {
            // A full disk, say: no half-written file is left beside the owner's.
            File.Delete(aside);
            throw;
        }
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
