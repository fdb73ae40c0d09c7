using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace PocketCoder.Hub;

/// <summary>
/// Kestrel connection middleware, ahead of TLS: reads the ClientHello's server name without consuming it. The hub's own
/// name (or none) continues into the hub's TLS and HTTP; <c>&lt;machine&gt;.&lt;domain&gt;</c> (and its preview origin,
/// <c>preview.&lt;machine&gt;.&lt;domain&gt;</c>) is spliced, bytes untouched, to that machine's dial-back, so TLS ends in
/// the machine's own server and the hub sees only ciphertext.
/// </summary>
internal sealed partial class SniRouter(HubOptions options, Admissions admissions, Tunnels tunnels, HubMetrics metrics, ILogger<SniRouter> logger)
{
    private readonly Dictionary<string, int> _byMachine = new(StringComparer.Ordinal);
    private readonly string _suffix = "." + options.Domain;

    /// <summary>
    /// Every connection is held to <see cref="Admissions"/>' caps and deadlines until it proves itself: a ClientHello
    /// naming one of the hub's machines (a phone's stream, which stays counted at its address), or, naming the hub
    /// itself or nothing, a machine signing in within <see cref="HubOptions.SignInTimeout"/>.
    /// </summary>
    public async Task RouteAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        using var admission = admissions.Admit(connection);
        if (admission is null)
        {
            connection.Abort(new ConnectionAbortedException("Too many connections from this address."));
            return;
        }

        var input = connection.Transport.Input;
        var remote = connection.RemoteEndPoint?.ToString() ?? "unknown";
        var (verdict, hello, name, _) = await ClientHello.PeekAsync(input, options.HelloTimeout, connection.ConnectionClosed);
        if (verdict != HelloVerdict.Complete)
        {
            Drop(input, hello);
            if (admission.End(Refusal.Hello))
            {
                LogRefusedHello(logger, remote);
            }

            return;
        }

        if (name is null || name == options.Domain)
        {
            // The hub's own endpoints: TLS reads the same bytes again, and the endpoints tell the admission of a sign-in.
            input.AdvanceTo(hello.Start);
            if (admission.AwaitSignIn())
            {
                connection.Features.Set(admission);
                await next(connection);
            }

            return;
        }

        if (!admission.Routed())
        {
            // Closed meanwhile, for a newer connection.
            Drop(input, hello);
            return;
        }

        await SpliceToMachineAsync(connection, input, hello, name, remote);
    }

    private async Task SpliceToMachineAsync(ConnectionContext connection, PipeReader input, ReadOnlySequence<byte> hello, string name, string remote)
    {
        // The machine's own name, or its preview origin's (preview.<machine>): both go to the machine, which tells them apart.
        var machine = name.EndsWith(_suffix, StringComparison.Ordinal) ? HubProtocol.MachineOf(name[..^_suffix.Length]) : null;
        if (machine is null || !MachineRegistry.MachineName().IsMatch(machine))
        {
            metrics.Refused(Refusal.UnknownName);
            Refuse(connection, input, hello);
            return;
        }

        if (!Enter(machine))
        {
            metrics.Refused(Refusal.Limit);
            Refuse(connection, input, hello);
            return;
        }

        try
        {
            var stream = await tunnels.OpenStreamAsync(machine, remote, connection.ConnectionClosed);
            if (stream is null)
            {
                Refuse(connection, input, hello);
                return;
            }

            metrics.StreamOpened();
            try
            {
                await SpliceAsync(connection, hello, await stream.Arrived);
            }
            finally
            {
                metrics.StreamClosed();
                stream.Finish();
            }
        }
        finally
        {
            Leave(machine);
        }
    }

    private static void Refuse(ConnectionContext connection, PipeReader input, ReadOnlySequence<byte> hello)
    {
        Drop(input, hello);
        connection.Abort();
    }

    /// <summary>Ends the read the ClientHello was peeked with, the bytes consumed.</summary>
    private static void Drop(PipeReader input, ReadOnlySequence<byte> hello)
    {
        if (hello.Length > 0)
        {
            input.AdvanceTo(hello.End);
        }
    }

    /// <summary>Both directions until either side ends or nothing moves for the idle timeout.</summary>
    private async Task SpliceAsync(ConnectionContext connection, ReadOnlySequence<byte> hello, WebSocket machine)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, tunnels.Closing);
        idle.CancelAfter(options.IdleTimeout);
        var input = connection.Transport.Input;
        try
        {
            await SendAsync(machine, hello, idle.Token);
            input.AdvanceTo(hello.End);
            var up = PhoneToMachineAsync(input, machine, idle);
            var down = MachineToPhoneAsync(machine, connection.Transport.Output, idle);
            await Task.WhenAny(up, down);
            await idle.CancelAsync();
            // The splice is over either way; which side failed first does not matter.
            await Task.WhenAll(up, down).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException or IOException or ConnectionResetException)
        {
            // One side went away; the other is closed below.
        }
        finally
        {
            machine.Abort();
            connection.Abort();
        }
    }

    private async Task PhoneToMachineAsync(PipeReader input, WebSocket machine, CancellationTokenSource idle)
    {
        while (true)
        {
            var result = await input.ReadAsync(idle.Token);
            await SendAsync(machine, result.Buffer, idle.Token);
            input.AdvanceTo(result.Buffer.End);
            idle.CancelAfter(options.IdleTimeout);
            if (result.IsCompleted)
            {
                await machine.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, idle.Token);
                return;
            }
        }
    }

    private async Task MachineToPhoneAsync(WebSocket machine, PipeWriter output, CancellationTokenSource idle)
    {
        while (true)
        {
            // Wait for bytes holding no buffer (a zero-byte receive): an idle stream then costs the hub no read buffer.
            var waiting = machine.ReceiveAsync(Memory<byte>.Empty, idle.Token);
            if (!waiting.IsCompleted)
            {
                // Nothing more is waiting: send the phone what has come so far. While messages queue up (an SSE burst)
                // they go out together, one flush for many.
                await output.FlushAsync(idle.Token);
            }

            if ((await waiting).MessageType != WebSocketMessageType.Close)
            {
                // Straight into the phone's output pipe: no copy, no buffer of our own. No size hint: one larger than the
                // pipe's pooled blocks (4 KiB) gets an unpooled segment each time, which cut the SSE rate by a third.
                var received = await machine.ReceiveAsync(output.GetMemory(), idle.Token);
                if (received.MessageType != WebSocketMessageType.Close)
                {
                    output.Advance(received.Count);
                    metrics.ToPhone(received.Count);
                    idle.CancelAfter(options.IdleTimeout);
                    continue;
                }
            }

            await output.CompleteAsync();
            return;
        }
    }

    private async Task SendAsync(WebSocket machine, ReadOnlySequence<byte> bytes, CancellationToken cancellationToken)
    {
        foreach (var segment in bytes)
        {
            await machine.SendAsync(segment, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            metrics.ToMachine(segment.Length);
        }
    }

    /// <summary>Counts one more stream to the machine, unless it has <see cref="HubOptions.MaxStreamsPerMachine"/> already.</summary>
    private bool Enter(string machine)
    {
        lock (_byMachine)
        {
            var open = _byMachine.GetValueOrDefault(machine);
            if (open >= options.MaxStreamsPerMachine)
            {
                return false;
            }

            _byMachine[machine] = open + 1;
            return true;
        }
    }

    private void Leave(string machine)
    {
        lock (_byMachine)
        {
            if (--_byMachine[machine] == 0)
            {
                _byMachine.Remove(machine);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refused a connection from {Remote}: no TLS ClientHello within the deadline")]
    private static partial void LogRefusedHello(ILogger logger, string remote);
}
