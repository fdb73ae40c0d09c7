using PocketCoder.Agents.FileSystem;

namespace PocketCoder.Data;

/// <summary>
/// The data folder holds the device token hashes, the pairing key, the ledger and every agent's transcript logs: only
/// its owner may enter it. Created 0700; at every start an existing one is checked — another user's folder is refused,
/// a group- or world-accessible one is narrowed (0700 for folders, 0600 for files) and what was fixed is reported.
/// </summary>
public static class DataFolder
{
    private const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OthersBits = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Makes the folder private. Returns what had to be narrowed (empty when it already was private).</summary>
    public static IReadOnlyList<string> Secure(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return [];
        }

        if (UnixFiles.Stat(path) is null)
        {
            Directory.CreateDirectory(path, PrivateFolder);
        }

        if (NotOurs(path, UnixFiles.Stat(path)!) is { } refused)
        {
            throw new IOException(refused);
        }

        var fixes = new List<string>();
        Narrow(path, PrivateFolder, fixes);
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            if (entry.LinkTarget is null)
            {
                Narrow(entry.FullName, entry is DirectoryInfo ? PrivateFolder : PrivateFile, fixes);
            }
        }

        return fixes;
    }

    /// <summary>
    /// Why PocketCoder cannot keep its data in <paramref name="path"/>, as one line that names the folder and the fix, or
    /// null when it can. A missing folder is made (0700), or with <paramref name="create"/> false only tried in its nearest
    /// existing parent (a folder made and removed again). Writing is tried rather than judged from the modes: root passes
    /// every permission check, yet a read-only mount or a path under a file stops it all the same.
    /// </summary>
    public static string? Problem(string path, bool create)
    {
        var exists = UnixFiles.Stat(path) is not null;
        try
        {
            if (!exists && !create)
            {
                var parent = NearestExisting(path);
                Directory.Delete(Directory.CreateDirectory(Path.Combine(parent, $".pocketcoder-probe-{Guid.NewGuid():N}")).FullName);
                return null;
            }

            if (!exists)
            {
                Directory.CreateDirectory(path, PrivateFolder);
            }

            if (NotOurs(path, UnixFiles.Stat(path)!) is { } refused)
            {
                return refused;
            }

            using (new FileStream(Path.Combine(path, $".pocketcoder-probe-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.Write,
                FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // .NET calls a parent that is a file "Could not find a part of the path" (and a parent that takes no folders, /proc,
            // "Could not find file"): say what is really in the way. Its other messages end with the path it tried (here a
            // probe's name): the line names the folder already.
            var blocking = NearestExisting(path);
            var reason = !exists && !Directory.Exists(blocking) ? $"{blocking} is a file, not a folder."
                : !exists && exception is FileNotFoundException or DirectoryNotFoundException ? $"{blocking} takes no new folders."
                : exception is UnauthorizedAccessException ? "permission denied."
                : exception.Message.IndexOf(" : '", StringComparison.Ordinal) is > 0 and var end ? exception.Message[..end] + "."
                : exception.Message;
            return $"The data folder {path} cannot be {(exists ? "written" : "made")}: {reason} " +
                "Fix the path or its permissions, or choose another folder with --data.";
        }
    }

    /// <summary>Creates a file only its owner can read (for files made before <see cref="Secure"/> could narrow them).</summary>
    public static void CreatePrivateFile(string path)
    {
        if (!OperatingSystem.IsWindows() && !File.Exists(path))
        {
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = PrivateFile,
            });
        }
    }

    /// <summary>
    /// Replaces a file with new content, created 0600 (never readable by others, not even for a moment) and written
    /// aside then renamed, so a reader never sees half of it.
    /// </summary>
    public static void WritePrivateFile(string path, string content)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = OperatingSystem.IsWindows() ? null : PrivateFile,
        }))
        {
            file.Write(System.Text.Encoding.UTF8.GetBytes(content));
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Why this existing path cannot be the data folder: not a folder, or someone else's.</summary>
    private static string? NotOurs(string path, UnixFiles.Status status) =>
        !status.IsDirectory ? $"The data folder {path} is not a folder. Choose another folder with --data."
        : status.Owner != UnixFiles.CurrentUser
            ? $"The data folder {path} belongs to uid {status.Owner}, not to this user (uid {UnixFiles.CurrentUser}): refusing to use it. " +
                "Run PocketCoder as the folder's owner, or choose another folder with --data."
            : null;

    private static string NearestExisting(string path)
    {
        var existing = Path.GetDirectoryName(Path.GetFullPath(path));
        while (existing is not null && UnixFiles.Stat(existing) is null)
        {
            existing = Path.GetDirectoryName(existing);
        }

        return existing ?? Path.GetPathRoot(Path.GetFullPath(path))!;
    }

    private static void Narrow(string path, UnixFileMode wanted, List<string> fixes)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & OthersBits) != 0)
        {
            File.SetUnixFileMode(path, (mode & ~OthersBits) | (wanted & mode) | (wanted & (UnixFileMode.UserRead | UnixFileMode.UserWrite)));
            fixes.Add($"{path} was {Octal(mode)}, now {Octal(File.GetUnixFileMode(path))}");
        }
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');
}
