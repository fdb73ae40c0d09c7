using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;

namespace PocketCoder.Workspace;

/// <summary>
/// Where a files, git or commands request acts: the project's folder, or — with <c>?session=ID</c> — that session's own
/// worktree (issue #16: a session on a branch of its own is browsed, diffed, committed and built where its agent works).
/// The session must belong to the project; a worktree that was removed or deleted is an error, never the project instead.
/// Every confinement check then runs against that root, exactly as for the project.
/// </summary>
public sealed class WorkspaceRoots(ProjectStore projects, Sessions.SessionStore sessions, Database database)
{
    /// <summary>The project, with <see cref="Project.Path"/> the session's worktree when <paramref name="sessionId"/> is given.</summary>
    /// <exception cref="ApiProblem"><c>SESSION_NOT_FOUND</c> (404) for a session of another project; <c>WORKTREE_NOT_FOUND</c> (404)
    /// for a session without a worktree of its own; <c>WORKTREE_UNAVAILABLE</c> (409) once it is gone, while it is being made, or when
    /// it could not be made.</exception>
    public Project Get(string projectId, string? sessionId)
    {
        var project = projects.Get(projectId);
        if (sessionId is null)
        {
            return project;
        }

        if (sessions.Find(sessionId) is not { } session || session.ProjectId != project.Id)
        {
            throw ApiProblem.NotFound(ErrorCodes.SessionNotFound, $"Project {project.Id} has no session '{sessionId}'.");
        }

        // Read here rather than through SessionWorktrees, which itself depends on the git workspace this serves.
        var worktree = database.Read(c => c.Query("SELECT path, branch, removed_at FROM session_worktrees WHERE session_id = $s",
            r => (Path: r.GetString(0), Branch: r.GetString(1), Removed: !r.IsDBNull(2)), ("$s", session.Id))).FirstOrDefault();
        if (worktree.Path is null && database.Read(c => c.Query("SELECT failed FROM session_preparations WHERE session_id = $s",
                r => r.IsDBNull(0) ? "" : r.GetString(0), ("$s", session.Id))).FirstOrDefault() is { } failed)
        {
            throw ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable, failed.Length == 0
                ? $"Session {session.Id}'s worktree is still being made: try again when it is ready."
                : $"Session {session.Id}'s worktree could not be made ({failed}).");
        }

        if (worktree.Path is null)
        {
            throw ApiProblem.NotFound(ErrorCodes.WorktreeNotFound, $"Session {session.Id} does not work in a worktree of its own: leave out 'session'.");
        }

        if (worktree.Removed || !Directory.Exists(worktree.Path))
        {
            throw ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable,
                $"Session {session.Id} worked in a worktree that is gone ({worktree.Path}); its branch {worktree.Branch} remains.");
        }

        return project with { Path = worktree.Path };
    }
}
