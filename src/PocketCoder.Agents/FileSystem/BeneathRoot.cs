using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PocketCoder.Agents.FileSystem;

/// <summary>Why a confined open refused.</summary>
public enum ConfinedFailure
{
    /// <summary>Nothing there.</summary>
    NotFound,

    /// <summary>A symlink (or a swap that put one there) lies on the way: the path no longer leads where it was checked to.</summary>
    Moved,

    /// <summary>A FIFO, socket or device: reading could block for ever or reach hardware.</summary>
    NotRegularFile,

    /// <summary>A directory was needed.</summary>
    NotDirectory,

    /// <summary>A file was needed, a directory is there.</summary>
    IsDirectory,

    /// <summary>Any other refusal from the kernel (permissions, a full disk).</summary>
    Io,
}

public sealed class ConfinedIOException(ConfinedFailure failure, string message) : IOException(message)
{
    public ConfinedFailure Failure { get; } = failure;
}

/// <summary>
/// File I/O under a project root with no window between check and use. Callers resolve and check a path first
/// (RealPath); the I/O then walks that already-real, root-relative path one component at a time from a handle
/// of the root, each step <c>openat(O_NOFOLLOW)</c> relative to the directory handle before it. A directory swapped
/// for a symlink after the check (the renameat2 RENAME_EXCHANGE race) makes the walk fail instead of leaving the
/// project, and reads, temp files and renames all happen relative to the verified parent handle. The kind of file is
/// judged on the opened handle (fstat), so a FIFO is never read and a device never opened for I/O.
/// Used by the files API and by the ACP agents' fs/* requests alike.
/// </summary>
public static partial class BeneathRoot
{
    private const int ORdOnly = 0;
    private const int OWrOnly = 1;
    private const int OCreat = 0x40;
    private const int OExcl = 0x80;
    private const int ONoctty = 0x100;
    private const int ONonblock = 0x800;
    private const int OCloexec = 0x80000;
    private const int OPath = 0x200000;
    private const int Eloop = 40;
    private const int Enoent = 2;
    private const int Enotdir = 20;
    private const int Eisdir = 21;
    private const int Enxio = 6;
    private const int Eexist = 17;
    private const int Enotempty = 39;
    private const int AtEmptyPath = 0x1000;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtRemoveDir = 0x200;

    // The only flags whose values differ between the architectures .NET runs Linux on.
    private static readonly int ODirectory = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;
    private static readonly int ONofollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>What <c>fstat</c> says of an opened handle.</summary>
    public sealed record HandleStatus(bool IsRegularFile, bool IsDirectory, long Size, int Permissions, DateTimeOffset ModifiedAt);

    /// <summary>Opens a regular file for reading. <paramref name="relative"/> is root-relative with '/' separators, already real.</summary>
    public static SafeFileHandle OpenFileForRead(string root, string relative, out HandleStatus status)
    {
        using var parent = OpenParent(root, relative, out var name);
        // O_NONBLOCK: opening a FIFO must not wait for a writer; the kind is checked before anything is read.
        var handle = OpenAt(parent, name, ORdOnly | ONonblock | ONoctty | ONofollow | OCloexec, relative);
        status = Stat(handle);
        if (status.IsDirectory)
        {
            handle.Dispose();
            throw new ConfinedIOException(ConfinedFailure.IsDirectory, $"'{relative}' is a directory.");
        }

        if (!status.IsRegularFile)
        {
            handle.Dispose();
            throw NotRegular(relative);
        }

        return handle;
    }

    /// <summary>Opens a directory for listing; its entries are read through <see cref="DirectoryPath"/>.</summary>
    public static SafeFileHandle OpenDirectory(string root, string relative)
    {
        if (relative.Length == 0)
        {
            return OpenRoot(root, OPath | ODirectory);
        }

        using var parent = OpenParent(root, relative, out var name);
        var handle = OpenAt(parent, name, OPath | ODirectory | ONofollow | OCloexec, relative);
        return handle;
    }

    /// <summary>
    /// A path that names exactly the opened directory (the kernel's /proc/self/fd link), for enumerating it with the
    /// ordinary APIs: whatever is renamed or swapped at its old path afterwards, this still reaches the same directory.
    /// </summary>
    public static string DirectoryPath(SafeFileHandle directory) => $"/proc/self/fd/{directory.DangerousGetHandle()}";

    /// <summary>What is at the path now, without following a final symlink; null when nothing is.</summary>
    public static HandleStatus? Probe(string root, string relative)
    {
        try
        {
            if (relative.Length == 0)
            {
                using var rootHandle = OpenRoot(root, OPath | ODirectory);
                return Stat(rootHandle);
            }

            using var parent = OpenParent(root, relative, out var name);
            using var handle = OpenAt(parent, name, OPath | ONofollow | OCloexec, relative);
            return Stat(handle);
        }
        catch (ConfinedIOException exception) when (exception.Failure == ConfinedFailure.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Replaces (or creates) a regular file atomically: a temp file made beside it through the verified parent handle,
    /// then renamed over it relative to the same handle. An existing file keeps its permission bits; anything there
    /// that is not a regular file is refused. Returns whether the file was created.
    /// </summary>
    /// <param name="newFileMode">The permission bits of a file that did not exist (0644, narrowed by the umask, when null).</param>
    /// <param name="modifiedAt">Its modification time, where it must say when the content it copies was written.</param>
    public static bool ReplaceFile(string root, string relative, ReadOnlySpan<byte> content, int? newFileMode = null, DateTimeOffset? modifiedAt = null)
    {
        using var parent = OpenParent(root, relative, out var name);
        var existing = StatAt(parent, name);
        if (existing is { IsDirectory: true })
        {
            throw new ConfinedIOException(ConfinedFailure.IsDirectory, $"'{relative}' is a directory.");
        }

        if (existing is { IsRegularFile: false })
        {
            throw NotRegular(relative);
        }

        var temporary = $".{name}.pocketcoder-{Guid.NewGuid():N}.tmp";
        var mode = existing?.Permissions ?? newFileMode ?? 0x1A4; // 0644, narrowed by the umask as any new file is
        var fd = NativeOpenAt(parent, temporary, OWrOnly | OCreat | OExcl | ONofollow | OCloexec, (uint)mode);
        if (fd < 0)
        {
            throw Failure(Marshal.GetLastPInvokeError(), relative);
        }

        try
        {
            using (var handle = new SafeFileHandle(fd, ownsHandle: true))
            {
                if (existing is not null && NativeFchmod(handle, (uint)existing.Permissions) != 0)
                {
                    throw Failure(Marshal.GetLastPInvokeError(), relative);
                }

                RandomAccess.Write(handle, content, 0);
                RandomAccess.FlushToDisk(handle);
                if (modifiedAt is { } at)
                {
                    var seconds = at.ToUnixTimeSeconds();
                    long[] times = [seconds, (at.UtcTicks % TimeSpan.TicksPerSecond) * 100, seconds, (at.UtcTicks % TimeSpan.TicksPerSecond) * 100];
                    if (NativeFutimens(handle, times) != 0)
                    {
                        throw Failure(Marshal.GetLastPInvokeError(), relative);
                    }
                }
            }

            if (NativeRenameAt(parent, temporary, parent, name) != 0)
            {
                throw Failure(Marshal.GetLastPInvokeError(), relative);
            }
        }
        catch
        {
            _ = NativeUnlinkAt(parent, temporary, 0);
            throw;
        }

        return existing is null;
    }

    /// <summary>Removes what is at the path (a file, a link, an empty folder), found through its verified parent; nothing there is fine.</summary>
    public static void RemoveEntry(string root, string relative)
    {
        using var parent = OpenParent(root, relative, out var name);
        if (NativeUnlinkAt(parent, name, 0) != 0 && NativeUnlinkAt(parent, name, AtRemoveDir) != 0 && Marshal.GetLastPInvokeError() != Enoent)
        {
            throw Failure(Marshal.GetLastPInvokeError(), relative);
        }
    }

    /// <summary>
    /// Removes a file or a symlink itself (never what a link points to), found through its verified parent; a directory is
    /// left where it is. Returns whether something was removed; nothing there is fine. A folder on the way that is now a link
    /// is not followed: the walk refuses (<see cref="ConfinedFailure.Moved"/>), as for any other path.
    /// </summary>
    public static bool RemoveFileOrLink(string root, string relative)
    {
        using var parent = OpenParent(root, relative, out var name);
        if (NativeUnlinkAt(parent, name, 0) == 0)
        {
            return true;
        }

        var error = Marshal.GetLastPInvokeError();
        return error is Enoent or Eisdir ? false : throw Failure(error, relative);
    }

    /// <summary>Removes a directory if it is empty (rmdir never follows a link: a link there is left); returns whether it did.</summary>
    public static bool RemoveEmptyDirectory(string root, string relative)
    {
        using var parent = OpenParent(root, relative, out var name);
        if (NativeUnlinkAt(parent, name, AtRemoveDir) == 0)
        {
            return true;
        }

        var error = Marshal.GetLastPInvokeError();
        return error is Enoent or Enotdir or Enotempty or Eexist ? false : throw Failure(error, relative);
    }

    /// <summary>
    /// Makes way for something to be written at the path by a writer that walks it by name (git): each folder on the way must
    /// be a real directory, so a symlink or file where one is needed is removed (the link itself, never its target), and a
    /// symlink or empty directory at the path itself goes too. Every step is taken relative to the handle of the directory
    /// before it, with O_NOFOLLOW; a non-empty directory at the path is left for the writer to refuse or replace.
    /// </summary>
    public static void MakeWayFor(string root, string relative)
    {
        var components = Components(relative);
        var current = OpenRoot(root, OPath | ODirectory);
        try
        {
            for (var i = 0; i < components.Count; i++)
            {
                var last = i == components.Count - 1;
                var status = StatAt(current, components[i]);
                if (status is null)
                {
                    return;
                }

                if (!status.IsDirectory)
                {
                    // A link (to a folder or not), a file, a FIFO where a folder must be, or a link at the path itself: unlinked.
                    if ((!last || !status.IsRegularFile) && NativeUnlinkAt(current, components[i], 0) != 0 && Marshal.GetLastPInvokeError() != Enoent)
                    {
                        throw Failure(Marshal.GetLastPInvokeError(), relative);
                    }

                    return;
                }

                if (last)
                {
                    _ = NativeUnlinkAt(current, components[i], AtRemoveDir); // only when empty; else the writer decides
                    return;
                }

                var next = OpenAt(current, components[i], OPath | ODirectory | ONofollow | OCloexec, relative);
                current.Dispose();
                current = next;
            }
        }
        finally
        {
            current.Dispose();
        }
    }

    /// <summary>Creates the missing directories of a root-relative path, each made and entered through its parent's handle.</summary>
    public static void CreateDirectories(string root, string relative)
    {
        var current = OpenRoot(root, OPath | ODirectory);
        try
        {
            foreach (var component in Components(relative))
            {
                var fd = NativeOpenAt(current, component, OPath | ODirectory | ONofollow | OCloexec, 0);
                if (fd < 0 && Marshal.GetLastPInvokeError() == Enoent)
                {
                    _ = NativeMkdirAt(current, component, 0x1ED); // 0755, narrowed by the umask
                    fd = NativeOpenAt(current, component, OPath | ODirectory | ONofollow | OCloexec, 0);
                }

                if (fd < 0)
                {
                    throw Failure(Marshal.GetLastPInvokeError(), relative);
                }

                current.Dispose();
                current = new SafeFileHandle(fd, ownsHandle: true);
            }
        }
        finally
        {
            current.Dispose();
        }
    }

    private static SafeFileHandle OpenParent(string root, string relative, out string name)
    {
        var components = Components(relative);
        if (components.Count == 0)
        {
            throw new ConfinedIOException(ConfinedFailure.IsDirectory, "The project root is a directory.");
        }

        name = components[^1];
        var current = OpenRoot(root, OPath | ODirectory);
        for (var i = 0; i < components.Count - 1; i++)
        {
            var next = OpenAt(current, components[i], OPath | ODirectory | ONofollow | OCloexec, relative);
            current.Dispose();
            current = next;
        }

        return current;
    }

    private static SafeFileHandle OpenRoot(string root, int flags)
    {
        // The root is stored as a real path, so a symlink at its end can only be a swap: refuse it too.
        var fd = NativeOpen(root, flags | ONofollow | OCloexec, 0);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Failure(Marshal.GetLastPInvokeError(), "the project root");
    }

    private static SafeFileHandle OpenAt(SafeFileHandle directory, string name, int flags, string relative)
    {
        var fd = NativeOpenAt(directory, name, flags, 0);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Failure(Marshal.GetLastPInvokeError(), relative);
    }

    private static List<string> Components(string relative)
    {
        var components = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (components.Any(c => c is "." or ".."))
        {
            throw new ConfinedIOException(ConfinedFailure.Moved, $"'{relative}' is not a clean relative path.");
        }

        return [.. components];
    }

    private static HandleStatus Stat(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[256];
        return NativeStatx(handle, "", AtEmptyPath, 0x7ff, ref MemoryMarshal.GetReference(buffer)) == 0
            ? Parse(buffer)
            : throw Failure(Marshal.GetLastPInvokeError(), "an opened file");
    }

    private static HandleStatus? StatAt(SafeFileHandle directory, string name)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (NativeStatx(directory, name, AtSymlinkNoFollow, 0x7ff, ref MemoryMarshal.GetReference(buffer)) == 0)
        {
            return Parse(buffer);
        }

        var error = Marshal.GetLastPInvokeError();
        return error == Enoent ? null : throw Failure(error, name);
    }

    // struct statx: stx_mode (u16) at 28, stx_size (u64) at 40, stx_mtime (i64 seconds, u32 nanoseconds) at 112.
    private static HandleStatus Parse(ReadOnlySpan<byte> buffer)
    {
        var mode = BitConverter.ToUInt16(buffer[28..]);
        var type = mode & 0xF000;
        var size = (long)BitConverter.ToUInt64(buffer[40..]);
        var seconds = BitConverter.ToInt64(buffer[112..]);
        var nanoseconds = BitConverter.ToUInt32(buffer[120..]);
        var modified = DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds / 100);
        return new HandleStatus(type == 0x8000, type == 0x4000, size, mode & 0xFFF, modified);
    }

    private static ConfinedIOException NotRegular(string relative) =>
        new(ConfinedFailure.NotRegularFile, $"'{relative}' is not a regular file (a FIFO, socket or device); it is not opened.");

    private static ConfinedIOException Failure(int errno, string relative) => errno switch
    {
        Enoent => new(ConfinedFailure.NotFound, $"Nothing at '{relative}'."),
        Eloop => new(ConfinedFailure.Moved, $"'{relative}' changed while it was opened (a symlink appeared on the way); refused."),
        Enotdir => new(ConfinedFailure.Moved, $"'{relative}' changed while it was opened (a folder on the way is not a folder); refused."),
        Eisdir => new(ConfinedFailure.IsDirectory, $"'{relative}' is a directory."),
        Enxio => new(ConfinedFailure.NotRegularFile, $"'{relative}' is not a regular file."),
        _ => new(ConfinedFailure.Io, $"'{relative}': {Marshal.GetPInvokeErrorMessage(errno)}"),
    };

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeOpen(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeOpenAt(SafeFileHandle directory, string name, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeStatx(SafeFileHandle directory, string name, int flags, uint mask, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "renameat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeRenameAt(SafeFileHandle oldDirectory, string oldName, SafeFileHandle newDirectory, string newName);

    [LibraryImport("libc", EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeUnlinkAt(SafeFileHandle directory, string name, int flags);

    [LibraryImport("libc", EntryPoint = "mkdirat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeMkdirAt(SafeFileHandle directory, string name, uint mode);

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int NativeFutimens(SafeFileHandle handle, long[] times);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int NativeFchmod(SafeFileHandle handle, uint mode);
}
