using System.Collections.Concurrent;
using PocketCoder.Agents;
using PocketCoder.Errors;
using PocketCoder.Server;
using PocketCoder.Sessions;
using PocketCoder.Sessions.Running;

namespace PocketCoder.ModelLists;

/// <summary>What an agent said of its models, and when; <paramref name="Default"/> is the one it uses when none is chosen.</summary>
/// <param name="Source"><c>session</c>: a session of it said so as it started; <c>probe</c>: it was started to be asked.</param>
public sealed record ModelList(string Agent, IReadOnlyList<AgentModel> Models, string? Default, DateTimeOffset ReportedAt, string Source);

/// <summary>
/// The models each agent offers (docs/agents.md, "Models per agent"), for a profile's or a session's model picker. Every session of an
/// agent that starts without a chosen model tells it afresh; where none has yet, the agent is started once to be asked — in
/// an empty folder of its own, sandboxed as sessions are, with no prompt, stopped as soon as it has answered. An agent that names
/// no models (OpenCode's server is asked instead; Copilot CLI with a key of the owner's provider names none) has an empty list:
/// its model is then free text. A probe is an agent process like a session's: it takes one of the machine's agent slots
/// (<see cref="AgentSlots"/>), and only a free one nobody waits for.
/// </summary>
public sealed class ModelCatalog(AgentRegistry agents, Sandboxing sandboxing, AgentSlots slots, PocketCoderOptions options, TimeProvider clock,
    ILogger<ModelCatalog> logger)
{
    /// <summary>How long an agent may take to start and name its models before the probe gives up.</summary>
    internal static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(90);

    private readonly ConcurrentDictionary<string, ModelList> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<ModelList>>> _probes = new(StringComparer.Ordinal);

    /// <summary>Probes that failed, and when: asked again within <see cref="FailureKept"/>, the same answer, without starting the agent again.</summary>
    private readonly ConcurrentDictionary<string, (ApiProblem Problem, DateTimeOffset At)> _failures = new(StringComparer.Ordinal);

    internal static readonly TimeSpan FailureKept = TimeSpan.FromMinutes(1);

    /// <summary>What a session that chose no model said as it started (its current model is then the agent's default).</summary>
    public void Report(string agentId, AgentModels? models)
    {
        if (models is not null)
        {
            _known[agentId] = new ModelList(agentId, models.Models, models.Current, clock.GetUtcNow(), "session");
        }
    }

    /// <summary>The agent's models as last said; asked of the agent itself when never said, or when <paramref name="refresh"/> is set.</summary>
    /// <exception cref="ApiProblem"><c>UNKNOWN_AGENT</c> (404); <c>AGENT_UNAVAILABLE</c> or <c>SANDBOX_UNAVAILABLE</c> (503).</exception>
    public async Task<ModelList> GetAsync(string agentId, bool refresh, CancellationToken cancellationToken)
    {
        var adapter = agents.Find(agentId) ?? throw new ApiProblem(StatusCodes.Status404NotFound, ErrorCodes.UnknownAgent,
            $"Unknown agent '{agentId}'. Known agents: {string.Join(", ", agents.All.Select(a => a.Id))}.");
        if (!refresh && _known.TryGetValue(adapter.Id, out var known))
        {
            return known;
        }

        if (!refresh && _failures.TryGetValue(adapter.Id, out var failed) && clock.GetUtcNow() - failed.At < FailureKept)
        {
            throw failed.Problem;
        }

        // One probe per agent at a time: a second caller waits for the same answer (Lazy: GetOrAdd may make two, never start two).
        var probe = _probes.GetOrAdd(adapter.Id, _ => new Lazy<Task<ModelList>>(() => Task.Run(() => ProbeOnceAsync(adapter))));
        return await probe.Value.WaitAsync(cancellationToken);
    }

    /// <summary>The probe, its failure kept a while, and the next caller free to start another once it has ended.</summary>
    private async Task<ModelList> ProbeOnceAsync(IAgentAdapter adapter)
    {
        // Not kept as a failure: asked again once a slot is free, it starts.
        if (slots.TryTake("model-probe:" + adapter.Id) is not { } slot)
        {
            _probes.TryRemove(adapter.Id, out _);
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.AgentSlotsFull,
                $"All {slots.Limit} agent slots are taken, or a session waits for one: {adapter.Id} is asked for its models once one is free. " +
                "A model's name can be typed meanwhile.");
        }

        try
        {
            var list = await ProbeAsync(adapter);
            _failures.TryRemove(adapter.Id, out _);
            return list;
        }
        catch (ApiProblem problem)
        {
            _failures[adapter.Id] = (problem, clock.GetUtcNow());
            throw;
        }
        finally
        {
            slots.Release(slot);
            _probes.TryRemove(adapter.Id, out _);
        }
    }

    private async Task<ModelList> ProbeAsync(IAgentAdapter adapter)
    {
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        var folder = Directory.CreateDirectory(Path.Combine(options.DataDirectory, "probes", Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var start = new AgentStartOptions(folder, Model: null, ResumeAgentSessionId: null, NewAgentSessionId: Guid.NewGuid().ToString(),
                SessionModes.Ask, Path.Combine(options.DataDirectory, "logs", "probes"), logger, sandboxing.ForScratch(adapter.Id, folder));
            IAgentSession session;
            try
            {
                session = await adapter.StartAsync(start, NothingRuns.Instance, timeout.Token);
            }
            catch (AgentUnavailableException exception)
            {
                throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.AgentUnavailable, exception.Message);
            }

            await using (session)
            {
                try
                {
                    var models = await session.Models.WaitAsync(timeout.Token);
                    var list = new ModelList(adapter.Id, models?.Models ?? [], models?.Current, clock.GetUtcNow(), "probe");
                    _known[adapter.Id] = list;
                    return list;
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.AgentUnavailable,
                        $"{adapter.Id} did not name its models within {ProbeTimeout.TotalSeconds:0} seconds of starting.");
                }
                finally
                {
                    await session.StopAsync(CancellationToken.None);
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("The folder of a model probe of {Agent} was not removed: {Reason}", adapter.Id, exception.Message);
            }
        }
    }

    /// <summary>The probe's agent is sent no prompt; should it ask to run anything all the same, the answer is no.</summary>
    private sealed class NothingRuns : IAgentSink
    {
        public static readonly NothingRuns Instance = new();

        public ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(PermissionDecision.Deny("PocketCoder only asked which models this agent offers; nothing runs."));
    }
}
