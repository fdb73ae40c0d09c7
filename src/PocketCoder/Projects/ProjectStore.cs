using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Projects;

/// <param name="Sandbox">'sandboxed' or 'none'; null follows the server's default (<see cref="Sessions.Sandboxing"/>).</param>
/// <param name="WorktreeDefault">A new session works in a worktree of its own unless it asks otherwise.</param>
public sealed record Project(string Id, string Name, string Path, DateTimeOffset CreatedAt, int? ApprovalTimeoutSeconds, string? Sandbox = null,
    bool WorktreeDefault = false);

/// <summary>Registered project directories: the roots agents work in and files are confined to.</summary>
public sealed class ProjectStore(Database database, Ledger.LedgerStore ledger, TimeProvider clock, ProjectHooks hooks)
{
    private const string Columns = "id, name, path, created_at, approval_timeout_seconds, sandbox, worktree_default";

    /// <param name="ownerHome">What <c>~</c> at the start of <paramref name="path"/> means: the home of the server's owner, where the
    /// folder picker browses too (a phone's owner types <c>~/code</c> as they would in their shell).</param>
    public Project Add(string path, string? name, Actor actor, string? ownerHome = null)
    {
        path = WithHome(path, ownerHome);
        if (!System.IO.Path.IsPathFullyQualified(path))
        {
            throw ApiProblem.Validation($"'path' must be an absolute directory path (or one under ~/); got '{path}'.");
        }

        var full = ResolveDirectory(path);
        var project = new Project(Guid.NewGuid().ToString("N"), string.IsNullOrWhiteSpace(name) ? System.IO.Path.GetFileName(full) is { Length: > 0 } n ? n : full : name.Trim(),
            full, clock.GetUtcNow(), null);
        return database.Write(write =>
        {
            if (write.Scalar<string>("SELECT name FROM projects WHERE path = $path", ("$path", full)) is { } existing)
            {
                // Named as the owner sees it on Home, never by its internal id.
                throw ApiProblem.Conflict(ErrorCodes.ProjectExists, $"'{full}' is already added: it is the project \"{existing}\".");
            }

            write.Execute($"INSERT INTO projects ({Columns}) VALUES ($id, $name, $path, $at, NULL, NULL, 0)",
                ("$id", project.Id), ("$name", project.Name), ("$path", project.Path), ("$at", project.CreatedAt.ToDb()));
            ledger.Append(write, actor.Name, "project.added", project.Id, new JsonObject { ["path"] = project.Path, ["name"] = project.Name });
            write.AfterCommit(() => hooks.OnAdded(project));
            return project;
        });
    }

    public IReadOnlyList<Project> List() => database.Read(connection => connection.Query($"SELECT {Columns} FROM projects ORDER BY created_at", Map));

    public Project? Find(string id) => database.Read(connection =>
        connection.Query($"SELECT {Columns} FROM projects WHERE id = $id", Map, ("$id", id)).FirstOrDefault());

    public Project Get(string id) => Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.ProjectNotFound, $"No project with id '{id}'.");

    /// <summary>Renames, sets the approval timeout (null: wait as long as it takes, the default), the sandbox or the worktree default (null: unchanged).</summary>
    public Project Update(string id, string? name, bool setTimeout, int? approvalTimeoutSeconds, string? sandbox, bool? worktreeDefault, Actor actor) =>
        database.Write(write =>
    {
        var project = write.Query($"SELECT {Columns} FROM projects WHERE id = $id", Map, ("$id", id)).FirstOrDefault()
            ?? throw ApiProblem.NotFound(ErrorCodes.ProjectNotFound, $"No project with id '{id}'.");
        var updated = project with
        {
            Name = name ?? project.Name,
            ApprovalTimeoutSeconds = setTimeout ? approvalTimeoutSeconds : project.ApprovalTimeoutSeconds,
            Sandbox = sandbox ?? project.Sandbox,
            WorktreeDefault = worktreeDefault ?? project.WorktreeDefault,
        };
        write.Execute("UPDATE projects SET name = $name, approval_timeout_seconds = $timeout, sandbox = $sandbox, worktree_default = $worktree WHERE id = $id",
            ("$name", updated.Name), ("$timeout", updated.ApprovalTimeoutSeconds), ("$sandbox", updated.Sandbox), ("$worktree", updated.WorktreeDefault ? 1 : 0),
            ("$id", id));
        ledger.Append(write, actor.Name, "project.updated", id, new JsonObject
        {
            ["name"] = updated.Name,
            ["approvalTimeoutSeconds"] = updated.ApprovalTimeoutSeconds,
            ["sandbox"] = updated.Sandbox,
            ["worktreeDefault"] = updated.WorktreeDefault,
        });
        return updated;
    });

    /// <summary>Removes the project with its sessions, events and rules. The ledger keeps the record.</summary>
    public void Remove(string id, Actor actor) => database.Write(write =>
    {
        var path = write.Scalar<string>("SELECT path FROM projects WHERE id = $id", ("$id", id))
            ?? throw ApiProblem.NotFound(ErrorCodes.ProjectNotFound, $"No project with id '{id}'.");
        write.Execute("DELETE FROM projects WHERE id = $id", ("$id", id));
        ledger.Append(write, actor.Name, "project.removed", id, new JsonObject { ["path"] = path });
        write.AfterCommit(() => hooks.OnRemoved(id));
    });

    /// <summary><c>~</c> or <c>~/…</c> read as under the owner's home; any other path as given.</summary>
    public static string WithHome(string path, string? ownerHome)
    {
        var trimmed = path.Trim();
        if (ownerHome is not { Length: > 0 } home || !(trimmed == "~" || trimmed.StartsWith("~/", StringComparison.Ordinal)))
        {
            return trimmed;
        }

        return trimmed == "~" ? home : System.IO.Path.Combine(home, trimmed[2..]);
    }

    /// <summary>The directory's real path: symlinks resolved, so confinement checks compare like with like.</summary>
    private static string ResolveDirectory(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotADirectory, $"'{full}' is a file, not a directory.");
        }

        if (!Directory.Exists(full))
        {
            throw ApiProblem.BadRequest(ErrorCodes.PathNotFound, $"No directory at '{full}'.");
        }

        var real = Agents.FileSystem.RealPath.Resolve(full)
            ?? throw ApiProblem.BadRequest(ErrorCodes.PathNotFound, $"'{full}' cannot be resolved (a broken symlink?).");
        if (IsTheMachine(real))
        {
            throw ApiProblem.BadRequest(ErrorCodes.ProjectPathTooBroad,
                $"'{real}' is the whole machine or one of its system folders, not a folder of code: add the repository itself, e.g. ~/code/my-app.");
        }

        return real;
    }

    /// <summary>
    /// The root, and the kernel's own trees. A project's files are watched and listed from its root: from / that walked every
    /// file of the machine and the ever-changing /proc, and one such request (the endpoint fuzzer's) grew the server past
    /// 13 GB and held both cores.
    /// </summary>
    private static bool IsTheMachine(string real) =>
        real == "/" || SystemTrees.Any(tree => real == tree || real.StartsWith(tree + "/", StringComparison.Ordinal));

    private static readonly string[] SystemTrees = ["/proc", "/sys", "/dev", "/run", "/boot"];

    private static Project Map(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.Time(3), r.IsDBNull(4) ? null : r.GetInt32(4), r.IsDBNull(5) ? null : r.GetString(5),
            r.GetInt64(6) == 1);
}
