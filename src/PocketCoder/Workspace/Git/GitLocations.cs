using PocketCoder.Agents.FileSystem;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Workspace.Git;

/// <summary>Where git keeps a working folder's metadata.</summary>
/// <param name="WorkTree">The working folder.</param>
/// <param name="GitDir">Its own git folder: the repository's <c>.git</c>, or a session worktree's folder in <c>.git/worktrees</c>.</param>
/// <param name="CommonDir">The repository's git folder: config, hooks, objects and refs.</param>
/// <param name="Branch">A session worktree's branch (the one ref its agent may move); null for a repository's own folder.</param>
public sealed record GitLocation(string WorkTree, string GitDir, string CommonDir, string? Branch);

/// <summary>
/// git finds a repository's metadata through files in the working folder and the git folder, which whoever can write
/// there can change: a <c>commondir</c> file sends it to another folder's config, hooks and refs, a worktree's <c>.git</c>
/// file to any folder at all. PocketCoder's own git never follows them: it is given the folders here (<c>GIT_DIR</c>,
/// <c>GIT_COMMON_DIR</c>, <c>GIT_WORK_TREE</c>), taken from what PocketCoder made (a session's worktree, as recorded when
/// it was created) or from the one layout that needs no pointer (a <c>.git</c> folder in the working folder).
/// </summary>
public sealed class GitLocations(Database database)
{
    /// <summary>The folders git must use for <paramref name="directory"/>; null where git is left to find them (a folder inside
    /// a repository, or one whose <c>.git</c> is a file PocketCoder did not make: the sandbox keeps what git reads there read-only).</summary>
    /// <exception cref="ApiProblem"><c>GIT_REDIRECTED</c> (409): the repository's git folder points elsewhere, or git has no
    /// record of a session's worktree.</exception>
    public GitLocation? Find(string directory)
    {
        var worktree = database.Read(connection => connection.Query(
            "SELECT w.branch, p.path FROM session_worktrees w JOIN projects p ON p.id = w.project_id WHERE w.path = $path AND w.removed_at IS NULL",
            r => (Branch: r.GetString(0), Project: r.GetString(1)), ("$path", directory))).FirstOrDefault();
        if (worktree.Project is not null)
        {
            var common = Path.Combine(worktree.Project, ".git");
            return IsFolder(common) ? new GitLocation(directory, AdminFolder(NotRedirected(common), directory), common, worktree.Branch) : null;
        }

        var own = Path.Combine(directory, ".git");
        return IsFolder(own) ? new GitLocation(directory, NotRedirected(own), own, null) : null;
    }

    private static bool IsFolder(string path) => Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null;

    /// <summary>Only a linked worktree's own folder has a <c>commondir</c>; in a repository's git folder it is a redirect.</summary>
    private static string NotRedirected(string gitFolder)
    {
        var pointer = Path.Combine(gitFolder, "commondir");
        if (File.Exists(pointer) || Directory.Exists(pointer) || new FileInfo(pointer).LinkTarget is not null)
        {
            throw ApiProblem.Conflict(ErrorCodes.GitRedirected,
                $"The repository's git folder holds a commondir file ({pointer}), which only git's linked worktrees have: git would take the " +
                "repository's config, hooks and refs from the folder it names, and run what that config names. PocketCoder runs no git here " +
                "while it is there. If you did not put it there, do not run git in this repository: look at what it names, then delete it.");
        }

        return gitFolder;
    }

    /// <summary>The session worktree's folder in <c>.git/worktrees</c>: the one whose <c>gitdir</c> names the worktree's <c>.git</c>.</summary>
    private static string AdminFolder(string common, string worktree)
    {
        // git records the real path (links resolved); the worktree's .git file itself is never read.
        var expected = RealPath.Resolve(Path.Combine(worktree, ".git"));
        var folders = Path.Combine(common, "worktrees");
        foreach (var admin in expected is not null && Directory.Exists(folders) ? Directory.EnumerateDirectories(folders) : [])
        {
            if (ReadSmallFile(admin, "gitdir") is { } named && RealPath.Resolve(Path.GetFullPath(named.Trim(), admin)) == expected)
            {
                return admin;
            }
        }

        throw ApiProblem.Conflict(ErrorCodes.GitRedirected,
            $"git has no record of the worktree {worktree} in {folders} any more, so PocketCoder cannot tell which git folder is its own. " +
            "Keep or discard the session's branch.");
    }

    private static string? ReadSmallFile(string folder, string name)
    {
        try
        {
            using var handle = BeneathRoot.OpenFileForRead(folder, name, out var status);
            if (status.Size > 4096)
            {
                return null;
            }

            using var stream = new FileStream(handle, FileAccess.Read);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (ConfinedIOException)
        {
            return null;
        }
    }
}
