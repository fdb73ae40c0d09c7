using PocketCoder.Agents;
using PocketCoder.Data;

namespace PocketCoder.Health;

public sealed record AgentHealth(string Id, bool Available, string? Version, string? Detail);

public sealed record HealthResponse(string Status, string Version, IReadOnlyList<AgentHealth> Agents, IReadOnlyList<string> Warnings);

/// <summary>
/// Which agents are installed and what is missing, in words a user can act on. Probing runs each
/// agent's <c>--version</c>, so results are cached briefly: health is polled by dashboards.
/// </summary>
public sealed class AgentHealthCache(AgentRegistry registry, TimeProvider clock)
{
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (DateTimeOffset At, IReadOnlyList<AgentHealth> Agents)? _cached;

    public async Task<IReadOnlyList<AgentHealth>> GetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_cached is { } cached && clock.GetUtcNow() - cached.At < Freshness)
            {
                return cached.Agents;
            }

            var probes = registry.All.Select(async adapter =>
            {
                var availability = await adapter.ProbeAsync(cancellationToken);
                // Where an installed agent lives is not for anonymous callers: say only what is missing.
                return new AgentHealth(adapter.Id, availability.Available, availability.Version, availability.Available ? null : availability.Detail);
            });
            var agents = await Task.WhenAll(probes);
            _cached = (clock.GetUtcNow(), agents);
            return agents;
        }
        finally
        {
            _gate.Release();
        }
    }
}

public static class HealthApi
{
    public static readonly string Version =
        typeof(HealthApi).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static void MapHealth(this IEndpointRouteBuilder api) =>
        api.MapGet("/health", GetAsync).AllowAnonymous().WithName("Health");

    private static async Task<HealthResponse> GetAsync(AgentHealthCache agents, Database database, CancellationToken cancellationToken)
    {
        var health = await agents.GetAsync(cancellationToken);
        var warnings = new List<string>();
        if (!health.Any(a => a.Available))
        {
            warnings.Add("No coding agent is installed. Install one (e.g. `npm install -g @anthropic-ai/claude-code`) and restart PocketCoder.");
        }

        if (!File.Exists("/usr/bin/setsid") && !File.Exists("/bin/setsid"))
        {
            warnings.Add("setsid (util-linux) was not found: agent processes cannot be started. Install util-linux.");
        }

        var paired = database.Read(connection => connection.Scalar<long>("SELECT count(*) FROM devices WHERE revoked_at IS NULL"));
        if (paired == 0)
        {
            warnings.Add("No device is paired yet. Run `pocketcoder pair` and enter the code on your phone.");
        }

        return new HealthResponse("ok", Version, health, warnings);
    }
}
