using PocketCoder.Errors;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Sessions;

/// <summary>
/// What of a working tree's submodules the sandbox keeps as it is, so that no repository an allowed command makes is ever
/// entered by the owner's own git. <c>git status</c> and <c>git diff</c> enter every submodule the index names (a gitlink, mode
/// 160000) that has a <c>.git</c>, and run a status there with that repository's own config (<c>core.fsmonitor</c>, filter
/// drivers), which enters its own submodules in turn. Which paths are submodules is the index's word, never
/// <c>.gitmodules</c>'. So, for each gitlink: a populated submodule's <c>.git</c> is read-only; any other submodule folder (not
/// initialised: empty) is read-only whole, made where missing as git's checkout makes it. A read-only mount inside a writable
/// folder guards nothing once that folder is renamed away and made again, so the submodule's folder and each folder above it
/// are mounts too (writable: a mount point cannot be renamed or removed).
/// </summary>
/// <param name="Pinned">Folders bound onto themselves, writable, outer ones first.</param>
/// <param name="Protected">Paths bound read-only.</param>
public sealed record SubmoduleMounts(IReadOnlyList<string> Pinned, IReadOnlyList<string> Protected)
{
    // Submodules of submodules, this deep at most.
    private const int MaxDepth = 8;

    // The whole index is listed (git cannot list gitlinks alone); one this large is read no further, and no sandbox is made on a guess.
    private const int ListingLimit = 64 * 1024 * 1024;

    /// <summary>Reads the index <paramref name="workTree"/> uses (and those of its populated submodules), as git finds it now.</summary>
    /// <exception cref="ApiProblem"><c>GIT_REDIRECTED</c>: a submodule's path is a symbolic link (no mount can stand for one); or
    /// the repository's git metadata leads elsewhere, or its index could not be read whole (<c>GIT_FAILED</c>).</exception>
    public static async Task<SubmoduleMounts> ReadAsync(GitCli git, string workTree, CancellationToken cancellationToken)
    {
        List<string> pinned = [];
        List<string> readOnly = [];
        await AddAsync(git, workTree, workTree, 0, pinned, readOnly, cancellationToken);
        return new SubmoduleMounts([.. pinned.Distinct(StringComparer.Ordinal)], [.. readOnly.Distinct(StringComparer.Ordinal)]);
    }

    private static async Task AddAsync(GitCli git, string workTree, string repository, int depth, List<string> pinned, List<string> readOnly,
        CancellationToken cancellationToken)
    {
        foreach (var gitlink in await GitlinksAsync(git, repository, cancellationToken))
        {
            var path = repository;
            var components = gitlink.Split('/');
            for (var i = 0; i < components.Length; i++)
            {
                path = Path.Combine(path, components[i]);
                var last = i == components.Length - 1;
                var entry = new FileInfo(path);
                if (entry.LinkTarget is not null)
                {
                    throw ApiProblem.Conflict(ErrorCodes.GitRedirected,
                        $"The repository's index names a submodule at {Path.GetRelativePath(workTree, Path.Combine(repository, gitlink))}, and " +
                        $"{Path.GetRelativePath(workTree, path)} is a symbolic link: a session's commands could put a repository of their own there, " +
                        "which your git would enter (and run what its config names) at your next git status. PocketCoder starts no sandboxed " +
                        "session here while it is a link: replace it with the folder (git submodule update --init, or remove the link and make " +
                        "an empty folder).");
                }

                if (!Directory.Exists(path) && entry.Exists)
                {
                    // A file where git expects the folder: nothing can be made beneath it while it stays.
                    readOnly.Add(path);
                    break;
                }

                // Missing: made, as git's checkout makes the folders of a submodule it does not initialise; step by step from the
                // working tree's handle (BeneathRoot), so a folder on the way swapped for a link since it was looked at is not followed.
                try
                {
                    Agents.FileSystem.BeneathRoot.CreateDirectories(workTree, Path.GetRelativePath(workTree, path));
                }
                catch (Agents.FileSystem.ConfinedIOException exception)
                {
                    throw ApiProblem.Conflict(ErrorCodes.GitRedirected,
                        $"The submodule folder {Path.GetRelativePath(workTree, path)} could not be made in place ({exception.Message}): no sandboxed session starts here until it can.");
                }

                if (!last)
                {
                    pinned.Add(path);
                    continue;
                }

                var dotGit = Path.Combine(path, ".git");
                if (new FileInfo(dotGit) is { LinkTarget: null } marker && (marker.Exists || Directory.Exists(dotGit)))
                {
                    // Populated: its files stay the agent's to edit, its .git as it is.
                    pinned.Add(path);
                    readOnly.Add(dotGit);
                    if (depth < MaxDepth)
                    {
                        await AddAsync(git, workTree, path, depth + 1, pinned, readOnly, cancellationToken);
                    }
                }
                else
                {
                    readOnly.Add(path);
                }
            }
        }
    }

    /// <summary>The gitlinks of the index git uses in <paramref name="repository"/> (relative paths); none where it is not one.</summary>
    private static async Task<List<string>> GitlinksAsync(GitCli git, string repository, CancellationToken cancellationToken)
    {
        Agents.Processes.ProcessResult listed;
        try
        {
            listed = await git.RunAsync(repository, ["ls-files", "--stage", "-z"], cancellationToken, outputLimit: ListingLimit);
        }
        catch (ApiProblem problem) when (problem.Code == ErrorCodes.GitNotInitialized)
        {
            return [];
        }

        if (listed.Truncated)
        {
            throw ApiProblem.Conflict(ErrorCodes.GitFailed,
                $"The index of {repository} lists more than {ListingLimit / 1024 / 1024} MB, so PocketCoder cannot tell which of its folders are " +
                "submodules, nor keep them from a session's commands. Run this project's sessions unsandboxed, or on a smaller checkout.");
        }

        // A submodule whose .git leads nowhere git can read: git enters it no more than we do.
        if (listed.ExitCode != 0)
        {
            return [];
        }

        List<string> gitlinks = [];
        // "<mode> <object> <stage>\t<path>"
        foreach (var entry in listed.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = entry.IndexOf('\t', StringComparison.Ordinal);
            // git never records a path with an empty, ".", ".." or ".git" part: only a hand-made index could.
            if (tab > 0 && entry.StartsWith("160000 ", StringComparison.Ordinal)
                && entry[(tab + 1)..].Split('/') is var parts && parts.All(p => p is { Length: > 0 } and not "." and not ".." && !p.Equals(".git", StringComparison.OrdinalIgnoreCase)))
            {
                gitlinks.Add(string.Join('/', parts));
            }
        }

        return gitlinks;
    }
}
