using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// The first thing that runs in a sandbox (<c>pocketcoder sandbox-net</c>): in the sandbox's own network namespace it makes the
/// listeners of its <see cref="EgressLayout"/>, hands them to the server through the door (<see cref="EgressLayout.InsideDoor"/>),
/// waits for the server's word, and then becomes the agent (<c>execvp</c>: same process, nothing left behind). The server serves
/// those listeners itself: no forwarder stays in the sandbox, so a waiting agent costs nothing more, and every byte crosses one
/// socket pair fewer than through a relay inside. A process outside could not make a socket in the sandbox's namespace (that
/// takes a capability in the server's own user namespace); this one is there already.
/// </summary>
public static partial class SandboxNetworkEntry
{
    public const string Verb = "sandbox-net";

    /// <summary>What the helper says first on the door, so the server reads nothing else as a sandbox's listeners.</summary>
    public const string Greeting = "pocketcoder-egress 1\n";

    public const string Accepted = "ok\n";

    /// <summary>The helper's exit code when the network could not be set up (the agent never starts).</summary>
    public const int Failed = 125;

    /// <summary>The command line that runs the helper before <paramref name="program"/> (which follows it).</summary>
    public static IReadOnlyList<string> Arguments(IReadOnlyList<string> helper, EgressLayout layout) =>
    [
        .. helper, Verb, "--door", EgressLayout.InsideDoor,
        .. layout.Listeners.SelectMany(listener => new[] { "--listen", listener.ToString() }),
        .. layout.Connectors > 0 ? ["--connectors", layout.Connectors.ToString(System.Globalization.CultureInfo.InvariantCulture)] : Array.Empty<string>(), "--",
    ];

    /// <summary>
    /// The command line that makes <paramref name="count"/> more connectors (unconnected sockets of a sandbox's namespace) and hands
    /// them through <paramref name="door"/>: run in that namespace (<c>nsenter</c>), it ends once they are taken.
    /// </summary>
    public static IReadOnlyList<string> ConnectorArguments(IReadOnlyList<string> helper, string door, int count) =>
        [.. helper, Verb, "--door", door, "--connectors", count.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    /// <summary>True when the executable was started as the helper (checked before anything else, so it starts fast).</summary>
    public static bool IsHelper(string[] args) => args.Length > 0 && args[0] == Verb;

    /// <summary>Runs the helper: only returns when it failed (the exit code, having said why on stderr).</summary>
    public static int Run(string[] args, TextWriter error)
    {
        string? door = null;
        var listen = new List<IPEndPoint>();
        var connectors = 0;
        var i = 1;
        for (; i < args.Length && args[i] != "--"; i++)
        {
            if (args[i] == "--door" && i + 1 < args.Length)
            {
                door = args[++i];
            }
            else if (args[i] == "--listen" && i + 1 < args.Length && IPEndPoint.TryParse(args[++i], out var endpoint))
            {
                listen.Add(endpoint);
            }
            else if (args[i] == "--connectors" && i + 1 < args.Length && int.TryParse(args[++i], out var count) && count is > 0 and <= 64)
            {
                connectors = count;
            }
            else
            {
                return Fail(error, $"unexpected argument '{args[i]}'");
            }
        }

        // A program to become, or (run by the server in a sandbox's namespace for more connectors) none.
        var becomes = i + 1 < args.Length;
        if (door is null || listen.Count + connectors == 0 || (listen.Count > 0 && !becomes))
        {
            return Fail(error, "usage: pocketcoder sandbox-net --door SOCKET --listen ADDRESS:PORT... [--connectors N] -- PROGRAM [ARGUMENTS...]");
        }

        try
        {
            HandOut(door, listen, connectors);
        }
        catch (Exception exception) when (exception is SocketException or IOException or ArgumentException)
        {
            return Fail(error, exception.Message);
        }

        if (!becomes)
        {
            return 0;
        }

        var program = args[i + 1];
        Exec(program, args[(i + 1)..]);
        return Fail(error, $"cannot run {program} (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Makes each listener (and connector), sends them all through the door, and waits for the server to take them.</summary>
    private static void HandOut(string door, IReadOnlyList<IPEndPoint> listen, int connectors)
    {
        var listeners = new List<Socket>();
        try
        {
            foreach (var endpoint in listen)
            {
                var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(socket);
                if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = false;
                }

                socket.Bind(endpoint);
                socket.Listen(512);
            }

            // Unconnected: the server connects them, to the sandbox's own loopback (they belong to its namespace).
            for (var k = 0; k < connectors; k++)
            {
                listeners.Add(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            }

            using var server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            server.Connect(new UnixDomainSocketEndPoint(door));
            UnixRights.Send(server.SafeHandle, Encoding.ASCII.GetBytes(Greeting), [.. listeners.Select(l => (int)l.Handle)]);
            var answer = new byte[512];
            var read = server.Receive(answer);
            var said = Encoding.UTF8.GetString(answer, 0, read);
            if (said != Accepted)
            {
                throw new IOException($"the server refused this sandbox's network: {said.Trim()}");
            }
        }
        finally
        {
            // Ours closed; the server keeps its own copies, and the agent never sees them (close-on-exec besides).
            listeners.ForEach(socket => socket.Dispose());
        }
    }

    private static int Fail(TextWriter error, string why)
    {
        error.WriteLine($"pocketcoder: the sandbox's network could not be set up: {why}");
        return Failed;
    }

    /// <summary>
    /// Becomes <paramref name="program"/>. The runtime ignores SIGPIPE, and an ignored signal stays ignored across exec: the
    /// agent and everything it runs get the default back (<c>yes | head</c> must end by it), with no signal blocked.
    /// </summary>
    private static unsafe void Exec(string program, string[] argv)
    {
        const int SigPipe = 13;
        const int SigSetMask = 2;
        _ = SetSignal(SigPipe, 0);
        var empty = stackalloc byte[128];
        new Span<byte>(empty, 128).Clear();
        _ = SetSignalMask(SigSetMask, empty, null);

        var pointers = new nint[argv.Length + 1];
        for (var k = 0; k < argv.Length; k++)
        {
            pointers[k] = Marshal.StringToCoTaskMemUTF8(argv[k]);
        }

        var file = Marshal.StringToCoTaskMemUTF8(program);
        fixed (nint* vector = pointers)
        {
            _ = ExecVp(file, vector);
        }

        // Only reached when exec failed: the process ends right after, its memory with it.
    }

    [LibraryImport("libc", EntryPoint = "execvp", SetLastError = true)]
    private static unsafe partial int ExecVp(nint file, nint* argv);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SetSignal(int signal, nint handler);

    [LibraryImport("libc", EntryPoint = "sigprocmask")]
    private static unsafe partial int SetSignalMask(int how, byte* set, byte* old);
}
