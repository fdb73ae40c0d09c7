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

        var status = UnixFiles.Stat(path)!;
        if (!status.IsDirectory)
        {
            throw new IOException($"The data folder {path} is not a directory.");
        }

        if (status.Owner != UnixFiles.CurrentUser)
        {
            throw new IOException(
                $"The data folder {path} belongs to uid {status.Owner}, not to this user (uid {UnixFiles.CurrentUser}): refusing to use it. " +
                "Run PocketCoder as the folder's owner, or choose another folder with --data.");
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
