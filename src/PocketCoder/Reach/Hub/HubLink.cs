using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using PocketCoder.Hub;
using PocketCoder.Server;

namespace PocketCoder.Reach.Hub;

/// <summary>
/// This machine's one outbound link to its hub: kept open, pinged (a dead link is noticed within 15 s), reconnected
/// with exponential backoff and jitter (so a hub restart is not met by every machine at once). For each phone the hub
/// announces, a fresh WebSocket is dialled back and handed to Kestrel through <see cref="HubTransport"/>. A clustered
/// hub names its instances in its welcome: after a failure the link tries the next of them, so the machine moves to a
/// live instance even when the hub's own address still leads to the one that went down.
/// </summary>
internal sealed partial class HubLink(PocketCoderOptions options, HubTransport transport, TimeProvider clock, ILogger<HubLink> logger)
    : BackgroundService
{
    /// <summary>Phone connections through the hub at once; past it, the hub's requests are ignored (a hub gone rogue cannot exhaust the machine).</summary>
    public const int MaxConnections = 512;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);
    private volatile bool _connected;
    private volatile string? _lastFailure;
    private int _open;

    // Where to connect: null is the hub's own address; then the instances the last welcome named.
    private List<string?> _targets = [null];

    /// <summary>Whether the control link is up now.</summary>
    public bool Connected => _connected;

    /// <summary>What a user should know while the link is down (health shows it).</summary>
    public string Problem =>
        $"Not connected to the hub {Membership.Hub}{(_lastFailure is { } why ? $" ({why})" : "")}: phones cannot reach this machine at " +
        $"{Membership.PublicUrl} until it is; it keeps retrying.";

    private HubMembership Membership => options.Hub!;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        var target = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var via = _targets[target % _targets.Count];
                using var socket = await Membership.ConnectAsync(HubProtocol.ConnectPath, stoppingToken, via);
                _connected = true;
                _lastFailure = null;
                failures = 0;
                LogConnected(logger, Membership.Hub, Membership.PublicUrl);
                await ReadControlAsync(socket, via, stoppingToken);
                _lastFailure = "the hub closed the link";
                LogLost(logger, Membership.Hub, _lastFailure);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested
                && exception is WebSocketException or HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                _lastFailure = exception.Message;
                LogLost(logger, Membership.Hub, exception.Message);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            finally
            {
                _connected = false;
            }

            target++;
            await Task.Delay(Backoff(failures++), clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>1, 2, 4 ... 60 s after consecutive failures, each scaled by a random 50–100 %.</summary>
    internal static TimeSpan Backoff(int failures) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(failures, 10))) * (0.5 + (Random.Shared.NextDouble() / 2)));

    private async Task ReadControlAsync(ClientWebSocket socket, string? via, CancellationToken cancellationToken)
    {
        var buffer = new byte[HubProtocol.MaxControlMessageBytes];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            if (!received.EndOfMessage || received.MessageType != WebSocketMessageType.Text)
            {
                throw new InvalidDataException("The hub sent a control message that is not one short text message.");
            }

            var message = JsonSerializer.Deserialize(buffer.AsSpan(0, received.Count), HubJson.Default.HubMessage);
            if (message is { Type: HubMessage.Open, Stream: { } stream } && IsStreamId(stream)
                && (message.Dial is null || HubProtocol.IsDialAddress(message.Dial)))
            {
                // To the instance holding the phone when another one asked; otherwise back the way this link came.
                _ = DialBackAsync(stream, message.Remote, message.Dial ?? via, cancellationToken);
            }
            else if (message is { Type: HubMessage.Welcome })
            {
                if (message.PublicUrl is { } publicUrl && publicUrl != Membership.PublicUrl)
                {
                    LogPublicUrlChanged(logger, Membership.PublicUrl, publicUrl);
                }

                if (message.Instances is { } instances)
                {
                    _targets = [null, .. instances.Where(HubProtocol.IsDialAddress).Take(16)];
                }
            }
        }
    }

    private async Task DialBackAsync(string stream, string? remote, string? dial, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _open) > MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            LogDialBackFailed(logger, $"already {MaxConnections} connections through the hub");
            return;
        }

        try
        {
            var socket = await Membership.ConnectAsync(HubProtocol.StreamPath + stream, cancellationToken, dial);
            var connection = new HubConnection(WebSocketStream.Create(socket, WebSocketMessageType.Binary, ownsWebSocket: true),
                IPEndPoint.TryParse(remote ?? "", out var address) ? address : null, () => Interlocked.Decrement(ref _open));
            if (!transport.TryDeliver(connection))
            {
                await connection.DisposeAsync();
            }
        }
        catch (Exception exception) when (exception is WebSocketException or HttpRequestException or IOException or OperationCanceledException)
        {
            Interlocked.Decrement(ref _open);
            LogDialBackFailed(logger, exception.Message);
        }
    }

    // The hub is not trusted with more than routing: an id is 32 hex digits, nothing that could reshape the URL.
    private static bool IsStreamId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to hub {Hub}; phones reach this machine at {PublicUrl}")]
    private static partial void LogConnected(ILogger logger, string hub, string publicUrl);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Link to hub {Hub} lost or refused: {Reason}; reconnecting")]
    private static partial void LogLost(ILogger logger, string hub, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The hub now names this machine {PublicUrl} (joined as {Joined}); pairing links use the joined one")]
    private static partial void LogPublicUrlChanged(ILogger logger, string joined, string publicUrl);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not dial back to the hub for a phone connection: {Reason}")]
    private static partial void LogDialBackFailed(ILogger logger, string reason);
}
