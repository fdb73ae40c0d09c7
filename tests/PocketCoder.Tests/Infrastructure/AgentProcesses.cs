using System.Globalization;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>The agent processes an in-process test server started, found in /proc as the kernel sees them.</summary>
public static class AgentProcesses
{
    /// <summary>
    /// The one agent this test process runs with <paramref name="home"/>: its child carrying the mark every agent process
    /// carries (<see cref="ChildProcess.MarkerVariable"/>) and that HOME (a sandbox's bwrap, or the agent itself).
    /// </summary>
    public static int Started(string home)
    {
        var found = new List<int>();
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
                if (parent == Environment.ProcessId && environment.Contains($"HOME={home}")
                    && environment.Any(v => v.StartsWith(ChildProcess.MarkerVariable + "=", StringComparison.Ordinal)))
                {
                    found.Add(pid);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }

        return Assert.Single(found);
    }
}
