using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace PocketCoder.Hub;

/// <summary>
/// Hub instances behind one domain, sharing a PostgreSQL database. Each instance records itself (an id and the address
/// machines can dial it at, refreshed every <see cref="Heartbeat"/>) and the machines whose control links it holds. A
/// phone that reaches an instance without its machine's link is announced with <c>NOTIFY</c> to the instance that has
/// it, which asks the machine to dial back to the phone's instance directly: bytes still take one hop, as with one hub,
/// and an instance going down ends only the connections spliced on it.
/// </summary>
public sealed partial class HubCluster(NpgsqlDataSource database, string advertise, ILogger<HubCluster> logger) : IHostedService, IAsyncDisposable
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(5);

    /// <summary>An instance silent this long is taken for gone: its machines are routed nowhere until they reconnect.</summary>
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(15);

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS hub_instances (id TEXT PRIMARY KEY, advertise TEXT NOT NULL, seen_at TIMESTAMPTZ NOT NULL);
        CREATE TABLE IF NOT EXISTS hub_links (machine TEXT PRIMARY KEY, instance TEXT NOT NULL, since TIMESTAMPTZ NOT NULL)
        """;

    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _listener = Task.CompletedTask;
    private Task _heartbeat = Task.CompletedTask;

    /// <summary>This instance's id, random at each start.</summary>
    public string Instance { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>Where machines dial this instance (host:port), when another instance asks them to.</summary>
    public string Advertise { get; } = advertise;

    /// <summary>Handles a phone held by another instance for a machine linked here (set by <see cref="Tunnels"/>).</summary>
    internal Func<DialRequest, Task>? DialRequested { get; set; }

    /// <summary>The machines linked here now (set by <see cref="Tunnels"/>): the heartbeat restores any record a failed write lost.</summary>
    internal Func<string[]>? LinkedMachines { get; set; }

    private string Channel => "pocketcoder_hub_" + Instance;

    /// <summary>Runs DDL with other instances held off (two starting at once would race on CREATE TABLE).</summary>
    public static string Serialized(string ddl) => $"BEGIN; SELECT pg_advisory_xact_lock(7420); {ddl}; COMMIT;";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ExecuteAsync(Serialized(Schema), cancellationToken);
        await BeatAsync(cancellationToken);
        _listener = ListenAsync(_stopping.Token);
        await _listening.Task.WaitAsync(cancellationToken);
        _heartbeat = HeartbeatAsync(_stopping.Token);
        LogJoined(logger, Instance, Advertise);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_listener, _heartbeat);
        try
        {
            // Gone now rather than at the silence: phones for machines linked here are refused until they reconnect.
            await ExecuteAsync("DELETE FROM hub_links WHERE instance = @id; DELETE FROM hub_instances WHERE id = @id", cancellationToken, ("id", Instance));
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException)
        {
            LogDatabaseFailed(logger, "leaving the cluster", exception.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        await database.DisposeAsync();
    }

    /// <summary>Records that this instance holds the machine's link (taking it over from another instance).</summary>
    public async Task LinkedAsync(string machine)
    {
        try
        {
            await ExecuteAsync("""
                INSERT INTO hub_links (machine, instance, since) VALUES (@machine, @id, now())
                ON CONFLICT (machine) DO UPDATE SET instance = excluded.instance, since = excluded.since
                """, _stopping.Token, ("machine", machine), ("id", Instance));
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException)
        {
            // The heartbeat restores the record; phones on this instance reach the machine meanwhile.
            LogDatabaseFailed(logger, $"recording machine {machine}", exception.Message);
        }
    }

    public async Task UnlinkedAsync(string machine)
    {
        try
        {
            await ExecuteAsync("DELETE FROM hub_links WHERE machine = @machine AND instance = @id", _stopping.Token, ("machine", machine), ("id", Instance));
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: leaving the cluster removes all of this instance's records at once.
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException)
        {
            // The record ages out with this instance, or is replaced when the machine links elsewhere.
            LogDatabaseFailed(logger, $"forgetting machine {machine}", exception.Message);
        }
    }

    /// <summary>
    /// Asks the live instance holding the machine's link to have it dial back here for a stream; false when no live
    /// instance holds it (or the database cannot be reached).
    /// </summary>
    public async Task<bool> RequestDialBackAsync(string machine, string stream, string remote, CancellationToken cancellationToken)
    {
        var payload = JsonSerializer.Serialize(new DialRequest(machine, stream, remote, Advertise), ClusterJson.Default.DialRequest);
        try
        {
            await using var command = Command("""
                SELECT pg_notify('pocketcoder_hub_' || l.instance, @payload)
                FROM hub_links l JOIN hub_instances i ON i.id = l.instance
                WHERE l.machine = @machine AND l.instance <> @id AND i.seen_at > now() - @silence
                """, ("payload", payload), ("machine", machine), ("id", Instance), ("silence", Silence));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken);
        }
        catch (NpgsqlException exception)
        {
            LogDatabaseFailed(logger, $"routing a phone to machine {machine}", exception.Message);
            return false;
        }
    }

    /// <summary>The addresses of the live instances, which a machine tries in turn when its link drops.</summary>
    public async Task<string[]> InstancesAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = Command(
                "SELECT advertise FROM hub_instances WHERE seen_at > now() - @silence ORDER BY advertise", ("silence", Silence));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var addresses = new List<string>();
            while (await reader.ReadAsync(cancellationToken))
            {
                addresses.Add(reader.GetString(0));
            }

            return [.. addresses.Distinct(StringComparer.Ordinal)];
        }
        catch (NpgsqlException exception)
        {
            LogDatabaseFailed(logger, "listing instances", exception.Message);
            return [Advertise];
        }
    }

    /// <summary>One connection kept for LISTEN, reopened when it drops (requests sent meanwhile time out at the phone's instance).</summary>
    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, notification) => _ = HandleAsync(notification.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                _listening.TrySetResult();
                failures = 0;
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or IOException or TimeoutException)
            {
                LogDatabaseFailed(logger, "listening for other instances", exception.Message);
                if (!_listening.Task.IsCompleted && failures == 0)
                {
                    // At start, a database that cannot be reached is a start-up error, not a retry loop.
                    _listening.TrySetException(exception);
                    return;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(failures++, 5))), stoppingToken)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task HandleAsync(string payload)
    {
        try
        {
            if (JsonSerializer.Deserialize(payload, ClusterJson.Default.DialRequest) is { } request && DialRequested is { } handle)
            {
                await handle(request);
            }
        }
        catch (JsonException exception)
        {
            LogDatabaseFailed(logger, "reading a request from another instance", exception.Message);
        }
    }

    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Heartbeat);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await BeatAsync(stoppingToken);
                }
                catch (NpgsqlException exception)
                {
                    LogDatabaseFailed(logger, "the heartbeat", exception.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Says this instance is alive, restores link records a failed write lost (never taking a machine another instance
    /// recorded since), and clears what instances gone for a minute left behind.
    /// </summary>
    private Task BeatAsync(CancellationToken cancellationToken) => ExecuteAsync("""
        INSERT INTO hub_instances (id, advertise, seen_at) VALUES (@id, @advertise, now())
        ON CONFLICT (id) DO UPDATE SET seen_at = now();
        INSERT INTO hub_links (machine, instance, since) SELECT m, @id, now() FROM unnest(@machines) AS m
        ON CONFLICT (machine) DO NOTHING;
        DELETE FROM hub_instances WHERE seen_at < now() - interval '1 minute';
        DELETE FROM hub_links l WHERE NOT EXISTS (SELECT 1 FROM hub_instances i WHERE i.id = l.instance)
        """, cancellationToken, ("id", Instance), ("advertise", Advertise), ("machines", LinkedMachines?.Invoke() ?? []));

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = database.CreateCommand(sql);
        command.Parameters.AddRange(parameters.Select(p => new NpgsqlParameter(p.Name, p.Value)).ToArray());
        return command;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Hub instance {Instance} joined its cluster; machines dial it at {Advertise}")]
    private static partial void LogJoined(ILogger logger, string instance, string advertise);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster database failed while {Doing}: {Reason}")]
    private static partial void LogDatabaseFailed(ILogger logger, string doing, string reason);
}

/// <summary>A phone waiting at instance <see cref="Dial"/> for <see cref="Machine"/>, sent to the instance holding its link.</summary>
public sealed record DialRequest(string Machine, string Stream, string Remote, string Dial);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DialRequest))]
internal sealed partial class ClusterJson : JsonSerializerContext;
