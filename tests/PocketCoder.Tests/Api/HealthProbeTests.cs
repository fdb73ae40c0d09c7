using PocketCoder.Agents;
using PocketCoder.Health;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>The first health check probes every agent (slow); a client that gives up must not waste the probe.</summary>
public sealed class HealthProbeTests
{
    [Fact]
    public async Task Get_FirstCallerGivesUp_ProbeFinishesAndTheNextCallerIsServedFromIt()
    {
        var agent = new SlowAgent();
        var cache = new AgentHealthCache(new AgentRegistry([agent]), new ManualClock());

        using (var impatient = new CancellationTokenSource())
        {
            var first = cache.GetAsync(impatient.Token);
            await agent.Started.Task;
            await impatient.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        }

        var second = cache.GetAsync(CancellationToken.None);
        var third = cache.GetAsync(CancellationToken.None);
        agent.Release.SetResult();
        Assert.True((await second).Single().Available);
        Assert.Same(await second, await third);
        Assert.True((await cache.GetAsync(CancellationToken.None)).Single().Available);
        Assert.Equal(1, agent.Probes);
    }

    [Fact]
    public async Task Get_AnAnswerOlderThanItsFreshness_GivenAtOnceWhileTheNextProbeRuns_ThenTheNewOne()
    {
        var agent = new SlowAgent();
        var clock = new ManualClock();
        var cache = new AgentHealthCache(new AgentRegistry([agent]), clock);
        agent.Release.SetResult();
        var first = await cache.GetAsync(CancellationToken.None);

        agent.Version = "2.0";
        agent.Release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.Started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        clock.Advance(TimeSpan.FromMinutes(1));
        // The probe that starts now is held: the answer must not wait for it (nor for starting it).
        var stale = cache.GetAsync(CancellationToken.None);
        Assert.True(stale.IsCompletedSuccessfully, "the caller waited for a probe although an answer was there");
        Assert.Same(first, await stale);
        await agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, agent.Probes);

        agent.Release.SetResult();
        await cache.Probe!.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("2.0", (await cache.GetAsync(CancellationToken.None)).Single().Version);
        Assert.Equal(2, agent.Probes);
    }

    private sealed class SlowAgent : IAgentAdapter
    {
        public TaskCompletionSource Started { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Version { get; set; } = "1.0";

        public int Probes { get; private set; }

        public string Id => "slow";

        public async Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken)
        {
            Probes++;
            Started.TrySetResult();
            // Like a real --version run: honours its token, so a probe tied to a request would die with it.
            await Release.Task.WaitAsync(cancellationToken);
            return new AgentAvailability(true, Version, "/usr/bin/slow");
        }

        public Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
