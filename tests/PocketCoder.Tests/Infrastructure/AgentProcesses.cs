using System.Globalization;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>The agent processes a test server started, found in /proc as the kernel sees them.</summary>
public static class AgentProcesses
{
    /// <summary>
    /// The one agent running with <paramref name="home"/>: the top process carrying the mark every agent process carries
    /// (<see cref="ChildProcess.MarkerVariable"/>) and that HOME (a sandbox's bwrap, or the agent itself), whichever
    /// server started it (the test process's own, or the binary as its own process).
    /// </summary>
    public static int Started(string home) => Assert.Single(Running(home).Where(p => !p.ParentMarked).Select(p => p.Pid));

    /// <summary>Every process of the agents running with <paramref name="home"/>: the agent and whatever it started.</summary>
    public static List<int> All(string home) => [.. Running(home).Select(p => p.Pid)];

    private static List<(int Pid, bool ParentMarked)> Running(string home)
    {
        var marked = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                var environment = File.ReadAllText(Path.Combine(directory, "environ")).Split('\0');
                if (environment.Contains($"HOME={home}")
                    && environment.Any(v => v.StartsWith(ChildProcess.MarkerVariable + "=", StringComparison.Ordinal)))
                {
                    marked[pid] = parent;
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }

        return [.. marked.Select(p => (p.Key, marked.ContainsKey(p.Value)))];
    }
}
