using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;

namespace PocketCoder.Workspace.Files;

public sealed record FileEntry(string Name, string Path, string Type, long? Size, DateTimeOffset ModifiedAt);

public sealed record DirectoryListing(string Path, IReadOnlyList<FileEntry> Entries, bool Truncated, int Limit);

/// <summary>
/// A text file; <c>Sha256</c> names this version, for a later write to say which version it replaces. <c>Utf8</c> is false
/// when its bytes are not valid UTF-8: they are shown with U+FFFD, and saving that text back would change them.
/// </summary>
public sealed record FileContent(string Path, string Content, long Size, DateTimeOffset ModifiedAt, string Sha256, bool Utf8);

public sealed record FileWritten(string Path, long Size, string Sha256, bool Created, DateTimeOffset ModifiedAt);

/// <summary>Lists, reads and writes files inside a project, confined by <see cref="ProjectPaths"/>.</summary>
public sealed class WorkspaceFiles(WorkspaceRoots roots, Database database, Ledger.LedgerStore ledger, Teams.Authority authority)
{
    public const int MaxListing = 10_000;
    public const long MaxReadBytes = 10 * 1024 * 1024;
    public const int MaxWriteBytes = 1024 * 1024;
    private const int BinaryProbeBytes = 8 * 1024;

    public DirectoryListing List(string projectId, string? session, string? path)
    {
        var project = roots.Get(projectId, session);
        var target = ProjectPaths.Existing(project, path);
        if (!Directory.Exists(target.Real))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotADirectory, $"'{target.Relative}' is a file, not a directory.");
        }

        using var directory = Confined(target, () => BeneathRoot.OpenDirectory(project.Path, RootRelative(project, target)));
        var entries = new List<FileEntry>();
        var truncated = false;
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0, RecurseSubdirectories = false };
        // Enumerated through the opened handle: a swap of the folder after the check cannot redirect the listing.
        foreach (var info in new DirectoryInfo(BeneathRoot.DirectoryPath(directory)).EnumerateFileSystemInfos("*", options))
        {
            if (entries.Count == MaxListing)
            {
                truncated = true;
                break;
            }

            var type = info.LinkTarget is not null ? "symlink" : info is DirectoryInfo ? "directory" : "file";
            var relative = target.Relative.Length == 0 ? info.Name : target.Relative + "/" + info.Name;
            entries.Add(new FileEntry(info.Name, relative, type, type == "file" ? ((FileInfo)info).Length : null, info.LastWriteTimeUtc));
        }

        return new DirectoryListing(target.Relative, [.. entries.OrderByDescending(e => e.Type == "directory").ThenBy(e => e.Name, StringComparer.Ordinal)],
            truncated, MaxListing);
    }

    public FileContent Read(string projectId, string? session, string? path)
    {
        var project = roots.Get(projectId, session);
        var target = ProjectPaths.Existing(project, path);
        if (Directory.Exists(target.Real))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotAFile, $"'{target.Relative}' is a directory; list it instead.");
        }

        BeneathRoot.HandleStatus status = null!;
        using var handle = Confined(target, () => BeneathRoot.OpenFileForRead(project.Path, RootRelative(project, target), out status));
        if (status.Size > MaxReadBytes)
        {
            throw new ApiProblem(StatusCodes.Status413PayloadTooLarge, ErrorCodes.FileTooLarge,
                $"'{target.Relative}' is {status.Size} bytes; files over {MaxReadBytes} bytes are not read.");
        }

        byte[] bytes;
        try
        {
            // One byte more than allowed tells a file that grew since it was measured from one that did not.
            var buffer = new byte[status.Size + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = RandomAccess.Read(handle, buffer.AsSpan(read), read)) > 0)
            {
                read += n;
            }

            if (read > MaxReadBytes)
            {
                throw new ApiProblem(StatusCodes.Status413PayloadTooLarge, ErrorCodes.FileTooLarge,
                    $"'{target.Relative}' grew past {MaxReadBytes} bytes while it was read.");
            }

            bytes = buffer[..read];
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotAFile, $"'{target.Relative}' cannot be read: {exception.Message}");
        }

        if (IsBinary(bytes))
        {
            throw new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.BinaryFile,
                $"'{target.Relative}' looks binary (it has a NUL byte in its first 8 KB); only text files are shown.");
        }

        return new FileContent(target.Relative, Encoding.UTF8.GetString(bytes), bytes.Length, status.ModifiedAt, Sha(bytes), Utf8.IsValid(bytes));
    }

    /// <summary>
    /// Writes the file. With <paramref name="replaces"/> (the <c>Sha256</c> the editor read), the write is refused with
    /// FILE_CHANGED when the file is no longer that version, so an edit made on the phone never silently undoes what the
    /// agent (or anyone) wrote since it was opened. "*" means "must exist"; an empty string means "must not exist".
    /// </summary>
    public FileWritten Write(string projectId, string? session, string? path, byte[] content, Actor actor, string? replaces = null)
    {
        var project = roots.Get(projectId, session);
        if (content.Length > MaxWriteBytes)
        {
            throw TooLargeToWrite();
        }

        // Who may write it is judged by its name first (before anything about the path is said to someone who may not)…
        authority.Ensure(actor, projectId, new Teams.WriteFile(Approvals.Policy.IsProtected(ProjectPaths.Clean(path))));
        var target = ProjectPaths.ForWrite(project, path);
        // …then by where the bytes really go: a link inside the project to .git/config is .git/config. The write below
        // follows exactly that real path, never a link swapped in after this check.
        if (Approvals.Policy.IsProtected(RootRelative(project, target).Replace('\\', '/')))
        {
            authority.Ensure(actor, projectId, new Teams.WriteFile(true));
        }
        if (replaces is not null)
        {
            var current = Confined(target, () => CurrentSha(project, target));
            var matches = replaces switch
            {
                "*" => current is not null,
                "" => current is null,
                _ => string.Equals(current, replaces, StringComparison.OrdinalIgnoreCase),
            };
            if (!matches)
            {
                throw new ApiProblem(StatusCodes.Status412PreconditionFailed, ErrorCodes.FileChanged, current is null
                    ? $"'{target.Relative}' was deleted since it was opened; nothing was written."
                    : $"'{target.Relative}' changed since it was opened (it is now version {current[..12]}); nothing was written. Reload it, or save again to replace it.")
                {
                    Fields = new Dictionary<string, object?> { ["currentSha256"] = current },
                };
            }
        }

        // Written beside the file and renamed over it (a reader never sees half a file; the mode is kept), all through
        // the verified parent folder's handle, so a folder swapped for a link after the check cannot move the write out.
        var created = Confined(target, () => BeneathRoot.ReplaceFile(project.Path, RootRelative(project, target), content));
        var modifiedAt = BeneathRoot.Probe(project.Path, RootRelative(project, target))?.ModifiedAt ?? DateTimeOffset.UtcNow;

        var sha = Sha(content);
        var written = new FileWritten(target.Relative, content.Length, sha, created, modifiedAt);
        database.Write(write => ledger.Append(write, actor.Name, "file.written", project.Id, new JsonObject
        {
            ["path"] = target.Relative,
            // Where the bytes really went, when the path led through a link inside the project.
            ["writtenTo"] = RootRelative(project, target),
            ["size"] = content.Length,
            ["sha256"] = sha,
            ["created"] = written.Created,
            ["deviceId"] = actor.Id,
        }));
        return written;
    }

    private static string Sha(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// The hash of what is at the path now, or null when nothing is; read through the confined walk. A file too large to
    /// have been opened in the editor cannot be the version it read: it gets a name no read ever returns.
    /// </summary>
    private static string? CurrentSha(Project project, ConfinedPath target)
    {
        try
        {
            using var handle = BeneathRoot.OpenFileForRead(project.Path, RootRelative(project, target), out var status);
            if (status.Size > MaxReadBytes)
            {
                return $"larger-than-{MaxReadBytes}-bytes";
            }

            using var stream = new FileStream(handle, FileAccess.Read);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (ConfinedIOException exception) when (exception.Failure == ConfinedFailure.NotFound)
        {
            return null;
        }
    }

    public static ApiProblem TooLargeToWrite() => new(StatusCodes.Status413PayloadTooLarge, ErrorCodes.FileTooLarge,
        $"Files are written up to {MaxWriteBytes} bytes.");

    /// <summary>The checked real path, relative to the (real) project root: what the confined walk follows.</summary>
    private static string RootRelative(Project project, ConfinedPath target) =>
        target.Real == project.Path ? "" : Path.GetRelativePath(project.Path, target.Real);

    /// <summary>Runs a confined open and turns its refusals into the API's problems.</summary>
    private static T Confined<T>(ConfinedPath target, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (ConfinedIOException exception)
        {
            throw exception.Failure switch
            {
                ConfinedFailure.NotFound => ApiProblem.NotFound(ErrorCodes.FileNotFound, $"Nothing at '{target.Relative}'."),
                ConfinedFailure.Moved => ApiProblem.BadRequest(ErrorCodes.OutsideProjectRoot,
                    $"'{target.Relative}' changed while it was opened (a link appeared on the way); refused."),
                ConfinedFailure.NotRegularFile => ApiProblem.BadRequest(ErrorCodes.NotARegularFile,
                    $"'{target.Relative}' is not a regular file (a FIFO, socket or device); it is neither read nor written."),
                ConfinedFailure.IsDirectory => ApiProblem.BadRequest(ErrorCodes.NotAFile, $"'{target.Relative}' is a directory."),
                ConfinedFailure.NotDirectory => ApiProblem.BadRequest(ErrorCodes.NotADirectory, $"'{target.Relative}' is a file, not a directory."),
                _ => ApiProblem.BadRequest(ErrorCodes.NotAFile, exception.Message),
            };
        }
        catch (UnauthorizedAccessException exception)
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotAFile, $"'{target.Relative}': {exception.Message}");
        }
    }

    internal static bool IsBinary(ReadOnlySpan<byte> bytes) => bytes[..Math.Min(bytes.Length, BinaryProbeBytes)].Contains((byte)0);
}
