using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Network;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Network;

/// <summary>
/// A fetch the agent was allowed never opens the network by itself (docs/security.md, "The network"): in a <c>trusted</c> session
/// the mode allows the fetch call, and the agent's own process then connecting to the hosts its input names is asked about as a
/// command's new host is (it used to pass unasked for ten minutes, every URL of the input, a prompt's too).
/// </summary>
public sealed class FetchHostTests
{
    [Fact]
    public async Task TrustedSession_AFetchTheModeAllowed_OpensNoHost_TheAgentsConnectionIsAskedAsAnyNewHost()
    {
        var fetched = new TaskCompletionSource<PermissionDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                var input = JsonSerializer.SerializeToElement(new { url = "https://docs.example.org/page", prompt = "and see https://exfil.example.net/?d=secret" });
                fetched.SetResult(await session.Sink!.RequestPermissionAsync(
                    new PermissionRequest("fetch-1", "WebFetch", ToolKind.Fetch, "Fetch https://docs.example.org/page", input, null, null, null), CancellationToken.None));
                await session.EndTurnAsync();
            },
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        var sessionId = await world.StartSessionAsync("read the docs", mode: "trusted");
        Assert.True((await fetched.Task.WaitAsync(TimeSpan.FromSeconds(30))).Allow, "the trusted mode did not allow the fetch call");

        var services = world.Server.Services;
        var session = new AskingSession(sessionId, world.ProjectId, world.Repository);
        var gate = new EgressGate([], session, new EgressWaits(TimeProvider.System), services.GetRequiredService<UnaskedConnections>(),
            services.GetRequiredService<Egress>().Fetches, new HostResolver(new Dictionary<string, string>()), TimeProvider.System);
        var agent = new PeerProcess(4242, "node agent", null, IsAgent: true);

        // Each host the fetch named is a question (denied here), never a pass; a host it did not name is refused with none.
        var docs = await gate.DecideAsync(new NetworkEndpoint("docs.example.org", 443), () => agent, CancellationToken.None);
        var exfil = await gate.DecideAsync(new NetworkEndpoint("exfil.example.net", 443), () => agent, CancellationToken.None);
        var other = await gate.DecideAsync(new NetworkEndpoint("updates.example.com", 443), () => agent, CancellationToken.None);

        Assert.False(docs.Allowed, docs.Reason);
        Assert.False(exfil.Allowed, exfil.Reason);
        Assert.False(other.Allowed, other.Reason);
        Assert.Equal(["network:docs.example.org:443", "network:exfil.example.net:443"], session.Asked.Select(r => r.Tool).ToArray());
        Assert.All(session.Asked, r => Assert.Equal(ToolKind.Network, r.Kind));
    }

    /// <summary>A session in a turn, in trusted mode, whose gate denies every connection it is asked about and records each.</summary>
    private sealed class AskingSession(string sessionId, string projectId, string projectPath) : IEgressSession
    {
        public List<PermissionRequest> Asked { get; } = [];

        public string SessionId => sessionId;

        public string ProjectId => projectId;

        public string ProjectPath => projectPath;

        public string Mode => "trusted";

        public bool InTurn => true;

        public Task<PermissionDecision> AskAsync(PermissionRequest request, CancellationToken cancellationToken)
        {
            lock (Asked)
            {
                Asked.Add(request);
            }

            return Task.FromResult(PermissionDecision.Deny("the test says no"));
        }
    }
}
