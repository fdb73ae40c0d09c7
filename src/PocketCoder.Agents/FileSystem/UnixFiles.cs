using System.Runtime.InteropServices;

namespace PocketCoder.Agents.FileSystem;

/// <summary>
/// Owner and mode of a path without following a final symlink, and this process's user: what a private
/// directory check needs and .NET does not expose. statx(2) is used because its struct has one layout on every
/// architecture, unlike stat(2).
/// </summary>
public static partial class UnixFiles
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxUidOffset = 20;
    private const int StatxModeOffset = 28;
    private const int StatxInodeOffset = 32;
    private const int StatxCtimeOffset = 96;
    private const int SIfmt = 0xF000;
    private const int SIfdir = 0x4000;
    private const int SIfreg = 0x8000;

    /// <param name="IsRegularFile">A plain file: not a directory, link, FIFO or device (reading a FIFO would wait for a writer).</param>
    /// <param name="Changed">Its inode and status-change time (ctime): any write or metadata change moves the time, and no
    /// call can set it back (unlike the modification time, which <c>touch -d</c> sets), so together they say "unchanged".</param>
    public sealed record Status(uint Owner, int Permissions, bool IsDirectory, bool IsRegularFile = false, (ulong Inode, long Seconds, uint Nanoseconds) Changed = default);

    public static uint CurrentUser => GetEffectiveUserId();

    /// <summary>The path's own owner and permission bits (a symlink is reported as itself), or null when it does not exist.</summary>
    public static Status? Stat(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (NativeStatx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return null;
        }

        var owner = BitConverter.ToUInt32(buffer[StatxUidOffset..]);
        var mode = BitConverter.ToUInt16(buffer[StatxModeOffset..]);
        var changed = (BitConverter.ToUInt64(buffer[StatxInodeOffset..]), BitConverter.ToInt64(buffer[StatxCtimeOffset..]),
            BitConverter.ToUInt32(buffer[(StatxCtimeOffset + 8)..]));
        return new Status(owner, mode & 0xFFF, (mode & SIfmt) == SIfdir, (mode & SIfmt) == SIfreg, changed);
    }

    /// <summary>
    /// A directory only this user can use: created 0700 if missing, and so is each missing folder above it; an existing
    /// one must be a real directory (not a link) owned by this user, and is narrowed to 0700. Anything else is refused —
    /// someone else could read or replace what we put there.
    /// </summary>
    public static string EnsurePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("PocketCoder runs on Linux.");
        }

        // Directory.CreateDirectory gives its mode to the last folder only: the ones it makes above it would get the
        // umask's (0755), so each missing one is made in turn, from the top.
        var missing = new Stack<string>();
        for (var folder = Path.GetFullPath(path); Stat(folder) is null && Path.GetDirectoryName(folder) is { } parent; folder = parent)
        {
            missing.Push(folder);
        }

        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            // Made by someone else between our look and our mkdir (which then succeeds quietly): nothing goes below it.
            if (Stat(folder) is not { IsDirectory: true } made || made.Owner != CurrentUser)
            {
                throw new IOException($"{folder} is not a directory owned by this user (uid {CurrentUser}); refusing to use it.");
            }
        }

        var status = Stat(path) ?? throw new IOException($"{path} could not be created.");
        if (!status.IsDirectory || status.Owner != CurrentUser)
        {
            throw new IOException($"{path} is not a directory owned by this user (uid {CurrentUser}); refusing to use it.");
        }

        if (status.Permissions != 0x1C0)
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeStatx(int dirfd, string path, int flags, uint mask, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
