using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace PocketCoder.Hub;

/// <summary>
/// The hub's routing table, in memory: which machines hold a control link now, and which phone connections wait for
/// their machine to dial back. A machine has one link: a second with the same token waits for the first to answer or be
/// ended by its keep-alive, and is refused if it answers (see <see cref="ClaimAsync"/>). In a cluster, phones for
/// machines linked to another instance are routed through <see cref="HubCluster"/>.
/// </summary>
public sealed class Tunnels
{
    /// <summary>How long a phone waits for its machine to dial back before its connection is closed.</summary>
    public static readonly TimeSpan DialBackTimeout = TimeSpan.FromSeconds(10);

    private static readonly Task Never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously).Task;

    private readonly ConcurrentDictionary<string, MachineLink> _machines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingStream> _pending = new(StringComparer.Ordinal);

    // Machines whose next link is being decided or set up: one at a time, so that two newcomers cannot both get in.
    private readonly ConcurrentDictionary<string, LinkClaim> _claims = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly HubMetrics _metrics;
    private readonly TimeProvider _clock;
    private readonly HubCluster? _cluster;

    public Tunnels(HubMetrics metrics, TimeProvider clock, HubCluster? cluster = null)
    {
        _metrics = metrics;
        _clock = clock;
        _cluster = cluster;
        if (cluster is not null)
        {
            cluster.DialRequested = ForwardAsync;
            cluster.LinkedMachines = () => [.. _machines.Keys];
        }
    }

    /// <summary>Cancelled when the hub stops: every link and splice ends now, not at the shutdown timeout.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Ends every machine link and every splice (the hub is stopping); machines reconnect to whichever hub is up.</summary>
    public void CloseAll()
    {
        _closing.Cancel();
        foreach (var link in _machines.Values)
        {
            link.Abort();
        }
    }

    /// <summary>Raised with the machine's name when its control link is up (tests and the bench wait for it).</summary>
    public event Action<string>? Attached;

    /// <summary>Raised with the machine's name when a second link for it is refused (tests wait for it).</summary>
    public event Action<string>? SecondLinkRefused;

    /// <summary>
    /// Decides, before a machine's control link is accepted, whether it may link, waiting if it must. At once when the
    /// machine has no link here, or when its link was made with a token since replaced: the owner issued a new one, and
    /// the newcomer holding it takes over. With the same token, the link there is either the machine's own, dead without
    /// a goodbye (its network changed, say), or another machine's using a copy of the token; waiting up to
    /// <paramref name="silentLinkEndsWithin"/> tells which: the keep-alive ends a silent link by then, and a link still up
    /// has answered meanwhile, so the newcomer is refused. Dispose the claim once the link is attached or given up.
    /// </summary>
    internal async Task<LinkClaim> ClaimAsync(
        string machine, byte[] tokenHash, string remote, TimeSpan silentLinkEndsWithin, CancellationToken cancellationToken)
    {
        var claim = new LinkClaim(this, machine, tokenHash, remote);
        if (!_claims.TryAdd(machine, claim))
        {
            return Refuse(claim, $"another link for '{machine}' (from {_claims.GetValueOrDefault(machine)?.Remote}) is being set up at this moment");
        }

        if (_machines.TryGetValue(machine, out var current) && CryptographicOperations.FixedTimeEquals(current.TokenHash, tokenHash))
        {
            try
            {
                await current.Ended.WaitAsync(silentLinkEndsWithin, _clock, cancellationToken);
            }
            catch (TimeoutException)
            {
                claim.Dispose();
                return Refuse(claim, $"'{machine}' is already linked to this hub (from {current.Remote}, since {current.Since:u}) and that " +
                    "link still answers: another machine (or a `pocketcoder serve` still running here) is using this token. Stop that " +
                    $"one, or issue a new token on the hub (`pocketcoder hub add-machine {machine}`) and join with it here: a link made " +
                    "with the new token takes over.");
            }
            catch
            {
                claim.Dispose();
                throw;
            }
        }

        return claim;
    }

    private LinkClaim Refuse(LinkClaim claim, string why)
    {
        _metrics.Refused(Refusal.SecondLink);
        SecondLinkRefused?.Invoke(claim.Machine);
        return new LinkClaim(this, claim.Machine, claim.TokenHash, claim.Remote, why);
    }

    internal void Unclaim(LinkClaim claim) => _claims.TryRemove(new KeyValuePair<string, LinkClaim>(claim.Machine, claim));

    /// <summary>Registers a machine's control link (and, in a cluster, records it); returns what to detach when it ends.</summary>
    internal async Task<MachineLink> AttachAsync(LinkClaim claim, WebSocket socket)
    {
        var link = new MachineLink(claim.Machine, socket, claim.TokenHash, claim.Remote, _clock.GetUtcNow());
        MachineLink? replaced = null;
        _machines.AddOrUpdate(claim.Machine, link, (_, older) =>
        {
            replaced = older;
            return link;
        });
        claim.Dispose();
        // Left here only when made with a token since replaced, or ended a moment ago: its handler detaches it.
        replaced?.Abort();
        _metrics.MachineConnected(1);
        var machine = claim.Machine;
        if (_cluster is not null)
        {
            await _cluster.LinkedAsync(machine);
        }

        Attached?.Invoke(machine);
        return link;
    }

    internal async Task DetachAsync(MachineLink link)
    {
        _metrics.MachineConnected(-1);
        link.End();
        // A link already replaced by the machine's newer one leaves the machine's record alone.
        if (_machines.TryRemove(new KeyValuePair<string, MachineLink>(link.Machine, link)) && _cluster is not null)
        {
            await _cluster.UnlinkedAsync(link.Machine);
        }
    }

    /// <summary>The addresses of the cluster's live instances for a machine's welcome; null for a hub on its own.</summary>
    internal Task<string[]>? InstancesAsync(CancellationToken cancellationToken) => _cluster?.InstancesAsync(cancellationToken);

    /// <summary>
    /// Asks the machine to dial back for one phone connection and waits for it; null when the machine is not connected,
    /// its link ended first, or it did not dial back in time.
    /// </summary>
    internal async Task<PendingStream?> OpenStreamAsync(string machine, string remote, CancellationToken cancellationToken)
    {
        var local = _machines.TryGetValue(machine, out var link);
        if (!local && _cluster is null)
        {
            _metrics.Refused(Refusal.Offline);
            return null;
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var pending = new PendingStream(machine);
        _pending[id] = pending;
        try
        {
            var asked = local
                ? await link!.SendAsync(OpenMessage(id, remote, dial: null), cancellationToken)
                : await _cluster!.RequestDialBackAsync(machine, id, remote, cancellationToken);
            if (!asked)
            {
                _metrics.Refused(Refusal.Offline);
                return null;
            }

            // A link that ends first (its machine stopping, or its network gone) will never bring the dial-back: the phone
            // is refused then, as for a machine that is not connected, not left waiting for the timeout.
            var first = await Task.WhenAny(pending.Arrived, local ? link!.Ended : Never).WaitAsync(DialBackTimeout, _clock, cancellationToken);
            if (first != pending.Arrived)
            {
                _pending.TryRemove(id, out _);
                // A dial-back let in at this very moment is let go again.
                pending.Finish();
                _metrics.Refused(Refusal.Offline);
                return null;
            }

            return pending;
        }
        catch (TimeoutException)
        {
            _metrics.Refused(Refusal.DialBackTimeout);
            return null;
        }
        catch (OperationCanceledException)
        {
            // The phone left (or the hub is stopping) before its machine dialled back.
            return null;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Another instance holds a phone for a machine linked here: the machine is asked to dial back there.</summary>
    private async Task ForwardAsync(DialRequest request)
    {
        if (_machines.TryGetValue(request.Machine, out var link))
        {
            try
            {
                await link.SendAsync(OpenMessage(request.Stream, request.Remote, request.Dial), _closing.Token);
            }
            catch (OperationCanceledException)
            {
                // This instance is stopping; the phone's instance times the request out.
            }
        }
    }

    private static string OpenMessage(string stream, string remote, string? dial) =>
        JsonSerializer.Serialize(new HubMessage(HubMessage.Open, Stream: stream, Remote: remote, Dial: dial), HubJson.Default.HubMessage);

    /// <summary>Hands a machine's dial-back to the phone connection waiting for it; false for an unknown or foreign id.</summary>
    /// <remarks>Another machine's id is left in place for its own machine, not taken out of its reach.</remarks>
    internal bool TryAccept(string id, string machine, WebSocket socket, out PendingStream pending) =>
        _pending.TryGetValue(id, out pending!) && pending.Machine == machine
        && _pending.TryRemove(new KeyValuePair<string, PendingStream>(id, pending)) && pending.Accept(socket);
}

/// <summary>
/// The right to link a machine, while it is decided and set up; disposing it lets the next link for the machine be
/// decided. <see cref="Refusal"/> says why a newcomer may not link (it holds no right then).
/// </summary>
internal sealed class LinkClaim(Tunnels tunnels, string machine, byte[] tokenHash, string remote, string? refusal = null) : IDisposable
{
    public string Machine { get; } = machine;

    public byte[] TokenHash { get; } = tokenHash;

    public string Remote { get; } = remote;

    public string? Refusal { get; } = refusal;

    public void Dispose() => tunnels.Unclaim(this);
}

/// <summary>One machine's control link; sends are serialized (a WebSocket allows one at a time).</summary>
internal sealed class MachineLink(string machine, WebSocket socket, byte[] tokenHash, string remote, DateTimeOffset since)
{
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Machine { get; } = machine;

    public WebSocket Socket { get; } = socket;

    /// <summary>What is stored of the token it signed in with: a newcomer with another token (a new one) takes its place at once.</summary>
    public byte[] TokenHash { get; } = tokenHash;

    /// <summary>The machine's address, as this link came from it.</summary>
    public string Remote { get; } = remote;

    public DateTimeOffset Since { get; } = since;

    /// <summary>Completes when the hub has let go of the link (closed, dropped, or ended by its keep-alive).</summary>
    public Task Ended => _ended.Task;

    public void End() => _ended.TrySetResult();

    public async Task<bool> SendAsync(string text, CancellationToken cancellationToken)
    {
        await _send.WaitAsync(cancellationToken);
        try
        {
            await Socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);
            return true;
        }
        catch (Exception exception) when (exception is WebSocketException or ObjectDisposedException)
        {
            // The link went down meanwhile.
            return false;
        }
        finally
        {
            _send.Release();
        }
    }

    public void Abort() => Socket.Abort();
}

/// <summary>A phone connection waiting for its machine's dial-back, then the pair of them until the splice ends.</summary>
internal sealed class PendingStream(string machine)
{
    private readonly TaskCompletionSource<WebSocket> _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Machine { get; } = machine;

    public Task<WebSocket> Arrived => _arrived.Task;

    /// <summary>Completes when the splice is over: the dial-back request ends with it.</summary>
    public Task Finished => _finished.Task;

    public bool Accept(WebSocket socket) => _arrived.TrySetResult(socket);

    public void Finish() => _finished.TrySetResult();
}
