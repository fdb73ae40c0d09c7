using System.Net.Security;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PocketCoder.Hub;

/// <summary>
/// <c>pocketcoder hub</c>: one port for everything. Connections naming a machine are spliced to it (see
/// <see cref="SniRouter"/>); the hub's own name answers the machines' control links and dial-backs and the metrics.
/// </summary>
public static partial class HubServer
{
    public static WebApplication Build(HubOptions options, TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.UseServerLogging(options.ConsoleLogging, options.LogSink);

        var metrics = new HubMetrics();
        var (registry, database) = Storage(options);
        if (database is not null)
        {
            // Started before Kestrel listens: an instance is in the cluster before any machine links to it.
            builder.Services.AddSingleton(services => new HubCluster(database, options.Advertise!, services.GetRequiredService<ILogger<HubCluster>>()));
            builder.Services.AddHostedService(services => services.GetRequiredService<HubCluster>());
        }

        builder.Services.AddSingleton(clock ?? TimeProvider.System);
        builder.Services.AddSingleton(services => new Tunnels(metrics, services.GetRequiredService<TimeProvider>(), services.GetService<HubCluster>()));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<Admissions>();
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton<SniRouter>();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = options.MaxConnections;
            kestrel.Limits.MaxRequestBodySize = 0;
            KestrelListen.Bind(kestrel, options.Listen, listen =>
            {
                var router = listen.ApplicationServices.GetRequiredService<SniRouter>();
                listen.Use(next => connection => router.RouteAsync(connection, next));
                listen.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions { ServerCertificateContext = options.Certificate() }),
                    // The sign-in deadline ends (and counts) a handshake left half way first; this is only a net under it.
                    HandshakeTimeout = options.SignInTimeout * 2,
                });
            });
        });

        var app = builder.Build();
        var tunnels = app.Services.GetRequiredService<Tunnels>();
        // Upgraded connections would otherwise hold the shutdown for its whole timeout.
        app.Lifetime.ApplicationStopping.Register(tunnels.CloseAll);
        app.UseWebSockets();
        app.MapGet("/metrics", (HttpContext context) =>
        {
            // A scraper's connection would otherwise idle until the sign-in deadline closed it, and count as refused.
            context.Response.Headers.Connection = "close";
            return Results.Text(metrics.ToText(), "text/plain; version=0.0.4");
        });
        app.Map(HubProtocol.ConnectPath, (HttpContext context) => ControlLinkAsync(context, options, registry, tunnels));
        app.Map(HubProtocol.StreamPath + "{id}", (HttpContext context, string id) => DialBackAsync(context, id, options, registry, tunnels));
        return app;
    }

    /// <summary>The registry in SQLite for a hub on its own; in PostgreSQL for instances that share it (with the database for the cluster).</summary>
    private static (MachineRegistry, Npgsql.NpgsqlDataSource?) Storage(HubOptions options)
    {
        if (options.Postgres is not { } connectionString)
        {
            return (new MachineRegistry(options.DataDirectory), null);
        }

        if (options.Advertise is not { } advertise || !HubProtocol.IsDialAddress(advertise))
        {
            throw new ArgumentException(
                "A hub sharing PostgreSQL needs the address machines reach this instance itself at, as host:port (--advertise).", nameof(options));
        }

        var database = OpenPostgres(connectionString);
        return (new MachineRegistry(database), database);
    }

    /// <summary>
    /// A data source for the shared database, with TCP keep-alives so a connection the network silently dropped (the
    /// one kept for LISTEN above all) is noticed and reopened.
    /// </summary>
    public static Npgsql.NpgsqlDataSource OpenPostgres(string connectionString)
    {
        var builder = new Npgsql.NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.KeepAlive == 0)
        {
            builder.ConnectionStringBuilder.KeepAlive = 10;
        }

        return builder.Build();
    }

    /// <summary>The https URL phones use for a machine.</summary>
    public static string PublicUrl(string machine, HubOptions options, int boundPort)
    {
        var port = options.PublicPort ?? boundPort;
        return $"https://{machine}.{options.Domain}" + (port == 443 ? "" : $":{port}");
    }

    private static async Task ControlLinkAsync(HttpContext context, HubOptions options, MachineRegistry registry, Tunnels tunnels)
    {
        if (await AuthenticateAsync(context, registry) is not { } signedIn)
        {
            return;
        }

        var (machine, tokenHash) = signedIn;
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("PocketCoder.Hub");
        var remote = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        using var claim = await tunnels.ClaimAsync(machine, tokenHash, remote,
            HubProtocol.SilentLinkEndsWithin(options.KeepAliveInterval, options.KeepAliveTimeout), context.RequestAborted);
        if (claim.Refusal is { } refusal)
        {
            LogSecondLinkRefused(logger, machine, remote, refusal);
            await RefuseAsync(context, StatusCodes.Status409Conflict, refusal);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(KeepAlive(options));
        var link = await tunnels.AttachAsync(claim, socket);
        LogMachineConnected(logger, machine, remote);
        try
        {
            // From a cluster, the instances too (a few: the message stays small): the machine tries them when its link drops.
            var instances = tunnels.InstancesAsync(context.RequestAborted) is { } listing ? (await listing).Take(16).ToArray() : null;
            var welcome = new HubMessage(HubMessage.Welcome, PublicUrl: PublicUrl(machine, options, context.Connection.LocalPort), Instances: instances);
            await link.SendAsync(JsonSerializer.Serialize(welcome, HubJson.Default.HubMessage), context.RequestAborted);
            // The machine says nothing on this link (pings are the WebSocket's own): read only to see it close, waiting
            // with zero-byte receives so an idle link holds no buffer. Anything it does send is read and dropped.
            while ((await socket.ReceiveAsync(Memory<byte>.Empty, context.RequestAborted)).MessageType != WebSocketMessageType.Close)
            {
                var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(HubProtocol.MaxControlMessageBytes);
                try
                {
                    if ((await socket.ReceiveAsync(scratch.AsMemory(), context.RequestAborted)).MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
                }
            }

            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or IOException)
        {
            // Gone without a close: a dead link (keep-alive timeout) or a dropped connection.
        }
        finally
        {
            await tunnels.DetachAsync(link);
            LogMachineDisconnected(logger, machine);
        }
    }

    private static async Task DialBackAsync(HttpContext context, string id, HubOptions options, MachineRegistry registry, Tunnels tunnels)
    {
        if (await AuthenticateAsync(context, registry) is not { Machine: var machine })
        {
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(KeepAlive(options));
        if (!tunnels.TryAccept(id, machine, socket, out var stream))
        {
            // Unknown, expired or another machine's stream.
            await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "no such stream", context.RequestAborted);
            return;
        }

        // The splice runs on the phone's connection; this request (and so the socket) lives until it ends or the hub stops.
        await stream.Finished.WaitAsync(tunnels.Closing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// The machine a request signs in as, and the hash of its token; null (the response written) when it does not. Signed
    /// in, its connection leaves the caps and the deadline of connections that have proved nothing.
    /// </summary>
    private static async Task<(string Machine, byte[] TokenHash)?> AuthenticateAsync(HttpContext context, MachineRegistry registry)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null;
        if (registry.Authenticate(token) is not { } machine)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized,
                "A machine token issued by this hub is required (pocketcoder hub join); this one is unknown, replaced or removed.");
            return null;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "This endpoint takes a WebSocket.");
            return null;
        }

        context.Features.Get<Admission>()?.SignedIn();
        return (machine, MachineRegistry.Hash(token!));
    }

    /// <summary>The reason goes in a header too: a WebSocket client sees the headers of a refused upgrade, not its body.</summary>
    private static async Task RefuseAsync(HttpContext context, int status, string why)
    {
        context.Response.StatusCode = status;
        context.Response.Headers[HubProtocol.RefusalHeader] = why;
        await context.Response.WriteAsync(why);
    }

    private static WebSocketAcceptContext KeepAlive(HubOptions options) =>
        new() { KeepAliveInterval = options.KeepAliveInterval, KeepAliveTimeout = options.KeepAliveTimeout };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a second link for machine {Machine} from {Address}: {Reason}")]
    private static partial void LogSecondLinkRefused(ILogger logger, string machine, string address, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machine {Machine} connected from {Address}")]
    private static partial void LogMachineConnected(ILogger logger, string machine, string? address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machine {Machine} disconnected")]
    private static partial void LogMachineDisconnected(ILogger logger, string machine);
}
