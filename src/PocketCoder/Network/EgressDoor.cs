using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Realtime;

namespace PocketCoder.Network;

/// <summary>
/// One sandboxed process's way out (docs/security.md, "The network"). A unix socket, bound into the sandbox, takes exactly one
/// visit: the sandbox's helper hands over the listeners it made in the sandbox's network namespace (the proxy and the model
/// relays of its <see cref="EgressLayout"/>), each checked to be where the layout says, and the socket is gone. From then on
/// the server serves those listeners itself: every connection the sandbox opens to them is decided (<see cref="EgressGate"/>),
/// relayed, counted and shown in the session's timeline. Disposed when the process ends: every connection through it ends too.
/// </summary>
public sealed class EgressDoor : IEgressDoor
{
    /// <summary>Connections open at once through one sandbox; more are refused until some end.</summary>
    private const int MaxConnections = 512;

    private readonly Socket _door;
    private readonly EgressLayout _layout;
    private readonly EgressGate _gate;
    private readonly Action<NetworkConnectionEvent>? _record;
    private readonly Action<HeldSecret, NetworkEndpoint>? _credentialUsed;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closing = new();
    private readonly List<Socket> _listeners = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<Socket> _connectors = new();
    private readonly SemaphoreSlim _refilling = new(1, 1);
    private readonly Task _running;
    private int _agentPid;
    private int _open;

    /// <param name="credentialUsed">Told each time a credential is put into a request to its host (the session's ledger line).</param>
    public EgressDoor(string socketPath, EgressLayout layout, EgressGate gate, Action<NetworkConnectionEvent>? record, ILogger logger,
        Action<HeldSecret, NetworkEndpoint>? credentialUsed = null)
    {
        (SocketPath, _layout, _gate, _record, _logger, _credentialUsed) = (socketPath, layout, gate, record, logger, credentialUsed);
        File.Delete(socketPath);
        _door = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _door.Bind(new UnixDomainSocketEndPoint(socketPath));
        _door.Listen(1);
        _running = Task.Run(RunAsync);
    }

    public string SocketPath { get; }

    /// <summary>The sandbox's first process (the agent), as the server's pid namespace numbers it; 0 until its network opened.</summary>
    public int AgentPid => _agentPid;

    /// <summary>Raised once, when the door closes with its process.</summary>
    public event Action? Disposed;

    /// <summary>Completes once the sandbox's listeners are taken (true), or when they never will be (false: it failed or ended first).</summary>
    public Task<bool> Opened => _opened.Task;

    private readonly TaskCompletionSource<bool> _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task RunAsync()
    {
        try
        {
            await TakeListenersAsync(_closing.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            if (!_closing.IsCancellationRequested)
            {
                NetworkLog.DoorFailed(_logger, SocketPath, exception.Message);
            }

            _opened.TrySetResult(false);
            return;
        }
        finally
        {
            // One visit only: nothing else in the sandbox can hand over listeners of its own later.
            _door.Dispose();
            File.Delete(SocketPath);
        }

        _opened.TrySetResult(true);
        var proxy = _listeners[0];
        List<Task> serving = [ServeAsync(proxy, client => HandleProxyAsync(client, (IPEndPoint)proxy.LocalEndPoint!))];
        for (var i = 0; i < _layout.Relays.Count; i++)
        {
            var (listener, target) = (_listeners[i + 1], _layout.Relays[i].Target);
            serving.Add(ServeAsync(listener, client => HandleRelayAsync(client, (IPEndPoint)listener.LocalEndPoint!, target)));
        }

        var forwards = _layout.ForwardListeners;
        for (var i = 0; i < forwards.Count; i++)
        {
            var (listener, forward) = (_listeners[1 + _layout.Relays.Count + i], forwards[i].Forward);
            serving.Add(ServeAsync(listener, client => HandleForwardAsync(client, forward)));
        }

        await Task.WhenAll(serving).ConfigureAwait(false);
    }

    /// <summary>Takes the helper's listeners, each checked against the layout, and says so to the helper (which then becomes the agent).</summary>
    private async Task TakeListenersAsync(CancellationToken cancellationToken)
    {
        using var helper = await _door.AcceptAsync(cancellationToken).ConfigureAwait(false);
        _agentPid = UnixRights.PeerPid(helper.SafeHandle);
        // Readable first (a zero-byte read waits for it), so the receive below never blocks a thread.
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await helper.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }

        var sockets = await ReceiveAsync(helper, _layout.Listeners, _layout.Connectors, cancellationToken).ConfigureAwait(false);
        _listeners.AddRange(sockets.Take(_layout.Listeners.Count));
        foreach (var connector in sockets.Skip(_layout.Listeners.Count))
        {
            _connectors.Enqueue(connector);
        }
    }

    /// <summary>
    /// Takes what a helper hands over: the <paramref name="listeners"/> where the layout says, then <paramref name="connectors"/>
    /// unconnected TCP sockets; says so to the helper, or refuses (and throws) when anything is not as asked.
    /// </summary>
    private static async Task<List<Socket>> ReceiveAsync(Socket helper, IReadOnlyList<IPEndPoint> listeners, int connectors, CancellationToken cancellationToken)
    {
        var buffer = new byte[256];
        var (length, fds) = UnixRights.Receive(helper.SafeHandle, buffer);
        var sockets = fds.Select(fd => new Socket(new SafeSocketHandle(fd, ownsHandle: true))).ToList();
        var problem = Encoding.ASCII.GetString(buffer, 0, length) != SandboxNetworkEntry.Greeting ? "an unexpected greeting"
            : sockets.Count != listeners.Count + connectors ? $"{sockets.Count} sockets, not {listeners.Count + connectors}"
            : sockets.Take(listeners.Count).Select((socket, i) => (socket, i)).FirstOrDefault(s => !Listening(s.socket, listeners[s.i])) is { socket: not null } wrong
                ? $"a listener not at {listeners[wrong.i]}"
            : sockets.Skip(listeners.Count).Any(socket => !Unconnected(socket)) ? "a connector that is not an unconnected TCP socket" : null;
        if (problem is not null)
        {
            sockets.ForEach(socket => socket.Dispose());
            await helper.SendAsync(Encoding.UTF8.GetBytes($"refused: {problem}\n"), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            throw new IOException($"the sandbox handed over {problem}");
        }

        await helper.SendAsync(Encoding.ASCII.GetBytes(SandboxNetworkEntry.Accepted), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        return sockets;
    }

    private static bool Listening(Socket socket, IPEndPoint expected) =>
        socket.SocketType == SocketType.Stream && socket.LocalEndPoint is IPEndPoint local && local.Equals(expected);

    private static bool Unconnected(Socket socket) =>
        socket.SocketType == SocketType.Stream && socket.AddressFamily == AddressFamily.InterNetwork && !socket.Connected
        && socket.LocalEndPoint is null or IPEndPoint { Port: 0 };

    /// <inheritdoc/>
    public async Task<Socket> ConnectInsideAsync(int port, CancellationToken cancellationToken)
    {
        if (!await Opened.WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new IOException("this sandbox's network never opened.");
        }

        if (!_connectors.TryDequeue(out var socket))
        {
            await RefillAsync(cancellationToken).ConfigureAwait(false);
            socket = _connectors.TryDequeue(out var made) ? made : throw new IOException("no way into the sandbox could be made.");
        }
        else if (_connectors.Count < 4)
        {
            _ = RefillAsync(CancellationToken.None);
        }

        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes more connectors: the helper run in the sandbox's network namespace (<c>nsenter</c>, into the user namespace that owns
    /// it, found from the server's side), handing them through a door of their own. One refill at a time.
    /// </summary>
    private async Task RefillAsync(CancellationToken cancellationToken)
    {
        await _refilling.WaitAsync(cancellationToken).ConfigureAwait(false);
        var path = $"{SocketPath[..^5]}-more.sock";
        try
        {
            if (_connectors.Count >= 4 || NetworkHelper.Command is not { } helper)
            {
                return;
            }

            using var owner = UnixRights.NetworkNamespaceOwner($"/proc/{_agentPid}/ns/net");
            using var door = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            File.Delete(path);
            door.Bind(new UnixDomainSocketEndPoint(path));
            door.Listen(1);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var spec = new Agents.Processes.ProcessSpec("nsenter",
                [$"--user=/proc/{Environment.ProcessId}/fd/{owner.DangerousGetHandle()}", $"--net=/proc/{_agentPid}/ns/net", "--preserve-credentials", "--",
                    .. SandboxNetworkEntry.ConnectorArguments(helper, path, 16)], "/", new Dictionary<string, string?>(), StderrLogPath: null);
            var running = Agents.Processes.ChildProcess.RunAsync(spec, 4096, TimeSpan.FromSeconds(30), timeout.Token);
            using var visit = await door.AcceptAsync(timeout.Token).ConfigureAwait(false);
            await visit.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            foreach (var connector in await ReceiveAsync(visit, [], 16, timeout.Token).ConfigureAwait(false))
            {
                _connectors.Enqueue(connector);
            }

            await running.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException)
        {
            NetworkLog.DoorFailed(_logger, path, $"no more ways in: {exception.Message}");
        }
        finally
        {
            File.Delete(path);
            _refilling.Release();
        }
    }

    private async Task ServeAsync(Socket listener, Func<Socket, Task> handle)
    {
        while (!_closing.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_closing.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            // Every write passed on as it comes: Nagle's wait on a relay would add a delayed ACK's 40 ms to small answers.
            client.NoDelay = true;
            if (Interlocked.Increment(ref _open) > MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                client.Dispose();
                continue;
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    await handle(client).ConfigureAwait(false);
                }
                finally
                {
                    client.Dispose();
                    Interlocked.Decrement(ref _open);
                }
            });
        }
    }

    /// <summary>A connection to the proxy: its request read, decided, and if allowed, relayed to the host.</summary>
    private async Task HandleProxyAsync(Socket client, IPEndPoint listener)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        // Who opened it, looked up once, and only when it matters (not for the agent's model): the process waits for its answer.
        PeerProcess? peer = null;
        var looked = false;
        PeerProcess? Who()
        {
            if (!looked && client.RemoteEndPoint is IPEndPoint remote)
            {
                (peer, looked) = (SandboxPeers.Find(_agentPid, remote, listener), true);
            }

            return peer;
        }

        var started = Stopwatch.GetTimestamp();
        ProxyRequest? request = null;
        try
        {
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(connection.Token);
            reading.CancelAfter(TimeSpan.FromSeconds(30));
            if (await Relay.ReadHeadAsync(client, ProxyRequest.MaxHead, reading.Token).ConfigureAwait(false) is not var (head, rest))
            {
                return;
            }

            request = ProxyRequest.Parse(head, out var problem);
            if (request is null)
            {
                await ProxyExchange.AnswerAsync(client, 400, "Bad Request", $"PocketCoder's sandbox proxy: {problem}.", connection.Token).ConfigureAwait(false);
                return;
            }

            var verdict = await DecideWatchingAsync(client, request.Target, Who, connection).ConfigureAwait(false);
            if (!verdict.Allowed)
            {
                Record(request.Target, verdict, new Transfer(0, 0), started, peer);
                await ProxyExchange.AnswerAsync(client, 403, "Forbidden", $"PocketCoder's sandbox: {verdict.Reason}", connection.Token).ConfigureAwait(false);
                return;
            }

            using var host = await _gate.ConnectAsync(request.Target, verdict.Model, connection.Token).ConfigureAwait(false);
            var transfer = request.IsConnect
                ? await ProxyExchange.TunnelAsync(client, host, rest, connection.Token).ConfigureAwait(false)
                : await ProxyExchange.ForwardAsync(client, host, request, rest, connection.Token).ConfigureAwait(false);
            Record(request.Target, verdict, transfer, started, peer);
        }
        catch (EgressRefusedException refused)
        {
            Record(request!.Target, new EgressVerdict(false, refused.Message), new Transfer(0, 0), started, peer, refused.Unreachable);
            await ProxyExchange.AnswerAsync(client, 502, "Bad Gateway", $"PocketCoder's sandbox proxy: {refused.Message}", connection.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The sandbox or the host went away (or the session ended): nothing left to answer.
        }
    }

    /// <summary>
    /// Waits for the decision while watching the client: one that closes (it gave up, or the sandbox ended) stops waiting, and
    /// other connections to the same host may still wait on the question (<see cref="EgressWaits"/>). A question withdrawn
    /// without a decision refuses the connection.
    /// </summary>
    private async Task<EgressVerdict> DecideWatchingAsync(Socket client, NetworkEndpoint target, Func<PeerProcess?> who, CancellationTokenSource connection)
    {
        using var gaveUp = CancellationTokenSource.CreateLinkedTokenSource(connection.Token);
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(connection.Token);
        var deciding = _gate.DecideAsync(target, who, gaveUp.Token);
        var watching = deciding.IsCompleted ? Task.CompletedTask : ProxyExchange.WatchForCloseAsync(client, watch.Token, gaveUp);
        try
        {
            return await deciding.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!connection.IsCancellationRequested)
        {
            return new EgressVerdict(false, gaveUp.IsCancellationRequested
                ? "The connection closed before anyone decided."
                : "Nobody decided, and the question was withdrawn.");
        }
        finally
        {
            await watch.CancelAsync().ConfigureAwait(false);
            await watching.ConfigureAwait(false);
        }
    }

    /// <summary>A connection to a model relay: the agent's model, as configured, passes.</summary>
    private async Task HandleRelayAsync(Socket client, IPEndPoint listener, NetworkEndpoint target)
    {
        var started = Stopwatch.GetTimestamp();
        // The agent's model: nobody is asked, so whose connection it is is not looked up (the timeline says the model).
        PeerProcess? peer = null;
        var verdict = new EgressVerdict(true, EgressVerdict.ModelReason, Model: true);
        try
        {
            using var host = await _gate.ConnectAsync(target, isModel: true, _closing.Token).ConfigureAwait(false);
            Record(target, verdict, await Relay.JoinAsync(client, host, _closing.Token).ConfigureAwait(false), started, peer);
        }
        catch (EgressRefusedException refused)
        {
            Record(target, new EgressVerdict(false, refused.Message), new Transfer(0, 0), started, peer, refused.Unreachable);
        }
        catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Ended.
        }
    }

    /// <summary>
    /// A request to the agent's model endpoint inside (<see cref="ModelForwarding"/>): the placeholders in its credential headers
    /// swapped for the real values, sent on to the model's real host, the answer passed back.
    /// </summary>
    private async Task HandleForwardAsync(Socket client, ModelForward forward)
    {
        var started = Stopwatch.GetTimestamp();
        var target = forward.Host;
        try
        {
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
            reading.CancelAfter(TimeSpan.FromSeconds(30));
            if (await Relay.ReadHeadAsync(client, ProxyRequest.MaxHead, reading.Token).ConfigureAwait(false) is not var (head, rest))
            {
                return;
            }

            // Checked before a login is read (and perhaps refreshed): a request the endpoint would refuse makes the server send
            // nothing to the token endpoint (an attacker review: garbage from the sandbox set off a refresh per connection).
            if (ModelForwarding.Rewrite(head, forward, out var problem) is null)
            {
                await ProxyExchange.AnswerAsync(client, 400, "Bad Request", $"PocketCoder's model endpoint: {problem}.", _closing.Token).ConfigureAwait(false);
                return;
            }

            // A login the server refreshes (Claude's subscription) is read as it is now; the placeholders stay what they were.
            var current = await forward.CurrentAsync(reading.Token).ConfigureAwait(false);
            if (ModelForwarding.Rewrite(head, current, out problem) is not var (rewritten, used))
            {
                await ProxyExchange.AnswerAsync(client, 400, "Bad Request", $"PocketCoder's model endpoint: {problem}.", _closing.Token).ConfigureAwait(false);
                return;
            }

            using var host = await _gate.ConnectAsync(target, isModel: true, _closing.Token).ConfigureAwait(false);
            foreach (var secret in used.Distinct())
            {
                _credentialUsed?.Invoke(secret, target);
            }

            var transfer = await ModelForwarding.ForwardAsync(client, host, forward, rewritten, rest, _closing.Token).ConfigureAwait(false);
            Record(target, new EgressVerdict(true, EgressVerdict.ModelReason, Model: true), transfer, started, null);
        }
        catch (Exception exception) when (exception is EgressRefusedException or System.Security.Authentication.AuthenticationException or LiveSecretException)
        {
            // The host could not be reached, or its certificate is not one the system trusts for its name: nothing was sent to it.
            Record(target, new EgressVerdict(false, exception.Message), new Transfer(0, 0), started, null);
            await ProxyExchange.AnswerAsync(client, 502, "Bad Gateway", $"PocketCoder's model endpoint: {exception.Message}", _closing.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The sandbox or the host went away (or the session ended).
        }
    }

    /// <param name="unreachable">Allowed, but the host could not be reached: outcome <c>failed</c>, not <c>denied</c>.</param>
    private void Record(NetworkEndpoint target, EgressVerdict verdict, Transfer transfer, long started, PeerProcess? peer, bool unreachable = false)
    {
        var outcome = unreachable ? NetworkConnectionEvent.Failed : verdict.Allowed ? NetworkConnectionEvent.Allowed : NetworkConnectionEvent.Denied;
        NetworkLog.Connection(_logger, target.ToString(), outcome, transfer.Sent, transfer.Received);
        _record?.Invoke(new NetworkConnectionEvent(target.Host, target.Port, outcome,
            verdict.Reason, transfer.Sent, transfer.Received, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            peer is null ? null : peer.IsAgent ? $"the agent ({peer.CommandLine})" : peer.CommandLine, peer?.Under));
    }

    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        Disposed?.Invoke();
        _door.Dispose();
        _listeners.ForEach(listener => listener.Dispose());
        while (_connectors.TryDequeue(out var connector))
        {
            connector.Dispose();
        }

        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A connection's handler ends with its sockets, closed by the cancellation: nothing to wait for further.
        }

        File.Delete(SocketPath);
    }
}

internal static partial class NetworkLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "A sandbox's network door {Door} failed: {Reason}")]
    public static partial void DoorFailed(ILogger logger, string door, string reason);

    /// <remarks>The host and port and the bytes; never what was sent (a tunnel's bytes are never read anyway).</remarks>
    [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "Sandbox connection to {Target} {Outcome}: {Sent} bytes sent, {Received} received")]
    public static partial void Connection(ILogger logger, string target, string outcome, long sent, long received);
}
