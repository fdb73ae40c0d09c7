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

    /// <summary>True when <paramref name="realPath"/> (already resolved) is <paramref name="realRoot"/> or below it.</summary>
    public static bool IsWithin(string realPath, string realRoot) =>
        realPath == realRoot || realPath.StartsWith(realRoot.TrimEnd('/') + "/", StringComparison.Ordinal);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void NativeFree(IntPtr pointer);
}
