namespace PocketCoder.Agents.Processes;

/// <summary>
/// What a sandbox sees, read from the bubblewrap arguments that make it: each mount in order, a later one on top of what it covers.
/// Unix sockets bound outside are covered where they really show inside (<see cref="AgentSandbox.Wrap"/>), whatever folder they
/// lie in: a path prefix such as "/tmp is private" is wrong as soon as something under it is bound back in (an owner's home
/// under /tmp, the project, an install), and a socket bound in a folder mounted elsewhere shows at another path.
/// </summary>
public static class SandboxMounts
{
    /// <summary>A mount: what it shows (an outside path, or null for a fresh file system: tmpfs, /dev, /proc) at <paramref name="Destination"/>.</summary>
    public sealed record Mount(string? Source, string Destination);

    // How many values each option of bubblewrap's takes; one not listed stops the reading (a new option must be placed here).
    private static readonly Dictionary<string, int> Values = new(StringComparer.Ordinal)
    {
        ["--die-with-parent"] = 0, ["--unshare-pid"] = 0, ["--unshare-user"] = 0, ["--unshare-ipc"] = 0, ["--unshare-net"] = 0,
        ["--unshare-uts"] = 0, ["--unshare-cgroup"] = 0, ["--new-session"] = 0, ["--as-pid-1"] = 0,
        ["--cap-drop"] = 1, ["--cap-add"] = 1, ["--uid"] = 1, ["--gid"] = 1, ["--unsetenv"] = 1, ["--chdir"] = 1, ["--hostname"] = 1,
        ["--tmpfs"] = 1, ["--dev"] = 1, ["--proc"] = 1, ["--mqueue"] = 1, ["--dir"] = 1, ["--remount-ro"] = 1,
        ["--setenv"] = 2, ["--symlink"] = 2, ["--ro-bind"] = 2, ["--bind"] = 2, ["--dev-bind"] = 2, ["--ro-bind-try"] = 2,
        ["--bind-try"] = 2, ["--dev-bind-try"] = 2,
    };

    /// <summary>The mounts of bubblewrap arguments, in order, up to <c>--</c> (a source with its links resolved, as bubblewrap binds it).</summary>
    /// <exception cref="ArgumentException">An option this reading does not know: what it mounts would be guessed.</exception>
    public static IReadOnlyList<Mount> Of(IReadOnlyList<string> arguments)
    {
        List<Mount> mounts = [];
        for (var i = 0; i < arguments.Count && arguments[i] != "--"; i++)
        {
            var option = arguments[i];
            if (!Values.TryGetValue(option, out var count) || i + count >= arguments.Count)
            {
                throw new ArgumentException($"bubblewrap option '{option}' is not known to SandboxMounts: say how many values it takes and what it mounts.");
            }

            if (option is "--tmpfs" or "--dev" or "--proc" or "--mqueue")
            {
                mounts.Add(new Mount(null, Path.TrimEndingDirectorySeparator(arguments[i + 1])));
            }
            else if (option.Contains("bind", StringComparison.Ordinal))
            {
                mounts.Add(new Mount(Real(arguments[i + 1]), Path.TrimEndingDirectorySeparator(arguments[i + 2])));
            }

            i += count;
        }

        return mounts;
    }

    /// <summary>
    /// The paths inside at which <paramref name="outside"/> (a path of this machine, its links resolved) is what the sandbox sees:
    /// for each bind that brings it in, where it lands, unless a later mount covers that place.
    /// </summary>
    public static IReadOnlyList<string> WhereSeen(IReadOnlyList<Mount> mounts, string outside) =>
    [
        .. mounts.Where(m => m.Source is not null && IsUnder(outside, m.Source))
            .Select(bind => Join(bind.Destination, outside[bind.Source!.TrimEnd('/').Length..]))
            .Where(inside => mounts.Last(m => IsUnder(inside, m.Destination)) is { Source: { } source } top
                             && Join(source, inside[top.Destination.TrimEnd('/').Length..]) == outside)
            .Distinct(StringComparer.Ordinal),
    ];

    private static string Join(string folder, string rest) => rest.Length == 0 ? folder : folder.TrimEnd('/') + rest;

    private static string Real(string path) => FileSystem.RealPath.Resolve(path) ?? path;

    private static bool IsUnder(string path, string folder) =>
        folder == "/" || path == folder || path.StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal);
}
