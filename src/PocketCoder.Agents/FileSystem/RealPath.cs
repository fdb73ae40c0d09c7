using System.Runtime.InteropServices;

namespace PocketCoder.Agents.FileSystem;

/// <summary>
/// The kernel's answer to "where does this path really lead" (realpath(3)): every symlink resolved.
/// The one implementation every confinement check uses — the server's project and file paths, and the
/// file access agents ask of us — so they all compare like with like.
/// </summary>
public static partial class RealPath
{
    /// <summary>The canonical absolute path, or null when the path (or a link on it) leads nowhere.</summary>
    public static string? Resolve(string path)
    {
        var resolved = NativeRealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            NativeFree(resolved);
        }
    }

    /// <summary>
    /// The real path of <paramref name="path"/> when it lies inside <paramref name="root"/> (itself a real path, as
    /// projects store it), else null. A relative path is taken relative to the root. The path need not exist
    /// yet (a file about to be written): its nearest existing ancestor is resolved and the rest appended. A
    /// dangling symlink on the way is refused, since writing through it would create its target anywhere.
    /// </summary>
    public static string? InsideRoot(string root, string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        var probe = Path.GetFullPath(path, root);
        var missing = new Stack<string>();
        string? real;
        while ((real = Resolve(probe)) is null)
        {
            if (new FileInfo(probe).LinkTarget is not null || Path.GetDirectoryName(probe) is not { } parent)
            {
                return null;
            }

            missing.Push(Path.GetFileName(probe));
            probe = parent;
        }

        var result = missing.Count == 0 ? real : Path.Join([real, .. missing]);
        return IsWithin(result, root) ? result : null;
    }

    /// <summary>True when <paramref name="realPath"/> (already resolved) is <paramref name="realRoot"/> or below it.</summary>
    public static bool IsWithin(string realPath, string realRoot) =>
        realPath == realRoot || realPath.StartsWith(realRoot.TrimEnd('/') + "/", StringComparison.Ordinal);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void NativeFree(IntPtr pointer);
}
