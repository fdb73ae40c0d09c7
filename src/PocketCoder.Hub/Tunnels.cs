using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace PocketCoder.Hub;

/// <summary>
/// The hub's routing table, in memory: which machines hold a control link now, and which phone connections wait for
/// their machine to dial back. A machine that connects again replaces its older link. In a cluster, phones for machines
/// linked to another instance are routed through <see cref="HubCluster"/>.
/// </summary>
public sealed class Tunnels
{
    /// <summary>How long a phone waits for its machine to dial back before its connection is closed.</summary>
    public static readonly TimeSpan DialBackTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, MachineLink> _machines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingStream> _pending = new(StringComparer.Ordinal);
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

    /// <summary>Registers a machine's control link (and, in a cluster, records it); returns what to detach when it ends.</summary>
    internal async Task<MachineLink> AttachAsync(string machine, WebSocket socket)
    {
        var link = new MachineLink(machine, socket);
        MachineLink? replaced = null;
        _machines.AddOrUpdate(machine, link, (_, older) =>
        {
            replaced = older;
            return link;
        });
        // The older link (a machine that reconnected before the hub noticed it was gone) ends; its handler detaches it.
        replaced?.Abort();
        _metrics.MachineConnected(1);
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
        // A link already replaced by the machine's newer one leaves the machine's record alone.
        if (_machines.TryRemove(new KeyValuePair<string, MachineLink>(link.Machine, link)) && _cluster is not null)
        {
            await _cluster.UnlinkedAsync(link.Machine);
        }
    }

    /// <summary>The addresses of the cluster's live instances for a machine's welcome; null for a hub on its own.</summary>
    internal Task<string[]>? InstancesAsync(CancellationToken cancellationToken) => _cluster?.InstancesAsync(cancellationToken);

    /// <summary>
    /// Asks the machine to dial back for one phone connection and waits for it; null when the machine is not connected
    /// or did not dial back in time.
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

            await pending.Arrived.WaitAsync(DialBackTimeout, _clock, cancellationToken);
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

/// <summary>One machine's control link; sends are serialized (a WebSocket allows one at a time).</summary>
internal sealed class MachineLink(string machine, WebSocket socket)
{
    private readonly SemaphoreSlim _send = new(1, 1);

    public string Machine { get; } = machine;

    public WebSocket Socket { get; } = socket;

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
