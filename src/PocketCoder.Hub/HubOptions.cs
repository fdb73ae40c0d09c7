namespace PocketCoder.Hub;

/// <summary>How a hub runs: where it listens, the domain its machines are named under, its own certificate and limits.</summary>
public sealed class HubOptions
{
    /// <summary>The hub's own name: machines are reached at <c>&lt;machine&gt;.&lt;Domain&gt;</c>.</summary>
    public required string Domain { get; init; }

    public string Listen { get; init; } = "https://0.0.0.0:443";

    /// <summary>The port phones use, when not the one the hub listens on (a port forward); default: the bound port.</summary>
    public int? PublicPort { get; init; }

    public required string DataDirectory { get; init; }

    /// <summary>The hub's own certificate, for <see cref="Domain"/> (its control endpoint and metrics): asked for at each handshake, so a renewal needs no restart.</summary>
    public required Func<System.Net.Security.SslStreamCertificateContext> Certificate { get; init; }

    /// <summary>How long a connection may take to send its ClientHello (slowloris).</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection naming the hub itself (or no name) has, after its ClientHello, to sign in as a machine with
    /// a control link or a dial-back; past it the connection is closed, whatever TLS or HTTP it is in the middle of.
    /// </summary>
    public TimeSpan SignInTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A spliced connection with no bytes either way for this long is closed (SSE heartbeats keep streams alive).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Connections from one address (an IPv6 /64 counts as one) until they sign in as a machine: strangers' and phones'.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 64;

    /// <summary>
    /// Connections that have proved nothing yet (no ClientHello read, or naming the hub and not signed in), from every
    /// address together: past it the oldest of them is closed for the newest, so a flood from many addresses is held to
    /// this and a phone, whose ClientHello comes at once, still gets through.
    /// </summary>
    public int MaxUnauthenticatedConnections { get; init; } = 1_000;

    public int MaxStreamsPerMachine { get; init; } = 256;

    /// <summary>Every connection the hub holds, phones and machines together.</summary>
    public int MaxConnections { get; init; } = 20_000;

    /// <summary>The hub pings each machine's link this often (when nothing else arrived) …</summary>
    public TimeSpan KeepAliveInterval { get; init; } = HubProtocol.KeepAliveInterval;

    /// <summary>… and ends a link whose answer has not come this long after a ping.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = HubProtocol.KeepAliveTimeout;

    /// <summary>
    /// A PostgreSQL connection string shared by several instances (registry and routing, see <see cref="HubCluster"/>);
    /// null: one instance with its registry in SQLite in <see cref="DataDirectory"/>.
    /// </summary>
    public string? Postgres { get; init; }

    /// <summary>With <see cref="Postgres"/>: host:port at which machines reach this instance itself, not just any instance.</summary>
    public string? Advertise { get; init; }

    public bool ConsoleLogging { get; init; } = true;

    public Microsoft.Extensions.Logging.ILoggerProvider? LogSink { get; init; }
}
