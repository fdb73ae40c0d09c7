using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Server;

namespace PocketCoder.Health;

/// <param name="HandsBack">Its conversations can be listed, carried on here and handed back to a terminal (docs/api.md, Desk and phone).</param>
/// <param name="CheckedVersion">The newest version of this agent PocketCoder's agent matrix and bypass tests passed with; null for an agent never checked.</param>
/// <param name="NewerThanChecked">Set when the installed version is newer than <paramref name="CheckedVersion"/>, in words the phone shows.</param>
public sealed record AgentHealth(string Id, bool Available, string? Version, string? Detail, bool HandsBack, string? CheckedVersion = null,
    string? NewerThanChecked = null);

/// <param name="Sandbox">Whether agents can be sandboxed here: <c>available</c>, or <c>unavailable</c> (a warning says why and what to do);
/// <c>checking</c> for the moment after start-up that its probe still runs.</param>
/// <param name="Network">How a sandbox's network is held: <c>proxy</c> (a network of its own, whose one way out is PocketCoder's
/// proxy), or <c>unavailable</c> with the sandbox (never an open network: sandboxed sessions then do not start); <c>checking</c> with it.</param>
/// <param name="Resources">The limit on running agents and the memory they hold, in counts and sums (which session holds what:
/// <c>GET /api/resources</c>, for signed-in callers).</param>
/// <param name="PairCommand">The command that makes a pairing code on this machine, as this server runs (<c>pocketcoder pair</c>,
/// or <c>dotnet …/pocketcoder.dll pair</c> after a <c>dotnet run</c>, with <c>--data</c> for another data folder): the phone's help
/// names it, so the help works where the server runs.</param>
public sealed record HealthResponse(string Status, string Version, IReadOnlyList<AgentHealth> Agents, IReadOnlyList<string> Warnings, string Sandbox,
    string Network, HealthResources? Resources = null, string? PairCommand = null);

/// <param name="AgentLimit">Agent processes that may run at once.</param>
/// <param name="Running">Sessions whose agent runs.</param>
/// <param name="Queued">Sessions waiting for a slot.</param>
/// <param name="AgentsMemoryBytes">What the running agents' process trees hold.</param>
public sealed record HealthResources(int AgentLimit, int Running, int Queued, long AgentsMemoryBytes, long ServerMemoryBytes, long MachineMemoryBytes,
    long MachineAvailableBytes);

/// <summary>
/// Which agents are installed and what is missing, in words a user can act on. Probing runs each agent's <c>--version</c>
/// (over a second with four agents, cold), so the answer is never made to wait for it once there is one: the server probes
/// as it starts, and an answer older than <see cref="Freshness"/> is given at once while a new probe runs in the background
/// (New session shows the agents without a "looking for installed agents" pause). Only the very first caller before any probe
/// finished waits for it. A probe, once started, runs to the end whoever asked for it: an impatient client that gives up only
/// stops waiting, and concurrent callers share the one probe under way.
/// </summary>
public sealed class AgentHealthCache(AgentRegistry registry, TimeProvider clock) : IHostedService
{
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(30);
    private readonly Lock _lock = new();
    private Task<IReadOnlyList<AgentHealth>>? _probe;
    private IReadOnlyList<AgentHealth>? _last;
    private DateTimeOffset _probedAt;

    public Task<IReadOnlyList<AgentHealth>> GetAsync(CancellationToken cancellationToken)
    {
        Task<IReadOnlyList<AgentHealth>> probe;
        lock (_lock)
        {
            if (_probe is not { IsCompleted: false } && (_last is null || clock.GetUtcNow() - _probedAt >= Freshness))
            {
                // On the thread pool: starting each agent's process takes milliseconds, and the caller is answered from the last probe.
                _probe = Task.Run(ProbeAsync);
            }

            if (_last is { } last)
            {
                return Task.FromResult(last);
            }

            probe = _probe!;
        }

        return probe.WaitAsync(cancellationToken);
    }

    /// <summary>The probe under way or last made (what a test awaits for the next answer).</summary>
    internal Task<IReadOnlyList<AgentHealth>>? Probe
    {
        get
        {
            lock (_lock)
            {
                return _probe;
            }
        }
    }

    /// <summary>Probes as the server starts, so that the first phone to ask is answered from it.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = GetAsync(CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<IReadOnlyList<AgentHealth>> ProbeAsync()
    {
        var probes = registry.All.Select(async adapter =>
        {
            var availability = await adapter.ProbeAsync(CancellationToken.None).ConfigureAwait(false);
            // Where an installed agent lives is not for anonymous callers: say only what is missing.
            return new AgentHealth(adapter.Id, availability.Available, availability.Version, availability.Available ? null : availability.Detail,
                adapter is IAgentConversations, CheckedVersions.For(adapter.Id),
                CheckedVersions.Newer(adapter.Id, availability.Version));
        });
        var agents = await Task.WhenAll(probes).ConfigureAwait(false);
        lock (_lock)
        {
            _probedAt = clock.GetUtcNow();
            _last = agents;
        }

        return agents;
    }
}

public static class HealthApi
{
    public static readonly string Version =
        typeof(HealthApi).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>What <c>sandbox</c> and <c>network</c> say while the sandbox's probe, started as the server answers, still runs.</summary>
    public const string Checking = "checking";

    public static IServiceCollection AddHealth(this IServiceCollection services) => services.AddRunningSingleton<AgentHealthCache>();

    public static void MapHealth(this IEndpointRouteBuilder api) =>
        api.MapGet("/health", GetAsync).AllowAnonymous().WithName("Health");

    private static async Task<HealthResponse> GetAsync(AgentHealthCache agents, Database database, Sessions.Sandboxing sandboxing, Sessions.Resources resources,
        [Microsoft.AspNetCore.Mvc.FromServices] Server.PocketCoderOptions options, HttpContext context, CancellationToken cancellationToken)
    {
        var health = await agents.GetAsync(cancellationToken);
        var warnings = new List<string>();
        // Not known yet (the server has just started): said as such, rather than making the first answer wait for bubblewrap.
        var probed = sandboxing.Probed;
        var sandboxProblem = probed ? sandboxing.Problem : null;
        if (sandboxProblem is { } unsandboxed)
        {
            var remedy = Sessions.Sandboxing.Remedy(unsandboxed);
            warnings.Add($"Sessions of sandboxed projects (the default) cannot start: {unsandboxed} {char.ToUpperInvariant(remedy[0])}{remedy[1..]} " +
                "and restart PocketCoder, or set a project's sandbox to none to run its agents without one.");
        }

        if (!health.Any(a => a.Available))
        {
            warnings.Add("No coding agent is installed. Install one (e.g. `npm install -g @anthropic-ai/claude-code`) and restart PocketCoder.");
        }

        if (PocketCoder.Agents.Processes.ChildProcess.LauncherProblem is { } launcher)
        {
            warnings.Add(launcher);
        }

        var paired = database.Read(connection => connection.Scalar<long>("SELECT count(*) FROM devices WHERE revoked_at IS NULL"));
        // The command names this machine's paths (the program, the data folder): said to a paired device, or to whoever opens
        // the app before anyone is paired (the Pair screen shows it then), never to any caller of a server already in use.
        var pairCommand = paired == 0 || context.User.Identity?.IsAuthenticated == true ? Cli.SelfCommand.Pair(options.DataDirectory) : null;
        if (paired == 0)
        {
            warnings.Add($"No device is paired yet. Run `{pairCommand}` and enter the code on your phone.");
        }

        if (context.RequestServices.GetService<Reach.Hub.HubLink>() is { Connected: false } hub)
        {
            warnings.Add(hub.Problem);
        }

        if (context.RequestServices.GetService<Reach.Acme.AcmeRenewal>()?.Problem is { } acme)
        {
            warnings.Add(acme);
        }

        if (context.RequestServices.GetRequiredService<Previews.PreviewOrigin>().HubHost is { } previewHost && options.PreviewCertificate is null
            && options.Certificate?.Certificate.MatchesHostname(previewHost) == false)
        {
            // The owner's own certificate on a hub: the preview's name needs it too, or a phone's browser refuses its TLS.
            warnings.Add($"The certificate does not name {previewHost}: previews cannot open through the hub. Add that name to the " +
                "certificate (or leave --cert out and let ACME certify both names).");
        }

        if (context.RequestServices.GetRequiredService<Notifications.NotificationStore>().Failing() is { Count: > 0 } failing)
        {
            // Anonymous callers read this too: a count and a time, never a device's name or a push endpoint.
            warnings.Add($"Notifications to {failing.Count} device{(failing.Count == 1 ? "" : "s")} are failing (last attempt " +
                $"{failing.Max(c => c.LastAttemptAt):u}). Open Devices in the app to see why, or send a test notification.");
        }

        var now = resources.Now();
        if (now.Queued.Count > 0)
        {
            warnings.Add($"{now.Queued.Count} session{(now.Queued.Count == 1 ? " waits" : "s wait")} for an agent slot: {now.Running} of {now.Limit} run. " +
                "They start as running sessions finish or pause; the limit can be raised in Settings.");
        }

        return new HealthResponse("ok", Version, health, warnings,
            !probed ? Checking : sandboxProblem is null ? "available" : "unavailable",
            !probed ? Checking : sandboxProblem is null ? "proxy" : "unavailable",
            new HealthResources(now.Limit, now.Running, now.Queued.Count, now.AgentsMemoryBytes, now.ServerMemoryBytes, now.MachineMemoryBytes,
                now.MachineAvailableBytes), pairCommand);
    }
}
