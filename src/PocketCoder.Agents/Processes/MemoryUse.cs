using System.Globalization;

namespace PocketCoder.Agents.Processes;

/// <summary>The machine's memory (/proc/meminfo) and what each agent's process tree holds of it (resident pages, /proc/PID/statm).</summary>
/// <param name="TotalBytes">MemTotal.</param>
/// <param name="AvailableBytes">MemAvailable: what could be given to new work without swapping.</param>
public sealed record MachineMemory(long TotalBytes, long AvailableBytes)
{
    /// <summary>Read now; zeros where /proc/meminfo cannot be read (not Linux).</summary>
    public static MachineMemory Read()
    {
        try
        {
            var fields = File.ReadLines("/proc/meminfo").Select(line => line.Split(':', 2)).Where(pair => pair.Length == 2)
                .ToDictionary(pair => pair[0], pair => KiB(pair[1]), StringComparer.Ordinal);
            return new(fields.GetValueOrDefault("MemTotal"), fields.GetValueOrDefault("MemAvailable"));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new(0, 0);
        }
    }

    private static long KiB(string value) =>
        long.TryParse(value.Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : 0;
}

/// <summary>Resident memory of process trees: a process and everything below it (a sandbox, the agent, the tools it runs).</summary>
public static class MemoryUse
{
    /// <summary>
    /// Each root's tree's resident bytes, from one look at the process table; a root that is gone counts 0. Shared pages
    /// (a library two processes map) count in each, as <c>ps</c>'s RSS does: an upper bound, which is what a limit wants.
    /// </summary>
    public static IReadOnlyDictionary<int, long> OfTrees(IReadOnlyCollection<int> roots)
    {
        if (roots.Count == 0)
        {
            return new Dictionary<int, long>();
        }

        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ProcessTable.ParentOf(pid) is { } parent)
            {
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
        }

        return roots.Distinct().ToDictionary(root => root, root => Tree(root, children).Sum(Resident));
    }

    private static IEnumerable<int> Tree(int root, Dictionary<int, List<int>> children)
    {
        var seen = new HashSet<int>();
        var pending = new Stack<int>([root]);
        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            if (!seen.Add(pid))
            {
                continue;
            }

            yield return pid;
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                pending.Push(child);
            }
        }
    }

    /// <summary>/proc/PID/statm's second field (resident pages) in bytes; 0 once the process is gone.</summary>
    private static long Resident(int pid)
    {
        try
        {
            var fields = File.ReadAllText($"/proc/{pid}/statm").Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
                ? pages * Environment.SystemPageSize : 0;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
