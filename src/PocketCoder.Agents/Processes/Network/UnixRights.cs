using System.Runtime.InteropServices;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// Open sockets passed between processes over a unix socket (<c>SCM_RIGHTS</c>), and who is at the other end
/// (<c>SO_PEERCRED</c>): how a sandbox hands the listeners it made in its own network namespace to the server. .NET has no
/// API for either on Linux; the structures are Linux's on 64-bit platforms (the only ones PocketCoder is built for).
/// </summary>
public static unsafe partial class UnixRights
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int SoPeerCred = 17;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int MaxFds = 96;

    /// <summary>Sends <paramref name="payload"/> with <paramref name="fds"/> attached.</summary>
    /// <exception cref="IOException">The kernel refused (errno in the message).</exception>
    public static void Send(SafeHandle socket, ReadOnlySpan<byte> payload, IReadOnlyList<int> fds)
    {
        if (fds.Count is 0 or > MaxFds)
        {
            throw new ArgumentOutOfRangeException(nameof(fds), fds.Count, $"1 to {MaxFds} descriptors");
        }

        var dataLength = fds.Count * sizeof(int);
        var control = stackalloc byte[CmsgSpace(MaxFds * sizeof(int))];
        var header = (CmsgHeader*)control;
        header->Length = (nuint)(sizeof(CmsgHeader) + dataLength);
        header->Level = SolSocket;
        header->Type = ScmRights;
        var data = (int*)(control + sizeof(CmsgHeader));
        for (var i = 0; i < fds.Count; i++)
        {
            data[i] = fds[i];
        }

        fixed (byte* bytes = payload)
        {
            var vector = new IoVector { Base = bytes, Length = (nuint)payload.Length };
            var message = new MessageHeader { Iov = &vector, IovLength = 1, Control = control, ControlLength = (nuint)CmsgSpace(dataLength) };
            if (SendMessage(socket, &message, 0) < 0)
            {
                throw new IOException($"sendmsg failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>
    /// Receives one message: its bytes (up to <paramref name="buffer"/>'s length) and the descriptors attached, marked
    /// close-on-exec at once (a child started meanwhile must not inherit a sandbox's listener).
    /// </summary>
    public static (int Length, IReadOnlyList<int> Fds) Receive(SafeHandle socket, Span<byte> buffer)
    {
        var control = stackalloc byte[CmsgSpace(MaxFds * sizeof(int))];
        long received;
        var message = new MessageHeader();
        fixed (byte* bytes = buffer)
        {
            var vector = new IoVector { Base = bytes, Length = (nuint)buffer.Length };
            message.Iov = &vector;
            message.IovLength = 1;
            message.Control = control;
            message.ControlLength = (nuint)CmsgSpace(MaxFds * sizeof(int));
            received = ReceiveMessage(socket, &message, MsgCmsgCloexec);
        }

        if (received < 0)
        {
            throw new IOException($"recvmsg failed (errno {Marshal.GetLastPInvokeError()})");
        }

        var fds = new List<int>();
        if (message.ControlLength >= (nuint)sizeof(CmsgHeader))
        {
            var header = (CmsgHeader*)control;
            if (header->Level == SolSocket && header->Type == ScmRights)
            {
                var count = ((int)header->Length - sizeof(CmsgHeader)) / sizeof(int);
                var data = (int*)(control + sizeof(CmsgHeader));
                for (var i = 0; i < count; i++)
                {
                    fds.Add(data[i]);
                }
            }
        }

        return ((int)received, fds);
    }

    /// <summary>The process at the other end of a connected unix socket, as this process's pid namespace numbers it.</summary>
    public static int PeerPid(SafeHandle socket)
    {
        Credentials credentials;
        var length = (uint)sizeof(Credentials);
        return GetSocketOption(socket, SolSocket, SoPeerCred, &credentials, &length) == 0 ? credentials.Pid
            : throw new IOException($"SO_PEERCRED failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>
    /// The user namespace that owns the network namespace at <paramref name="path"/> (<c>/proc/PID/ns/net</c>), opened
    /// (<c>NS_GET_USERNS</c>): bubblewrap may put its processes in a user namespace nested below that one, and entering a network
    /// namespace takes the capability of the one that owns it.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle NetworkNamespaceOwner(string path)
    {
        using var net = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        const ulong NsGetUserns = 0xb701;
        var fd = IoControl(net, NsGetUserns);
        return fd >= 0 ? new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true)
            : throw new IOException($"NS_GET_USERNS failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Closes a descriptor received and not taken over by a <see cref="System.Net.Sockets.Socket"/>.</summary>
    public static void Close(int fd) => _ = CloseFd(fd);

    private static int CmsgSpace(int dataLength) => sizeof(CmsgHeader) + ((dataLength + 7) & ~7);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Credentials
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial long SendMessage(SafeHandle socket, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial long ReceiveMessage(SafeHandle socket, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetSocketOption(SafeHandle socket, int level, int name, void* value, uint* length);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoControl(SafeHandle fd, ulong request);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseFd(int fd);
}
