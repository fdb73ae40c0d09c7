using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Network;

/// <summary>What a session gives the proxy: who it is, whether a turn runs, and its gate (the path its agent's own requests take).</summary>
public interface IEgressSession
{
    string SessionId { get; }

    string ProjectId { get; }

    /// <summary>Where the session works (the project's folder, or its worktree): what rules are matched against.</summary>
    string ProjectPath { get; }

    string Mode { get; }

    /// <summary>A turn runs: a connection now is part of what the owner set going, and is asked about; between turns nobody is asked.</summary>
    bool InTurn { get; }

    /// <summary>Waits for the gatekeeper's decision, as on a call the agent asked for (withdrawn with <paramref name="cancellationToken"/>).</summary>
    Task<PermissionDecision> AskAsync(PermissionRequest request, CancellationToken cancellationToken);
}

/// <summary>How the proxy decided a connection: pass or refuse, and why, in the words the timeline shows.</summary>
public sealed record EgressVerdict(bool Allowed, string Reason, bool Model = false)
{
    public const string ModelReason = "the agent's model";
}

/// <summary>
/// Decides each connection out of one sandboxed process, by the host and port it asks for, before anything is looked up:
/// the agent's model passes; this machine's own addresses are refused (the server's API, a database on loopback, a cloud's
/// metadata service); anything else goes to the session's gate as a <c>network</c> call (rules, grants, the owner) while a turn
/// runs and a command asks, is decided by the project's rules alone between turns or when the agent's own process asks
/// (<see cref="UnaskedConnections"/>; a host of a fetch it was just allowed is asked about: <see cref="AllowedFetches"/>), and is refused
/// where there is no session (a model probe). Only a connection allowed is resolved and connected, so a name nobody
/// allowed never leaves as a DNS query either.
/// </summary>
public sealed class EgressGate(IReadOnlyList<NetworkEndpoint> model, IEgressSession? session, EgressWaits waits, UnaskedConnections unasked,
    AllowedFetches fetches, HostResolver resolver, TimeProvider clock)
{
    /// <summary>
    /// How long a project rule's allow of a host stands for the sandbox's next connections to it without a ledger entry of their
    /// own (each is still in the timeline): a package manager's burst of connections costs one ledger entry, not one each. The
    /// rules are read again for every connection, so a rule removed or changed bites at once.
    /// </summary>
    public static readonly TimeSpan RuleReuse = TimeSpan.FromSeconds(10);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _allowedByRule = new(StringComparer.Ordinal);

    /// <param name="who">Finds the process that opened the connection (a look through /proc: only done when its answer matters).</param>
    public async Task<EgressVerdict> DecideAsync(NetworkEndpoint target, Func<PeerProcess?> who, CancellationToken cancellationToken)
    {
        if (model.Contains(target))
        {
            return new EgressVerdict(true, EgressVerdict.ModelReason, Model: true);
        }

        if (target.IsLoopback || IsLocal(target.Address))
        {
            return new EgressVerdict(false, $"{target} is this machine (or its network's own service): no sandbox reaches it but for the agent's model.");
        }

        if (session is null)
        {
            return new EgressVerdict(false, "Only the agent's model is reached from here.");
        }

        if (_allowedByRule.TryGetValue(target.ToString(), out var until) && until > clock.GetUtcNow()
            && unasked.AllowedByRule(session, Request(target, null)))
        {
            return new EgressVerdict(true, "Allowed by a project rule (decided a moment ago for this host).");
        }

        var peer = who();
        // Nobody is asked about the agent's own traffic (update checks, packages it installs for itself) nor about anything between
        // turns: the rules decide. But for the host of a fetch it was just allowed: that is asked as a command's new host is, never
        // let through by the fetch's allow (the mode's, or a rule's for the tool: neither decides about the network).
        var ask = session.InTurn && (peer is not { IsAgent: true } || fetches.Names(session.SessionId, target));
        var decision = ask ? await waits.AskAsync(session, target, () => Request(target, peer), cancellationToken).ConfigureAwait(false)
            : unasked.Decide(session, Request(target, peer));
        if (decision.Allow && unasked.AllowedByRule(session, Request(target, peer)))
        {
            _allowedByRule[target.ToString()] = clock.GetUtcNow() + RuleReuse;
        }

        return decision.Allow ? new EgressVerdict(true, decision.Message ?? "allowed") : new EgressVerdict(false, decision.Message ?? "denied");
    }

    /// <summary>
    /// Connects to an allowed host. A name that turns out to lead to this machine or a link-local address is refused unless it is
    /// the agent's model (or the owner named its address, <see cref="HostResolver"/>): a name allowed must not become a way in.
    /// </summary>
    /// <exception cref="EgressRefusedException">Why it could not be reached.</exception>
    public async Task<Socket> ConnectAsync(NetworkEndpoint target, bool isModel, CancellationToken cancellationToken)
    {
        var (addresses, named) = await resolver.ResolveAsync(target.Host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new EgressRefusedException($"{target.Host} could not be resolved.", unreachable: true);
        }

        if (!isModel && !named && addresses.FirstOrDefault(a => IPAddress.IsLoopback(a) || IsLocal(a)) is { } local)
        {
            throw new EgressRefusedException($"{target.Host} leads to {local}, an address of this machine or its local network's own services: refused.");
        }

        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(15));
                await socket.ConnectAsync(new IPEndPoint(address, target.Port), timeout.Token).ConfigureAwait(false);
                return socket;
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                last = exception as SocketException;
            }
        }

        throw new EgressRefusedException($"{target} did not answer ({last?.SocketErrorCode.ToString() ?? "timed out"}).", unreachable: true);
    }

    /// <summary>Link-local (a cloud's metadata service lives there), unspecified and multicast addresses.</summary>
    private static bool IsLocal(IPAddress? address) => address is not null
        && (address.IsIPv6LinkLocal || address.IsIPv6Multicast || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            || address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes() is [169, 254, ..] or [>= 224, ..]);

    /// <summary>The call put to the gate: tool <c>network:HOST:PORT</c>, kind network, and who asked where it is known.</summary>
    private static PermissionRequest Request(NetworkEndpoint target, PeerProcess? peer)
    {
        var input = new NetworkCallInput(target.ToString(), peer is { IsAgent: true } ? $"the agent itself ({peer.CommandLine})" : peer?.CommandLine, peer?.Under);
        return new PermissionRequest($"network-{Guid.NewGuid():N}", $"network:{target}", ToolKind.Network, $"Connect to {target}",
            JsonSerializer.SerializeToElement(input, NetworkJson.Default.NetworkCallInput), Command: target.ToString(), Path: null, PlanText: null);
    }
}

/// <summary>A network call's input, as the approval shows it: the host and port, and the process that asked (and its command).</summary>
public sealed record NetworkCallInput(string Connect, string? By, string? Under);

/// <summary>
/// The connection could not be made; the message says why (the client reads it in the proxy's answer). <see cref="Unreachable"/>:
/// the host was allowed but could not be reached (no address, no answer), as against a name that leads to this machine, which is
/// refused: the timeline tells the owner's allow that met a dead host apart from a "no".
/// </summary>
public sealed class EgressRefusedException(string message, bool unreachable = false) : Exception(message)
{
    public bool Unreachable { get; } = unreachable;
}

/// <summary>
/// Resolves allowed hosts: an address as it is, a name through the system's resolver, or as the owner named it
/// (<see cref="Server.PocketCoderOptions.NetworkHosts"/>, like <c>curl --resolve</c>: taken as their word, even a loopback address).
/// </summary>
public sealed class HostResolver(IReadOnlyDictionary<string, string> named)
{
    /// <summary>The addresses, and whether the owner named them.</summary>
    public async Task<(IPAddress[] Addresses, bool Named)> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (named.TryGetValue(host, out var given) && IPAddress.TryParse(given, out var address))
        {
            return ([address], true);
        }

        if (IPAddress.TryParse(host, out var literal))
        {
            return ([literal.IsIPv4MappedToIPv6 ? literal.MapToIPv4() : literal], false);
        }

        try
        {
            return (await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false), false);
        }
        catch (SocketException)
        {
            return ([], false);
        }
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(NetworkCallInput))]
internal sealed partial class NetworkJson : System.Text.Json.Serialization.JsonSerializerContext;
