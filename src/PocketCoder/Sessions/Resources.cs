using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Server;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Sessions;

/// <param name="Limit">Agent processes that may run at once; more sessions wait in line (status <c>queued</c>).</param>
/// <param name="LimitSource"><c>default</c> (from the machine's memory), <c>config</c> (<c>--max-agents</c> and its kin) or <c>owner</c> (set through the API).</param>
/// <param name="Running">Sessions holding a slot (their agent's process runs, or is starting).</param>
/// <param name="Queued">Sessions waiting for a slot, first in line first.</param>
/// <param name="Sessions">Each running session's memory: its agent's process tree, resident.</param>
/// <param name="AgentsMemoryBytes">The sum over <paramref name="Sessions"/> (an OpenCode server shared by sessions counts once).</param>
/// <param name="ServerMemoryBytes">PocketCoder's own resident memory.</param>
/// <param name="MachineMemoryBytes">The machine's memory (MemTotal).</param>
/// <param name="MachineAvailableBytes">What it could still give (MemAvailable).</param>
/// <param name="PerPersonLimit">The most agents one person may run at once (null: none but <paramref name="Limit"/>).</param>
public sealed record ResourcesResponse(int Limit, string LimitSource, int Running, IReadOnlyList<string> Queued, IReadOnlyList<SessionMemory> Sessions,
    long AgentsMemoryBytes, long ServerMemoryBytes, long MachineMemoryBytes, long MachineAvailableBytes, int? PerPersonLimit = null);

/// <param name="MemoryBytes">Resident bytes of the agent's process tree (its sandbox, the agent, what it runs now).</param>
public sealed record SessionMemory(string SessionId, string Agent, long MemoryBytes);

/// <param name="Limit">1 to 1000; null: back to the configured limit, or the default from the machine's memory.</param>
public sealed record SetAgentLimitRequest(int? Limit);

/// <summary>
/// The machine's agents as a resource: the limit on running agent processes (<see cref="AgentSlots"/>) and where it comes from,
/// and the memory each running session's process tree holds. The owner's limit is kept in <c>server_settings</c> and wins over
/// the configuration until cleared.
/// </summary>
public sealed class Resources(Database database, PocketCoderOptions options, AgentSlots slots, Live.LiveSessions live, Ledger.LedgerStore ledger)
    : IHostedService
{
    private const string LimitKey = "max_running_agents";
    private const string PerPersonKey = "max_running_agents_per_person";

    /// <summary>The limit with nothing set: the configuration's, else one from the machine's memory.</summary>
    public static int ConfiguredLimit(PocketCoderOptions options) => options.MaxRunningAgents ?? AgentSlots.DefaultFor(MachineMemory.Read().TotalBytes);

    /// <summary>The owner's limit as kept is applied as the server starts, before any session's agent.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (OwnersLimit() is { } limit)
        {
            slots.SetLimit(limit);
        }

        slots.SetPerPersonLimit(Setting(PerPersonKey));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>How long one pass over /proc answers for the same running processes: health is anonymous, and asked at will.</summary>
    private const long ScanReusedForMs = 1000;

    private readonly Lock _scanLock = new();
    private (long At, string Roots, IReadOnlyDictionary<int, long> Trees)? _lastScan;

    public ResourcesResponse Now()
    {
        var running = live.RunningProcesses();
        var trees = TreesOf([.. running.Select(r => r.ProcessId)]);
        var memory = running.Select(r => new SessionMemory(r.SessionId, r.Agent, trees.GetValueOrDefault(r.ProcessId))).ToList();
        var (machine, server) = MemoryNow();
        return new(slots.Limit, OwnersLimit() is not null ? "owner" : options.MaxRunningAgents is not null ? "config" : "default", slots.Running,
            slots.Waiting, memory, trees.Values.Sum(), server, machine.TotalBytes, machine.AvailableBytes, slots.PerPersonLimit);
    }

    private (long At, MachineMemory Machine, long Server)? _lastMemory;

    /// <summary>
    /// The machine's memory and the server's own, read at most once a second like the trees: read at every answer
    /// (/proc/meminfo line by line, a Process for this one), they made health the heaviest read, ~38 KB of garbage per
    /// answer against ~13 KB for the others, and what requests leave is what the GC keeps committed (docs/performance.md,
    /// "Footprint").
    /// </summary>
    private (MachineMemory Machine, long Server) MemoryNow()
    {
        var now = Environment.TickCount64;
        lock (_scanLock)
        {
            if (_lastMemory is { } last && now - last.At < ScanReusedForMs)
            {
                return (last.Machine, last.Server);
            }
        }

        var machine = MachineMemory.Read();
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        var server = self.WorkingSet64;
        lock (_scanLock)
        {
            _lastMemory = (now, machine, server);
        }

        return (machine, server);
    }

    /// <summary>The memory of each process tree: read from /proc at most once a second while the same processes run.</summary>
    private IReadOnlyDictionary<int, long> TreesOf(IReadOnlyCollection<int> roots)
    {
        var key = string.Join(',', roots.Order());
        var now = Environment.TickCount64;
        lock (_scanLock)
        {
            if (_lastScan is { } last && last.Roots == key && now - last.At < ScanReusedForMs)
            {
                return last.Trees;
            }
        }

        var trees = MemoryUse.OfTrees(roots);
        lock (_scanLock)
        {
            _lastScan = (now, key, trees);
        }

        return trees;
    }

    /// <summary>Sets (or, with null, clears) the owner's limit: raised, those first in line start now; lowered, nothing working is stopped.</summary>
    public ResourcesResponse SetLimit(int? limit, Actor actor)
    {
        Keep(LimitKey, limit, "limit", "that may run at once: 1 to 1000, or null for the default", actor);
        slots.SetLimit(limit ?? ConfiguredLimit(options));
        return Now();
    }

    /// <summary>Sets (or, with null, clears) the most agents one person may run at once; a person at it waits in line.</summary>
    public ResourcesResponse SetPerPersonLimit(int? limit, Actor actor)
    {
        Keep(PerPersonKey, limit, "perPerson", "one person may run at once: 1 to 1000, or null for no cap", actor);
        slots.SetPerPersonLimit(limit);
        return Now();
    }

    /// <summary>An owner's limit, checked, kept across restarts and ledgered.</summary>
    private void Keep(string key, int? limit, string field, string meaning, Actor actor)
    {
        if (limit is < 1 or > 1000)
        {
            throw ApiProblem.Validation($"'limit' is the number of agent processes {meaning}.");
        }

        database.Write(write =>
        {
            Store(write, key, limit);
            ledger.Append(write, actor.Name, "server.agent_limit_changed", key, new JsonObject { [field] = limit });
        });
    }

    private static void Store(DbWrite write, string key, int? value)
    {
        if (value is { } set)
        {
            write.Execute("INSERT INTO server_settings (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                ("$key", key), ("$value", set.ToString(CultureInfo.InvariantCulture)));
        }
        else
        {
            write.Execute("DELETE FROM server_settings WHERE key = $key", ("$key", key));
        }
    }

    /// <summary>Whose a session's agent is, for the line's turns (<see cref="Claimant"/>): who started it, and whether they are an owner now.</summary>
    public static Claimant ClaimantOf(Database database, string sessionId) => database.Read(connection => connection.Query(
        "SELECT coalesce(s.started_by_person, s.started_by, s.id), p.role FROM sessions s LEFT JOIN people p ON p.id = s.started_by_person AND p.revoked_at IS NULL WHERE s.id = $id",
        r => new Claimant(r.GetString(0), r.NullableString(1) == "owner"), ("$id", sessionId)).FirstOrDefault()) ?? Claimant.Nobody;

    private int? OwnersLimit() => Setting(LimitKey);

    private int? Setting(string key) => database.Read(connection => connection.Scalar<string>(
        "SELECT value FROM server_settings WHERE key = $key", ("$key", key))) is { } text
        && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit >= 1 ? limit : null;
}

public static class ResourcesApi
{
    public static IServiceCollection AddResources(this IServiceCollection services) => services
        .AddSingleton(provider => new AgentSlots(Resources.ConfiguredLimit(provider.GetRequiredService<PocketCoderOptions>()),
            sessionId => Resources.ClaimantOf(provider.GetRequiredService<Database>(), sessionId)))
        .AddRunningSingleton<Resources>();

    public static void MapResources(this IEndpointRouteBuilder api)
    {
        var group = api.MapGroup("/resources");
        group.MapGet("/", (Resources resources) => resources.Now()).WithName("GetResources");
        group.MapPut("/limit", (SetAgentLimitRequest request, Resources resources, ClaimsPrincipal user) => resources.SetLimit(request.Limit, user.Actor()))
            .WithName("SetAgentLimit");
        group.MapPut("/per-person-limit", (SetAgentLimitRequest request, Resources resources, ClaimsPrincipal user) =>
            resources.SetPerPersonLimit(request.Limit, user.Actor())).WithName("SetPerPersonAgentLimit");
    }
}
