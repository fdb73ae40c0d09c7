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

    [Fact]
    public async Task Probe_AnExecutableThatReadsItsInput_GetsItsEnd_AndAnswersAtOnce()
    {
        // A wrapper that reads stdin before it does anything (as a stand-in agent does) held the probe, and with it the
        // first health answer, for the probe's whole 20 s, then counted as broken.
        var executable = Path.Combine(TempPaths.NewDirectory("pc-agent"), "claude");
        await File.WriteAllTextAsync(executable, "#!/bin/sh\nread -r line\necho \"9.9.9 (Claude Code)\"\n");
        File.SetUnixFileMode(executable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var command = new PocketCoder.Agents.Processes.AgentCommand(executable, new Dictionary<string, string?>());

        // Well inside the probe's own 20 s: a probe still waiting on its input fails here.
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var availability = await command.ProbeAsync("Claude Code", "install it", ["--version"], line => line.Split(' ')[0], patience.Token);

        Assert.True(availability.Available, availability.Detail);
        Assert.Equal("9.9.9", availability.Version);
        TempPaths.Delete(Path.GetDirectoryName(executable)!);
    }

    [Fact]
    public async Task Get_WhileTheSandboxProbeRuns_SaysChecking_AtOnce_ThenWhatItFound()
    {
        // A bubblewrap that answers only when let go: the probe, which starts as the server answers, is held for as long as
        // the test wants, and the first health answer must not wait for it (issue #72: it held the first answer ~0.2-0.4 s).
        var folder = TempPaths.NewDirectory("pc-bwrap");
        var go = Path.Combine(folder, "go");
        var bwrap = Path.Combine(folder, "bwrap");
        await File.WriteAllTextAsync(bwrap, $"#!/bin/sh\nwhile [ ! -e '{go}' ]; do sleep 0.05; done\necho 'bwrap: no namespaces here' >&2\nexit 1\n");
        File.SetUnixFileMode(bwrap, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            await using var server = await TestServer.StartAsync(bubblewrap: bwrap);
            var checking = await server.Anonymous.GetOkAsync("/api/health");
            Assert.Equal(HealthApi.Checking, checking.GetProperty("sandbox").GetString());
            Assert.Equal(HealthApi.Checking, checking.GetProperty("network").GetString());
            Assert.DoesNotContain(checking.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("bubblewrap", StringComparison.Ordinal));

            await File.WriteAllTextAsync(go, "");
            var found = checking;
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (found.GetProperty("sandbox").GetString() == HealthApi.Checking)
            {
                await Task.Delay(50, patience.Token);
                found = await server.Anonymous.GetOkAsync("/api/health");
            }

            Assert.Equal("unavailable", found.GetProperty("sandbox").GetString());
            Assert.Equal("unavailable", found.GetProperty("network").GetString());
            Assert.Contains(found.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("no namespaces here", StringComparison.Ordinal));
        }
        finally
        {
            await File.WriteAllTextAsync(go, "");
            TempPaths.Delete(folder);
        }
    }

    /// <summary>
    /// The phone's help ("run … pair") names a command that works where the server runs (#67): health, read before pairing,
    /// says it, as serve's own line does, and the warning about no paired device names the same.
    /// </summary>
    [Fact]
    public async Task Get_BeforePairing_NamesThePairCommandThatRunsHere()
    {
        await using var server = await TestServer.StartAsync();

        var health = await server.Anonymous.GetOkAsync("/api/health");

        var command = health.GetProperty("pairCommand").GetString()!;
        Assert.EndsWith($" pair --data {server.DataDirectory}", command, StringComparison.Ordinal);
        Assert.Contains(health.GetProperty("warnings").EnumerateArray(), w => w.GetString() == $"No device is paired yet. Run `{command}` and enter the code on your phone.");

        // Once a device is paired, the machine's paths are a paired device's to read, not any caller's.
        var phone = await server.PairAsync();
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await server.Anonymous.GetOkAsync("/api/health")).GetProperty("pairCommand").ValueKind);
        Assert.Equal(command, (await phone.Http.GetOkAsync("/api/health")).GetProperty("pairCommand").GetString());
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
