using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PocketCoder.Network;

/// <summary>
/// Which process in a sandbox opened a connection the proxy accepted, and under which of the agent's commands it runs: what an
/// approval shows as "from" (docs/security.md, "The network"). Read from <c>/proc</c> as <c>ss -p</c> does: the sandbox's own
/// TCP table gives the socket's inode, and the process holding that inode is found among the sandbox's processes. The server
/// sees them all (they are its descendants, in a user namespace it owns).
/// </summary>
public static class SandboxPeers
{
    /// <summary>The process at the sandbox's end of a connection, or null when it cannot be told (it ended, or /proc says nothing).</summary>
    /// <param name="agentPid">The agent's process (the sandbox's first), as the server's pid namespace numbers it.</param>
    /// <param name="client">The connection's far end as the server sees it (inside the sandbox).</param>
    /// <param name="listener">Where the sandbox connected to (the proxy, or a relay).</param>
    public static PeerProcess? Find(int agentPid, IPEndPoint client, IPEndPoint listener)
    {
        try
        {
            if (Inode(agentPid, client, listener) is not { } inode)
            {
                return null;
            }

            var socket = $"socket:[{inode}]";
            // Only the sandbox's own processes are looked through: everything below its init (the agent's parent), which adopts
            // whatever left the agent's tree.
            foreach (var pid in InSandbox(Parent(agentPid) ?? agentPid))
            {
                if (Holds(pid, socket))
                {
                    return Describe(pid, agentPid);
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A process went while it was read: nothing to show.
        }

        return null;
    }

    /// <summary>The processes below <paramref name="init"/>, from the kernel's lists of each task's children (a few reads per process).</summary>
    internal static List<int> InSandbox(int init)
    {
        var found = new List<int>();
        var pending = new Stack<int>([init]);
        while (pending.Count > 0 && found.Count < 4096)
        {
            var pid = pending.Pop();
            found.Add(pid);
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        pending.Push(int.Parse(child, CultureInfo.InvariantCulture));
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }

    /// <summary>The inode of the sandbox's socket from <paramref name="client"/> to <paramref name="listener"/>, from its own TCP table.</summary>
    private static string? Inode(int agentPid, IPEndPoint client, IPEndPoint listener)
    {
        var table = client.AddressFamily == AddressFamily.InterNetworkV6 ? "tcp6" : "tcp";
        var (local, remote) = (Hex(client), Hex(listener));
        foreach (var line in File.ReadLines($"/proc/{agentPid}/net/{table}").Skip(1))
        {
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length > 9 && columns[1] == local && columns[2] == remote)
            {
                return columns[9];
            }
        }

        return null;
    }

    /// <summary>An endpoint as <c>/proc/net/tcp</c> writes it: the address's 32-bit words in host (little-endian) order, in hex, and the port.</summary>
    public static string Hex(IPEndPoint endpoint)
    {
        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        var bytes = address.GetAddressBytes();
        var text = new StringBuilder();
        for (var word = 0; word < bytes.Length; word += 4)
        {
            for (var i = 3; i >= 0; i--)
            {
                text.Append(bytes[word + i].ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.Append(':').Append(endpoint.Port.ToString("X4", CultureInfo.InvariantCulture)).ToString();
    }

    private static bool Holds(int pid, string socket)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Any(fd => new FileInfo(fd).LinkTarget == socket);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The process's command line, and that of the agent's child it runs under (the command the agent ran).</summary>
    internal static PeerProcess Describe(int pid, int agentPid)
    {
        if (pid == agentPid || LaunchedAgent(pid, agentPid))
        {
            return new PeerProcess(pid, CommandLine(pid), null, IsAgent: true);
        }

        var under = pid;
        for (var depth = 0; depth < 64 && Parent(under) is { } parent && parent != agentPid; depth++)
        {
            under = parent;
        }

        var command = CommandLine(pid);
        // Unwrapped, the agent's shell around a program is often the program's own command line: said once.
        var started = Parent(under) == agentPid && under != pid ? CommandLine(under) : null;
        return new PeerProcess(pid, command, started == command ? null : started, IsAgent: false);
    }

    /// <summary>
    /// The agent's own program started by a launcher: a Node script that spawns the platform's binary with its own arguments
    /// (Kilo Code's npm <c>kilo</c>: <c>node …/bin/kilo serve …</c> runs its binary, <c>…/bin/.kilo serve …</c>, as seen). A child of the
    /// agent's process whose arguments are the launcher's after its script is the agent; a command it runs has arguments of its own.
    /// </summary>
    private static bool LaunchedAgent(int pid, int agentPid)
    {
        if (Parent(pid) != agentPid)
        {
            return false;
        }

        var (launcher, child) = (Arguments(agentPid), Arguments(pid));
        return launcher.Length > 2 && child.Length == launcher.Length - 1 && child.AsSpan(1).SequenceEqual(launcher.AsSpan(2))
            && Path.GetFileName(child[0]).TrimStart('.') == Path.GetFileName(launcher[1]).TrimStart('.');
    }

    private static string[] Arguments(int pid) => File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Split('\0');

    internal static int? Parent(int pid)
    {
        // The fourth field of stat, after the name in parentheses (which may hold spaces and parentheses of its own).
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 1 && int.TryParse(fields[1], out var parent) && parent > 0 ? parent : null;
    }

    /// <summary>What the process runs, as the owner would type it (the agents' shell wrappers taken off: <see cref="TypedCommand"/>).</summary>
    private static string CommandLine(int pid)
    {
        var text = TypedCommand.Of(Arguments(pid));
        return text.Length > 300 ? text[..300] + "…" : text;
    }
}

/// <summary>A process in a sandbox that opened a connection.</summary>
/// <param name="CommandLine">What it runs.</param>
/// <param name="Under">The command the agent started that it runs under (a shell running a build), when it is not that command itself.</param>
/// <param name="IsAgent">The agent's own process.</param>
public sealed record PeerProcess(int Pid, string CommandLine, string? Under, bool IsAgent);
