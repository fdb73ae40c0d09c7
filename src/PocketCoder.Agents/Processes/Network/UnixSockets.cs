namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// The unix sockets bound to a path on this machine, as the kernel lists them (<c>/proc/net/unix</c>, of the server's network
/// namespace: a sandbox's own are not there). A network namespace closes abstract sockets, not these: a sandbox covers each
/// one it would see (<see cref="AgentSandbox.Wrap"/>).
/// </summary>
public static class UnixSockets
{
    /// <summary>Every path a unix socket is bound to (listening or not, as only the kernel knows which still answer).</summary>
    public static IReadOnlyList<string> Bound(string table = "/proc/net/unix")
    {
        try
        {
            return Parse(File.ReadLines(table));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The paths in the lines of <c>/proc/net/unix</c> (its eighth column; an abstract name starts with <c>@</c>, none without).</summary>
    public static IReadOnlyList<string> Parse(IEnumerable<string> lines) =>
    [
        .. lines.Skip(1)
            .Select(line => line.Split(' ', 8, StringSplitOptions.RemoveEmptyEntries))
            .Where(columns => columns.Length == 8 && columns[7].TrimStart().StartsWith('/'))
            .Select(columns => columns[7].Trim())
            .Distinct(StringComparer.Ordinal),
    ];
}
