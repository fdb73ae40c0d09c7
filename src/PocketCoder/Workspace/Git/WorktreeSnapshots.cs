using PocketCoder.Agents.FileSystem;
using PocketCoder.Errors;

namespace PocketCoder.Workspace.Git;

/// <summary>One file a turn changed: <c>status</c> is git's letter (A, M, D, R, T), and binary files count no lines.</summary>
public sealed record ChangedFile(string Path, string Status, int? Added, int? Deleted);

public sealed record WorktreeDiff(IReadOnlyList<ChangedFile> Files, string Diff, bool Truncated);

/// <summary>
/// The project's working tree as a git tree object (what <c>git stash create</c> records, without a stash): tracked and
/// untracked files that .gitignore does not ignore, through an index of our own, so the owner's staging area, HEAD and
/// refs are never touched. Two snapshots diff to exactly what changed between them, whoever changed it.
/// </summary>
public sealed class WorktreeSnapshots(GitCli git)
{
    // The whole snapshot, every git call in it: a repository too big for this gets no review for the turn, not a stalled prompt.
    internal static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    // An index larger than this is not a real one (a repository of millions of files): the snapshot starts from scratch.
    private const long MaxIndexBytes = 256 * 1024 * 1024;

    /// <summary>The tree of the working tree as it is now, or null when the project is not a git repository.</summary>
    /// <exception cref="TimeoutException">The snapshot took longer than <see cref="Limit"/>.</exception>
    public async Task<string?> TakeAsync(string projectPath, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Limit);
        var token = deadline.Token;
        try
        {
            var gitDirectory = await git.RunAsync(projectPath, ["rev-parse", "--absolute-git-dir"], token).ConfigureAwait(false);
            if (gitDirectory.ExitCode != 0)
            {
                return null;
            }

            var directory = gitDirectory.Stdout.Trim();
            var index = Path.Combine(directory, $"pocketcoder-snapshot-{Guid.NewGuid():N}.index");
            try
            {
                CopyIndex(directory, index);
                // A file git cannot take (a nested repository with no commit yet, which git can record neither as files nor as a
                // submodule) stays out of the snapshot, as it stays out of any commit, rather than leaving the turn or branch unshown:
                // with --ignore-errors git adds the rest and says so with exit 1.
                var added = await git.RunAsync(projectPath, ["add", "--all", "--ignore-errors", "--", "."], token, Limit, index).ConfigureAwait(false);
                if (added.ExitCode is not (0 or 1))
                {
                    throw GitCli.Failed("add", added);
                }

                var tree = await git.RunCheckedAsync(projectPath, ["write-tree"], token, Limit, index).ConfigureAwait(false);
                return tree.Stdout.Trim();
            }
            finally
            {
                File.Delete(index);
            }
        }
        catch (ApiProblem problem) when (problem.Code == ErrorCodes.GitNotInitialized)
        {
            return null;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The working tree could not be snapshotted within {Limit.TotalSeconds:0} s.");
        }
    }

    /// <summary>
    /// Starts our index as a copy of the owner's, so git's stat cache spares re-reading unchanged files. The copy is read
    /// through <see cref="BeneathRoot"/>: only a regular file named index in the git folder itself, never a link, FIFO or
    /// device a hostile repository put there. Without one, git builds the index from scratch (slower, same tree).
    /// </summary>
    private static void CopyIndex(string gitDirectory, string target)
    {
        try
        {
            using var source = BeneathRoot.OpenFileForRead(gitDirectory, "index", out var status);
            if (status.Size > MaxIndexBytes)
            {
                return;
            }

            using var input = new FileStream(source, FileAccess.Read);
            using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
            input.CopyTo(output);
        }
        catch (ConfinedIOException)
        {
            // No index yet (a fresh repository), or not a plain file.
        }
    }

    /// <summary>Are these objects still in the repository? (<c>git gc</c> removes unreferenced ones after its grace period.)</summary>
    public async Task<bool> ExistAsync(string projectPath, IReadOnlyList<string> trees, CancellationToken cancellationToken)
    {
        foreach (var tree in trees)
        {
            if (!IsObjectId(tree) || (await git.RunAsync(projectPath, ["cat-file", "-e", tree + "^{tree}"], cancellationToken).ConfigureAwait(false)).ExitCode != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What changed from one snapshot to the other: the files with their line counts, and the patch (cut at 2 MB).</summary>
    public async Task<WorktreeDiff> DiffAsync(string projectPath, string before, string after, CancellationToken cancellationToken)
    {
        // Both are tree ids this server wrote down; still checked, so nothing else can ever reach git as an argument.
        if (!IsObjectId(before) || !IsObjectId(after))
        {
            throw new ArgumentException("Snapshots are git object ids.");
        }

        var numbers = await git.RunCheckedAsync(projectPath, ["diff", "--numstat", "-z", "--find-renames", before, after, "--"], cancellationToken)
            .ConfigureAwait(false);
        var statuses = await git.RunCheckedAsync(projectPath, ["diff", "--name-status", "-z", "--find-renames", before, after, "--"], cancellationToken)
            .ConfigureAwait(false);
        var patch = await git.RunCheckedAsync(projectPath, ["diff", "--no-color", "--find-renames", before, after, "--"], cancellationToken)
            .ConfigureAwait(false);
        return new WorktreeDiff(Files(numbers.Stdout, statuses.Stdout), patch.Stdout, patch.Truncated);
    }

    /// <summary>
    /// What putting the project's folder back from <paramref name="from"/> to <paramref name="to"/> would do: the paths to write
    /// (added or changed) and those to remove, relative to the project's folder and confined to it. Trees are of the whole
    /// repository; a project in a subfolder of one never reaches beyond its folder (git's <c>--relative</c>).
    /// </summary>
    public async Task<(List<string> Written, List<string> Removed)> ChangesAsync(string projectPath, string from, string to,
        CancellationToken cancellationToken)
    {
        if (!IsObjectId(from) || !IsObjectId(to))
        {
            throw new ArgumentException("Snapshots are git object ids.");
        }

        if (from == to)
        {
            return ([], []);
        }

        var changes = await git.RunCheckedAsync(projectPath, ["diff", "--name-status", "--no-renames", "--relative", "-z", from, to, "--"], cancellationToken)
            .ConfigureAwait(false);
        return Restored(changes.Stdout);
    }

    /// <summary>
    /// Puts the project's folder back from snapshot <paramref name="from"/> (the tree as it is now) to <paramref name="to"/>: each
    /// file that differs is written as <paramref name="to"/> has it, through an index of our own, and each file only
    /// <paramref name="from"/> has is removed; the paths in <paramref name="except"/> are left as they are. Only the project's folder:
    /// in a subfolder of a repository, nothing beside it. Ignored files, the owner's staging area, HEAD and refs are untouched.
    /// Returns the number of files put back.
    /// </summary>
    /// <remarks>
    /// Removals come first and go through <see cref="BeneathRoot"/> from the project's folder, never through a link: a folder that
    /// became a link (or a link that became a folder) must not take the removal out of the project, as <c>File.Delete</c> after the
    /// checkout once did (it deleted <c>cache/keep.txt</c> through a <c>cache</c> link just checked back out to a folder outside).
    /// Then the way to each written path is cleared the same way (a link or file where a folder must be, a link or empty folder
    /// where the file goes), and only then does git write. git itself refuses to write beyond a symlink too (checkout-index --force
    /// replaces the link); clearing first makes that ours to guarantee, not git's.
    /// </remarks>
    /// <exception cref="ApiProblem"><c>RESTORE_FAILED</c> (409) when a path cannot be put back without leaving the project.</exception>
    public async Task<int> RestoreAsync(string projectPath, string from, string to, CancellationToken cancellationToken,
        IReadOnlySet<string>? except = null)
    {
        var (written, removed) = await ChangesAsync(projectPath, from, to, cancellationToken).ConfigureAwait(false);
        if (except is { Count: > 0 })
        {
            written.RemoveAll(except.Contains);
            removed.RemoveAll(except.Contains);
        }

        Confined(() => Remove(projectPath, removed));
        foreach (var path in written)
        {
            Confined(() => BeneathRoot.MakeWayFor(projectPath, path));
        }

        if (written.Count > 0)
        {
            var gitDirectory = (await git.RunCheckedAsync(projectPath, ["rev-parse", "--absolute-git-dir"], cancellationToken).ConfigureAwait(false)).Stdout.Trim();
            var index = Path.Combine(gitDirectory, $"pocketcoder-restore-{Guid.NewGuid():N}.index");
            try
            {
                await git.RunCheckedAsync(projectPath, ["read-tree", to], cancellationToken, Limit, index).ConfigureAwait(false);
                // Run in the project's folder, checkout-index takes the paths as relative to it, as the diff gave them.
                foreach (var batch in written.Chunk(200))
                {
                    await git.RunCheckedAsync(projectPath, ["checkout-index", "--force", "--", .. batch], cancellationToken, Limit, index).ConfigureAwait(false);
                }
            }
            finally
            {
                File.Delete(index);
            }
        }

        return written.Count + removed.Count;
    }

    /// <summary>Keeps <paramref name="tree"/> from <c>git gc</c> on <c>refs/pocketcoder/rewinds/NAME</c>, so it can be put back later.</summary>
    public async Task KeepAsync(string projectPath, string name, string tree, CancellationToken cancellationToken)
    {
        if (!IsObjectId(tree) || !IsRefName(name))
        {
            throw new ArgumentException("A snapshot is a git object id, and its name a plain word.");
        }

        await git.RunCheckedAsync(projectPath, ["update-ref", KeptRef(name), tree], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lets <c>git gc</c> have a tree <see cref="KeepAsync"/> kept (nothing when it is gone already).</summary>
    public async Task DropAsync(string projectPath, string name, CancellationToken cancellationToken)
    {
        if (IsRefName(name))
        {
            await git.RunAsync(projectPath, ["update-ref", "-d", KeptRef(name)], cancellationToken).ConfigureAwait(false);
        }
    }

    public static string KeptRef(string name) => $"refs/pocketcoder/rewinds/{name}";

    private static bool IsRefName(string name) => name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>
    /// Removes each path (a file or a link itself; a submodule's folder stays, as git leaves it), then the folders the removals
    /// left empty, as a checkout does. A path whose folder is now a link or a file is not there to remove: it is not followed.
    /// </summary>
    private static void Remove(string top, List<string> removed)
    {
        var emptied = new SortedSet<string>(Comparer<string>.Create((a, b) => b.Length != a.Length ? b.Length - a.Length : string.CompareOrdinal(a, b)));
        foreach (var path in removed)
        {
            try
            {
                BeneathRoot.RemoveFileOrLink(top, path);
            }
            catch (ConfinedIOException exception) when (exception.Failure is ConfinedFailure.NotFound or ConfinedFailure.Moved)
            {
                continue;
            }

            for (var folder = Parent(path); folder.Length > 0; folder = Parent(folder))
            {
                emptied.Add(folder);
            }
        }

        // Deepest first, so a folder emptied by removing the one below it goes too; rmdir leaves anything not empty (or a link).
        foreach (var folder in emptied)
        {
            try
            {
                BeneathRoot.RemoveEmptyDirectory(top, folder);
            }
            catch (ConfinedIOException exception) when (exception.Failure is ConfinedFailure.NotFound or ConfinedFailure.Moved)
            {
            }
        }
    }

    private static string Parent(string path) => path.LastIndexOf('/') is var slash and > 0 ? path[..slash] : "";

    private static void Confined(Action restore)
    {
        try
        {
            restore();
        }
        catch (ConfinedIOException exception)
        {
            throw ApiProblem.Conflict(ErrorCodes.RestoreFailed,
                $"The files could not all be put back: {exception.Message} Nothing was followed out of the project; what was put back so far stays.");
        }
    }

    /// <summary>name-status -z without renames, "S\0path\0" each: the paths to write (added, changed) and those to remove (deleted).</summary>
    internal static (List<string> Written, List<string> Removed) Restored(string nameStatus)
    {
        var (written, removed) = (new List<string>(), new List<string>());
        var parts = nameStatus.Split('\0');
        for (var i = 0; i + 1 < parts.Length && parts[i].Length > 0; i += 2)
        {
            (parts[i][0] == 'D' ? removed : written).Add(parts[i + 1]);
        }

        return (written, removed);
    }

    private static bool IsObjectId(string value) => value.Length is 40 or 64 && value.All(char.IsAsciiHexDigitLower);

    // numstat -z: "added\tdeleted\tpath\0", or for a rename "added\tdeleted\t\0old\0new\0"; name-status -z: "S\0path\0" or "Rnn\0old\0new\0".
    private static List<ChangedFile> Files(string numstat, string nameStatus)
    {
        var status = new Dictionary<string, string>(StringComparer.Ordinal);
        var parts = nameStatus.Split('\0');
        for (var i = 0; i + 1 < parts.Length;)
        {
            var letter = parts[i];
            if (letter.Length == 0)
            {
                break;
            }

            var renamed = letter[0] is 'R' or 'C';
            var path = renamed && i + 2 < parts.Length ? parts[i + 2] : parts[i + 1];
            status[path] = letter[..1];
            i += renamed ? 3 : 2;
        }

        var files = new List<ChangedFile>();
        var fields = numstat.Split('\0');
        for (var i = 0; i < fields.Length;)
        {
            var head = fields[i].Split('\t', 3);
            if (head.Length < 3)
            {
                break;
            }

            var renamed = head[2].Length == 0 && i + 2 < fields.Length;
            var path = renamed ? fields[i + 2] : head[2];
            i += renamed ? 3 : 1;

            int? Count(string n) => n == "-" ? null : int.Parse(n, System.Globalization.CultureInfo.InvariantCulture);
            files.Add(new ChangedFile(path, status.GetValueOrDefault(path, "M"), Count(head[0]), Count(head[1])));
        }

        return files;
    }
}
