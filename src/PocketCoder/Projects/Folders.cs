using System.Diagnostics;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Server;
using RealPath = PocketCoder.Agents.FileSystem.RealPath;

namespace PocketCoder.Projects;

/// <param name="Git">It holds a <c>.git</c>: a repository, the usual thing to add.</param>
/// <param name="ProjectId">The project it already is, or null.</param>
public sealed record FolderEntry(string Name, string Path, bool Git, bool Hidden, string? ProjectId);

/// <param name="Path">The folder listed, as a real path (no link on it).</param>
/// <param name="Home">The owner's home: nothing outside it is listed.</param>
/// <param name="Parent">The folder above, or null at home.</param>
/// <param name="Truncated">More folders than <see cref="Folders.MaxEntries"/>: the first by name are listed.</param>
public sealed record FolderListing(string Path, string Home, string? Parent, bool Git, string? ProjectId, IReadOnlyList<FolderEntry> Folders,
    bool Truncated);

/// <param name="Agents">The agents whose conversations worked there (ids), for a folder found that way.</param>
/// <param name="LastActivity">When it was last worked in (an agent) or added (a past project); null for a repository found on disk.</param>
public sealed record FolderSuggestion(string Path, string Name, DateTimeOffset? LastActivity, IReadOnlyList<string> Agents);

/// <param name="Recent">Folders added as projects before and since removed, newest first.</param>
/// <param name="Agents">Folders the owner's agents worked in (their own conversation stores), newest first.</param>
/// <param name="Repositories">Git repositories under home (a bounded search: <paramref name="Truncated"/> when it stopped early).</param>
public sealed record FolderSuggestions(string Home, IReadOnlyList<FolderSuggestion> Recent, IReadOnlyList<FolderSuggestion> Agents,
    IReadOnlyList<FolderSuggestion> Repositories, bool Truncated);

/// <summary>
/// Picking a project's folder on a phone without typing a server path: the owner's home (the HOME of the server process) browsed
/// one level at a time, and folders worth adding suggested. Confined to home: a path is refused when it names anything outside
/// it, uses <c>..</c>, or leads out through a link; links that leave home are not listed. Only folders are shown, never files.
/// Projects themselves may still be anywhere: a typed path is added as before (<see cref="ProjectStore.Add"/>).
/// </summary>
public sealed class Folders(PocketCoderOptions options, ProjectStore projects, AgentRegistry agents, Database database, ILogger<Folders> logger)
{
    public const int MaxEntries = 1000;
    private const int MaxSuggestions = 20;
    private const int MaxDepth = 4;
    private const int MaxVisited = 20_000;
    private static readonly TimeSpan ScanBudget = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AgentBudget = TimeSpan.FromSeconds(6);

    // Folders that hold dependencies or build output, never a project of the owner's own: not searched for repositories.
    private static readonly HashSet<string> Skipped = new(StringComparer.Ordinal)
    {
        "node_modules", "bower_components", "vendor", "target", "bin", "obj", "dist", "build", "__pycache__", "venv", "snap", "go",
    };

    private static readonly EnumerationOptions Listing = new()
    {
        IgnoreInaccessible = true,
        AttributesToSkip = 0,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    /// <summary>The home's real path, or a refusal when the server has no usable home.</summary>
    private string Home() =>
        RealPath.Resolve(options.OwnerHome) is { } home && Directory.Exists(home)
            ? home
            : throw ApiProblem.NotFound(ErrorCodes.PathNotFound, "The server's home folder does not exist: type the folder's path instead.");

    public FolderListing List(string? path, bool hidden)
    {
        var home = Home();
        var folder = Resolve(home, System.IO.Path.GetFullPath(options.OwnerHome), path);
        var registered = Registered();
        var entries = new List<FolderEntry>();
        var truncated = false;
        try
        {
            foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos("*", Listing).OrderBy(e => e.Name, StringComparer.OrdinalIgnoreCase))
            {
                var isHidden = entry.Name.StartsWith('.');
                if (isHidden && !hidden)
                {
                    continue;
                }

                var child = System.IO.Path.Combine(folder, entry.Name);
                // A link is listed only when it leads to a folder inside home, under the name it has here.
                var real = entry.LinkTarget is null ? (entry is DirectoryInfo ? child : null) : RealPath.Resolve(child);
                if (real is null || !Directory.Exists(real) || !IsInside(home, real))
                {
                    continue;
                }

                if (entries.Count == MaxEntries)
                {
                    truncated = true;
                    break;
                }

                entries.Add(new FolderEntry(entry.Name, child, IsRepository(real), isHidden, registered.GetValueOrDefault(real)));
            }
        }
        catch (UnauthorizedAccessException)
        {
            throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.FolderUnreadable, $"The server may not read '{folder}'.");
        }

        var parent = folder == home ? null : System.IO.Path.GetDirectoryName(folder);
        return new FolderListing(folder, home, parent, IsRepository(folder), registered.GetValueOrDefault(folder), entries, truncated);
    }

    /// <summary>
    /// A requested folder's real path. Refused: <c>..</c> anywhere (INVALID_PATH), anything outside home, a link on the way that
    /// leaves it (OUTSIDE_HOME), what does not exist (PATH_NOT_FOUND) or is no folder (NOT_A_DIRECTORY). A relative path is under home.
    /// </summary>
    /// <param name="givenHome">HOME as the server was given it, which may run through a link (/home -> /usr/home): a path spelled
    /// that way is inside too, and is then resolved and checked against the real home.</param>
    private static string Resolve(string home, string givenHome, string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "~")
        {
            return home;
        }

        if (path.Contains('\0', StringComparison.Ordinal) || path.Length > 4096)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, "'path' is not a usable path.");
        }

        if (path.Split('/').Contains(".."))
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, "'path' may not contain '..': name the folder itself, inside home.");
        }

        var relative = path.StartsWith("~/", StringComparison.Ordinal) ? path[2..] : path;
        var full = System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(relative) ? relative : System.IO.Path.Combine(home, relative));
        if (!IsInside(home, full) && !IsInside(givenHome, full))
        {
            throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.OutsideHome, $"'{path}' is outside the home folder, which is all that can be browsed.");
        }

        if (File.Exists(full))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotADirectory, $"'{path}' is a file, not a folder.");
        }

        var real = Directory.Exists(full) ? RealPath.Resolve(full) : null;
        if (real is null)
        {
            throw ApiProblem.NotFound(ErrorCodes.PathNotFound, $"No folder at '{path}'.");
        }

        return IsInside(home, real)
            ? real
            : throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.OutsideHome, $"'{path}' leads outside the home folder (through a link).");
    }

    private static bool IsInside(string root, string path) =>
        path == root || path.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal);

    private static bool IsRepository(string folder)
    {
        var git = System.IO.Path.Combine(folder, ".git");
        return Directory.Exists(git) || File.Exists(git);
    }

    /// <summary>Registered projects by their (real) path.</summary>
    private Dictionary<string, string> Registered() =>
        projects.List().DistinctBy(p => p.Path, StringComparer.Ordinal).ToDictionary(p => p.Path, p => p.Id, StringComparer.Ordinal);

    public async Task<FolderSuggestions> SuggestAsync(CancellationToken cancellationToken)
    {
        var home = Home();
        var registered = Registered();
        var fromAgents = AgentFoldersAsync(cancellationToken);
        var (repositories, truncated) = await Task.Run(() => Repositories(home, cancellationToken), cancellationToken);
        var agentFolders = await fromAgents;

        // Each folder once, in the first list that has it; only folders that exist inside home and are no project yet.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        // What an agent's conversation store says is only a hint: an allowed command can write a transcript naming any folder
        // and any date. A hidden folder (~/.ssh, ~/.config) or PocketCoder's own data is never suggested, a date is never
        // later than now (one from 2099 would stay first), and the path is checked as text before it is touched.
        var now = DateTimeOffset.UtcNow;
        var data = RealPath.Resolve(options.DataDirectory) ?? options.DataDirectory;
        List<FolderSuggestion> Keep(IEnumerable<FolderSuggestion> candidates) =>
        [
            .. candidates
                .Where(s => System.IO.Path.IsPathRooted(s.Path) && (IsInside(home, s.Path) || IsInside(options.OwnerHome, s.Path)))
                .Select(s => RealPath.Resolve(s.Path) is { } real && Directory.Exists(real) ? s with { Path = real, Name = Name(home, real) } : null)
                .OfType<FolderSuggestion>()
                .Where(s => IsInside(home, s.Path) && s.Path != home && !registered.ContainsKey(s.Path) && !IsHidden(home, s.Path)
                    && (!IsInside(data, s.Path) || IsInside(data, home)) && seen.Add(s.Path))
                .Select(s => s.LastActivity > now ? s with { LastActivity = now } : s)
                .Take(MaxSuggestions),
        ];

        var recent = Keep(Recent());
        var worked = Keep(agentFolders);
        return new FolderSuggestions(home, recent, worked, Keep(repositories), truncated);
    }

    private static string Name(string home, string path) => System.IO.Path.GetRelativePath(home, path);

    private static bool IsHidden(string home, string path) => Name(home, path).Split('/').Any(part => part.StartsWith('.'));

    /// <summary>Folders once added as projects, from the ledger, newest first.</summary>
    internal const string RecentSql = "SELECT at, detail FROM ledger WHERE action = 'project.added' ORDER BY seq DESC LIMIT 200";

    private IEnumerable<FolderSuggestion> Recent() =>
        database.Read(c => c.Query(RecentSql,
            r => (At: r.Time(0), Detail: r.GetString(1))))
        .Select(e =>
        {
            try
            {
                using var detail = JsonDocument.Parse(e.Detail);
                return detail.RootElement.TryGetProperty("path", out var p) && p.GetString() is { } path
                    ? new FolderSuggestion(path, path, e.At, [])
                    : null;
            }
            catch (JsonException)
            {
                return null;
            }
        })
        .OfType<FolderSuggestion>();

    /// <summary>Every agent with a conversation store asked at once, each within a time budget; one that fails is left out.</summary>
    private async Task<IReadOnlyList<FolderSuggestion>> AgentFoldersAsync(CancellationToken cancellationToken)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(AgentBudget);
        var perAgent = await Task.WhenAll(agents.All.OfType<IAgentFolders>().Select(async store =>
        {
            var id = ((IAgentAdapter)store).Id;
            try
            {
                var found = await Task.Run(() => store.ListFoldersAsync(MaxSuggestions * 2, budget.Token), budget.Token);
                return found.Select(f => (Agent: id, Folder: f));
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogInformation("{Agent}'s folders could not be listed for suggestions: {Reason}", id, exception.Message);
                return [];
            }
        }));
        return [.. perAgent.SelectMany(f => f)
            .GroupBy(f => f.Folder.Path, StringComparer.Ordinal)
            .Select(g => new FolderSuggestion(g.Key, g.Key, g.Max(f => f.Folder.LastActivity), [.. g.Select(f => f.Agent).Distinct()]))
            .OrderByDescending(s => s.LastActivity)];
    }

    /// <summary>
    /// Git repositories under home, breadth first (the shallow ones are the likely ones): hidden folders, links and dependency
    /// folders are not entered, nor is a repository (its subfolders are its own), and the search stops at a depth, a number of
    /// folders and a time, whichever comes first.
    /// </summary>
    private static (List<FolderSuggestion> Found, bool Truncated) Repositories(string home, CancellationToken cancellationToken)
    {
        var found = new List<FolderSuggestion>();
        var clock = Stopwatch.StartNew();
        var queue = new Queue<(string Path, int Depth)>();
        queue.Enqueue((home, 0));
        var visited = 0;
        while (queue.TryDequeue(out var folder))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (++visited > MaxVisited || clock.Elapsed > ScanBudget || found.Count >= MaxSuggestions * 2)
            {
                return (found, true);
            }

            IEnumerable<DirectoryInfo> children;
            try
            {
                children = new DirectoryInfo(folder.Path).EnumerateDirectories("*", Listing).ToList();
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var child in children.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase))
            {
                if (child.Name.StartsWith('.') || Skipped.Contains(child.Name) || child.LinkTarget is not null)
                {
                    continue;
                }

                if (IsRepository(child.FullName))
                {
                    found.Add(new FolderSuggestion(child.FullName, child.Name, null, []));
                }
                else if (folder.Depth + 1 < MaxDepth)
                {
                    queue.Enqueue((child.FullName, folder.Depth + 1));
                }
            }
        }

        return (found, false);
    }
}
