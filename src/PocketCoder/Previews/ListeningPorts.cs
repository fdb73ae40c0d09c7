using System.Globalization;
using System.Net;
using PocketCoder.Network;

namespace PocketCoder.Previews;

/// <summary>A TCP port a session's process listens on, and the process that opened it.</summary>
/// <param name="Address">Where it listens (<c>0.0.0.0</c>, <c>127.0.0.1</c>, <c>::</c>…), as the process asked.</param>
/// <param name="CommandLine">The process's command line (cut at 300 characters), or null when it could not be told.</param>
/// <param name="Under">The command the agent ran that it runs under, when it is not that command itself.</param>
public sealed record ListeningPort(int Port, string Address, int? Pid, string? CommandLine, string? Under);

/// <summary>
/// The ports a sandbox's processes listen on, found as <c>ss -ltnp</c> finds them: the sandbox's own TCP tables
/// (<c>/proc/PID/net/tcp</c> and <c>tcp6</c> of a process inside show its network namespace's sockets), sockets in LISTEN state,
/// each matched by inode to the process inside holding it. Listeners the server holds for the sandbox (its proxy, a model relay)
/// are held by no process inside and so are never listed.
/// </summary>
public static class ListeningPorts
{
    /// <summary>The TCP state <c>/proc/net/tcp</c> writes for a listening socket.</summary>
    private const string Listen = "0A";

    /// <summary>Listening sockets in one table's lines (its heading first): where, which port, and the socket's inode.</summary>
    public static IEnumerable<(IPAddress Address, int Port, string Inode)> Parse(IEnumerable<string> lines)
    {
        foreach (var line in lines.Skip(1))
        {
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length <= 9 || columns[3] != Listen || columns[1].Split(':') is not [var address, var port]
                || !int.TryParse(port, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var number) || Address(address) is not { } ip)
            {
                continue;
            }

            yield return (ip, number, columns[9]);
        }
    }

    /// <summary>An address as <c>/proc/net/tcp</c> writes it: its 32-bit words each in host (little-endian) byte order, in hex.</summary>
    private static IPAddress? Address(string hex)
    {
        var bytes = new byte[hex.Length / 2];
        if (hex.Length is not (8 or 32) || Convert.FromHexString(hex, bytes, out _, out _) != System.Buffers.OperationStatus.Done)
        {
            return null;
        }

        for (var word = 0; word < bytes.Length; word += 4)
        {
            Array.Reverse(bytes, word, 4);
        }

        return new IPAddress(bytes);
    }

    /// <summary>The ports the processes of the sandbox whose first process is <paramref name="agentPid"/> listen on, lowest first.</summary>
    public static IReadOnlyList<ListeningPort> InSandbox(int agentPid)
    {
        try
        {
            var sockets = Parse(File.ReadLines($"/proc/{agentPid}/net/tcp")).Concat(Parse(File.ReadLines($"/proc/{agentPid}/net/tcp6"))).ToList();
            if (sockets.Count == 0)
            {
                return [];
            }

            var holders = Holders(SandboxPeers.InSandbox(SandboxPeers.Parent(agentPid) ?? agentPid));
            return [.. sockets.Where(s => holders.ContainsKey(s.Inode))
                .Select(s => (s.Address, s.Port, Process: SandboxPeers.Describe(holders[s.Inode], agentPid)))
                .GroupBy(s => s.Port).OrderBy(g => g.Key)
                .Select(g => g.OrderBy(s => s.Address.AddressFamily).First())
                .Select(s => new ListeningPort(s.Port, s.Address.ToString(), s.Process.Pid, s.Process.CommandLine, s.Process.Under))];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The sandbox ended while it was read.
            return [];
        }
    }

    /// <summary>Which process holds each socket inode, among <paramref name="pids"/>.</summary>
    private static Dictionary<string, int> Holders(IEnumerable<int> pids)
    {
        var holders = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pid in pids)
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                    {
                        holders.TryAdd(target[8..^1], pid);
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return holders;
    }
}
