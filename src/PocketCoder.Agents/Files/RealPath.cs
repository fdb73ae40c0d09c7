namespace PocketCoder.Agents.Files;

/// <summary>
/// The canonical path of something on disk: every symlink on the way resolved, like realpath(3).
/// Confinement checks compare real paths only, so a link anywhere in a path cannot smuggle it outside.
/// The one implementation: the server's project paths and the agents' client-side file access both use it.
/// </summary>
public static class RealPath
{
    private const int MaxLinks = 40; // As the kernel's ELOOP limit.

    /// <summary>
    /// Resolves every existing component; components that do not exist yet (a file about to be written)
    /// are appended as they are. Throws <see cref="IOException"/> on a symlink loop.
    /// </summary>
    public static string Resolve(string path)
    {
        var links = 0;
        return Resolve(Path.GetFullPath(path), ref links);
    }

    /// <summary>
    /// The real path of <paramref name="path"/> when it lies inside <paramref name="root"/> (itself a real path, as
    /// projects store it), else null. A relative path is taken relative to the root; <c>..</c>, symlinks and
    /// symlink loops cannot lead outside.
    /// </summary>
    public static string? InsideRoot(string root, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (string.IsNullOrEmpty(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        string real;
        try
        {
            real = Resolve(Path.GetFullPath(path, root));
        }
        catch (IOException)
        {
            return null;
        }

        var trimmedRoot = root.Length > 1 ? root.TrimEnd('/') : root;
        return real == trimmedRoot || real.StartsWith(trimmedRoot == "/" ? "/" : trimmedRoot + "/", StringComparison.Ordinal) ? real : null;
    }

    private static string Resolve(string fullPath, ref int links)
    {
        var result = "/";
        var parts = fullPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Join(result, parts[i]);
            var info = new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxLinks)
                {
                    throw new IOException($"Too many levels of symbolic links in '{fullPath}'.");
                }

                // A relative target is relative to the link's own directory, which is already real.
                next = Resolve(Path.GetFullPath(target, result), ref links);
            }
            else if (!info.Exists && !Directory.Exists(next))
            {
                // The rest does not exist yet: nothing more to resolve.
                return Path.Join([next, .. parts[(i + 1)..]]);
            }

            result = next;
        }

        return result;
    }
}
