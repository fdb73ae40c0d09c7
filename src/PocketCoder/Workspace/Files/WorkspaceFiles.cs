using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;

namespace PocketCoder.Workspace.Files;

public sealed record FileEntry(string Name, string Path, string Type, long? Size, DateTimeOffset ModifiedAt);

public sealed record DirectoryListing(string Path, IReadOnlyList<FileEntry> Entries, bool Truncated, int Limit);

public sealed record FileContent(string Path, string Content, long Size, DateTimeOffset ModifiedAt);

public sealed record FileWritten(string Path, long Size, string Sha256, bool Created, DateTimeOffset ModifiedAt);

/// <summary>Lists, reads and writes files inside a project, confined by <see cref="ProjectPaths"/>.</summary>
public sealed class WorkspaceFiles(Projects.Projects projects, Database database, Ledger.Ledger ledger)
{
    public const int MaxListing = 10_000;
    public const long MaxReadBytes = 10 * 1024 * 1024;
    public const int MaxWriteBytes = 1024 * 1024;
    private const int BinaryProbeBytes = 8 * 1024;

    public DirectoryListing List(string projectId, string? path)
    {
        var project = projects.Get(projectId);
        var target = ProjectPaths.Existing(project, path);
        if (!Directory.Exists(target.Real))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotADirectory, $"'{target.Relative}' is a file, not a directory.");
        }

        var entries = new List<FileEntry>();
        var truncated = false;
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0, RecurseSubdirectories = false };
        foreach (var info in new DirectoryInfo(target.Real).EnumerateFileSystemInfos("*", options))
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

        entries.Sort((a, b) => (a.Type == "directory", b.Type == "directory") switch
        {
            (true, false) => -1,
            (false, true) => 1,
            _ => string.CompareOrdinal(a.Name, b.Name),
        });
        return new DirectoryListing(target.Relative, entries, truncated, MaxListing);
    }

    public FileContent Read(string projectId, string? path)
    {
        var project = projects.Get(projectId);
        var target = ProjectPaths.Existing(project, path);
        if (Directory.Exists(target.Real))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotAFile, $"'{target.Relative}' is a directory; list it instead.");
        }

        var info = new FileInfo(target.Real);
        if (info.Length > MaxReadBytes)
        {
            throw new ApiProblem(StatusCodes.Status413PayloadTooLarge, ErrorCodes.FileTooLarge,
                $"'{target.Relative}' is {info.Length} bytes; files over {MaxReadBytes} bytes are not read.");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(target.Real);
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

        return new FileContent(target.Relative, Encoding.UTF8.GetString(bytes), bytes.Length, info.LastWriteTimeUtc);
    }

    public FileWritten Write(string projectId, string? path, byte[] content, Actor actor)
    {
        var project = projects.Get(projectId);
        if (content.Length > MaxWriteBytes)
        {
            throw TooLargeToWrite();
        }

        var target = ProjectPaths.ForWrite(project, path);
        if (Directory.Exists(target.Real))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotAFile, $"'{target.Relative}' is a directory.");
        }

        // Write beside the file and rename over it, so a reader never sees half a file; keep the mode (an executable stays one).
        var temporary = Path.Combine(Path.GetDirectoryName(target.Real)!, $".{Path.GetFileName(target.Real)}.pocketcoder-{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temporary, content);
            if (target.Exists && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, File.GetUnixFileMode(target.Real));
            }

            File.Move(temporary, target.Real, overwrite: true);
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            File.Delete(temporary);
            throw ApiProblem.BadRequest(ErrorCodes.NotAFile, $"'{target.Relative}' cannot be written: {exception.Message}");
        }

        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        var written = new FileWritten(target.Relative, content.Length, sha, !target.Exists, File.GetLastWriteTimeUtc(target.Real));
        database.Write(write => ledger.Append(write, actor.Name, "file.written", project.Id, new JsonObject
        {
            ["path"] = target.Relative,
            ["size"] = content.Length,
            ["sha256"] = sha,
            ["created"] = written.Created,
            ["deviceId"] = actor.Id,
        }));
        return written;
    }

    public static ApiProblem TooLargeToWrite() => new(StatusCodes.Status413PayloadTooLarge, ErrorCodes.FileTooLarge,
        $"Files are written up to {MaxWriteBytes} bytes.");

    internal static bool IsBinary(ReadOnlySpan<byte> bytes) => bytes[..Math.Min(bytes.Length, BinaryProbeBytes)].Contains((byte)0);
}
