using System.Globalization;
using System.Text;

namespace PocketCoder.Agents.Processes;

/// <summary>Reads /proc: who descends from whom, and who carries a marker in its environment.</summary>
internal static class ProcessTable
{
    /// <summary>Live descendants of <paramref name="root"/> (not the root itself), by parent pid and by marker.</summary>
    public static IReadOnlyCollection<int> Descendants(int root, string marker)
    {
        var needle = Encoding.ASCII.GetBytes($"{ChildProcess.MarkerVariable}={marker}\0");
        var children = new Dictionary<int, List<int>>();
        var found = new HashSet<int>();
        var self = Environment.ProcessId;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == self || pid == root)
            {
                continue;
            }

            if (ParentOf(pid) is { } parent)
            {
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }

            if (Carries(pid, needle))
            {
                found.Add(pid);
            }
        }

        var pending = new Stack<int>([root, .. found]);
        while (pending.Count > 0)
        {
            if (children.TryGetValue(pending.Pop(), out var list))
            {
                foreach (var child in list.Where(found.Add))
                {
                    pending.Push(child);
                }
            }
        }

        return found;
    }

    /// <summary>The live processes whose parent is <paramref name="parent"/>.</summary>
    public static IReadOnlyCollection<int> Children(int parent) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0 && ParentOf(pid) == parent)];

    /// <summary>The oldest live child of <paramref name="parent"/> (by start time), or null when it has none.</summary>
    public static int? FirstChild(int parent) =>
        Children(parent).Select(pid => (Pid: pid, Started: StartTimeOf(pid))).Where(c => c.Started is not null)
            .OrderBy(c => c.Started).Select(c => (int?)c.Pid).FirstOrDefault();

    /// <summary>Waits (briefly polling the kernel's table) until none of the processes runs any more: gone, or a zombie.</summary>
    public static async Task WaitGoneAsync(IReadOnlyCollection<int> pids, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (pids.Any(IsRunning) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    private static bool IsRunning(int pid) => StatFields(pid) is [var state, ..] && state is not ("Z" or "X");

    internal static int? ParentOf(int pid) =>
        StatFields(pid) is { Length: > 1 } fields && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? ppid : null;

    /// <summary>When the process started, in clock ticks since boot (/proc/PID/stat's 22nd field), or null once it is gone.</summary>
    private static long? StartTimeOf(int pid) =>
        StatFields(pid) is { Length: > 19 } fields && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? ticks : null;

    /// <summary>
    /// /proc/PID/stat's fields after the command ("pid (comm) state ppid ...": comm may hold spaces and parentheses, so they are
    /// read after the last ')'): state first, then the parent, ... the start time 20th. Null when it exited while we looked.
    /// </summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool Carries(int pid, byte[] needle)
    {
        try
        {
            var environment = File.ReadAllBytes($"/proc/{pid}/environ");
            return environment.AsSpan().StartsWith(needle) || environment.AsSpan().IndexOf(needle.Prepend((byte)0).ToArray()) >= 0;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false; // Gone, or another user's process: never ours.
        }
    }
}
