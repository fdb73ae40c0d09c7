using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace PocketCoder.Hub;

/// <summary>
/// Who may hold a connection to the hub, and for how long, before it has proved anything. Every connection is admitted
/// here as it arrives and counts against its address (an IPv6 /64 counting as one) until it signs in as a machine: a
/// machine's control link and its dial-backs all come from the machine's one address and must not crowd out the phones
/// behind it, while phones' spliced connections stay counted, being what strangers can hold. A connection that has not
/// yet proved anything (no ClientHello read; or naming the hub, or no name, and not signed in) is "unauthenticated":
/// those are capped across all addresses, the oldest closed for each newcomer past the cap, and one naming the hub is
/// closed at the sign-in deadline. Nothing else bounded them: the review held 2,000 from one address for Kestrel's
/// 130 s keep-alive, and 20,000 ran the hub out of memory.
/// </summary>
internal sealed class Admissions(HubOptions options, HubMetrics metrics, TimeProvider clock)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _byAddress = new(StringComparer.Ordinal);

    // Oldest first: the one to close when a newcomer finds the cap reached.
    private readonly LinkedList<Admission> _unauthenticated = new();

    /// <summary>Admits a new connection, or counts and returns null when its address holds its cap already (then close it).</summary>
    public Admission? Admit(ConnectionContext connection)
    {
        var address = AddressOf(connection.RemoteEndPoint);
        Admission admission;
        Admission? oldest = null;
        lock (_lock)
        {
            var held = _byAddress.GetValueOrDefault(address);
            if (held >= options.MaxConnectionsPerAddress)
            {
                metrics.Refused(Refusal.Limit);
                return null;
            }

            _byAddress[address] = held + 1;
            admission = new Admission(this, connection, address);
            admission.Waiting = _unauthenticated.AddLast(admission);
            metrics.UnauthenticatedChanged(1);
            if (_unauthenticated.Count > options.MaxUnauthenticatedConnections)
            {
                oldest = _unauthenticated.First!.Value;
                oldest.Ended = true;
                Unlist(oldest);
            }
        }

        if (oldest is not null)
        {
            metrics.Refused(Refusal.OverallLimit);
            oldest.Connection.Abort(new ConnectionAbortedException("Too many connections that have not proved anything: the oldest gives way."));
        }

        return admission;
    }

    /// <summary>
    /// The key connections are counted under: the address, or its /64 for IPv6 (what one subscriber is usually given, so
    /// that a single host cannot pick a fresh address per connection), IPv4-mapped addresses as IPv4.
    /// </summary>
    internal static string AddressOf(EndPoint? remote)
    {
        if ((remote as IPEndPoint)?.Address is not { } address)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        bytes.AsSpan(8).Clear();
        return new IPAddress(bytes) + "/64";
    }

    internal bool End(Admission admission, Refusal why)
    {
        lock (_lock)
        {
            if (admission.Ended)
            {
                return false;
            }

            admission.Ended = true;
            Unlist(admission);
        }

        metrics.Refused(why);
        admission.Connection.Abort(new ConnectionAbortedException($"Refused: {why}."));
        return true;
    }

    internal bool Routed(Admission admission)
    {
        lock (_lock)
        {
            Unlist(admission);
            return !admission.Ended;
        }
    }

    internal bool AwaitSignIn(Admission admission)
    {
        lock (_lock)
        {
            if (admission.Ended)
            {
                return false;
            }

            admission.Deadline = clock.CreateTimer(static state => ((Admission)state!).End(Refusal.SignInTimeout), admission,
                options.SignInTimeout, Timeout.InfiniteTimeSpan);
            return true;
        }
    }

    internal void SignedIn(Admission admission)
    {
        lock (_lock)
        {
            if (admission.Ended || admission.Waiting is null)
            {
                return;
            }

            Unlist(admission);
            Uncount(admission);
            admission.Deadline?.Dispose();
        }
    }

    internal void Release(Admission admission)
    {
        lock (_lock)
        {
            admission.Ended = true;
            Unlist(admission);
            Uncount(admission);
            admission.Deadline?.Dispose();
        }
    }

    // Under the lock.
    private void Unlist(Admission admission)
    {
        if (admission.Waiting is { } node)
        {
            _unauthenticated.Remove(node);
            admission.Waiting = null;
            metrics.UnauthenticatedChanged(-1);
        }
    }

    // Under the lock.
    private void Uncount(Admission admission)
    {
        if (!admission.Counted)
        {
            return;
        }

        admission.Counted = false;
        if (--_byAddress[admission.Address] == 0)
        {
            _byAddress.Remove(admission.Address);
        }
    }
}

/// <summary>
/// One connection's standing with <see cref="Admissions"/>, from its arrival to its end (dispose it then). Set as a
/// connection feature once the connection names the hub, so that the hub's endpoints can say it signed in.
/// </summary>
internal sealed class Admission(Admissions admissions, ConnectionContext connection, string address) : IDisposable
{
    public ConnectionContext Connection { get; } = connection;

    public string Address { get; } = address;

    // The fields below are guarded by the owner's lock.
    internal LinkedListNode<Admission>? Waiting { get; set; }

    internal bool Counted { get; set; } = true;

    internal bool Ended { get; set; }

    internal ITimer? Deadline { get; set; }

    /// <summary>Closes the connection and counts why, unless something ended it already (false then).</summary>
    public bool End(Refusal why) => admissions.End(this, why);

    /// <summary>
    /// It names one of the hub's machines: a phone's stream, out of the unauthenticated but still counted at its address.
    /// False when it was closed meanwhile.
    /// </summary>
    public bool Routed() => admissions.Routed(this);

    /// <summary>It names the hub: it has <see cref="HubOptions.SignInTimeout"/> from now to sign in. False when it was closed meanwhile.</summary>
    public bool AwaitSignIn() => admissions.AwaitSignIn(this);

    /// <summary>A machine's token and a WebSocket request: out of every count and deadline.</summary>
    public void SignedIn() => admissions.SignedIn(this);

    public void Dispose() => admissions.Release(this);
}
