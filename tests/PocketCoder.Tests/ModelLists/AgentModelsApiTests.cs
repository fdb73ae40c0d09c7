using System.Net;
using System.Net.Http.Json;
using PocketCoder.Agents;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.ModelLists;

/// <summary>
/// <c>/api/agents/{agentId}/models</c> around an agent with no process (the real CLIs' lists: <c>AgentModelsTests</c>): asked of
/// the agent once and kept, told afresh by every session that chose no model, asked again on refresh, and never taken from a
/// session that chose its own.
/// </summary>
public sealed class AgentModelsApiTests
{
    private static readonly AgentModel[] Offered = [new("small", "Small", "Quick answers"), new("large", "Large", null)];

    [Fact]
    public async Task NoSessionYet_TheAgentIsStartedOnceToBeAsked_ThenTheListIsKept()
    {
        var fake = new FakeAgent { Models = Offered };
        await using var world = await AgentWorld.FakeAsync(fake);

        var list = await world.Http.GetOkAsync("/api/agents/fake/models");
        Assert.Equal(["small", "large"], list.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(["Small", "Large"], list.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        Assert.Equal("Quick answers", list.GetProperty("models")[0].GetProperty("description").GetString());
        Assert.Equal("small", list.GetProperty("default").GetString());
        Assert.Equal("probe", list.GetProperty("source").GetString());
        Assert.Equal(1, fake.Starts);
        var probe = Assert.Single(fake.Started);
        Assert.Null(probe.Options!.Model);
        Assert.Empty(probe.Sent);
        Assert.Equal("stop", probe.EndedBy);
        // Its folder, an empty one of its own in the data folder, is gone with it.
        Assert.StartsWith(Path.Combine(world.Server.DataDirectory, "probes"), probe.Options.WorkingDirectory, StringComparison.Ordinal);
        Assert.False(Directory.Exists(probe.Options.WorkingDirectory));

        await world.Http.GetOkAsync("/api/agents/fake/models");
        Assert.Equal(1, fake.Starts);

        var refreshed = await ApiAssert.OkJsonAsync(await world.Http.PostAsync("/api/agents/fake/models/refresh", null));
        Assert.Equal("probe", refreshed.GetProperty("source").GetString());
        Assert.Equal(2, fake.Starts);
    }

    [Fact]
    public async Task TheProbe_TakesAnAgentSlot_EveryOneTaken_ItIsRefusedSayingSo_AndAskedAgainOnceOneIsFree()
    {
        var fake = new FakeAgent { Models = Offered };
        await using var world = await AgentWorld.FakeAsync(fake);
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        var running = await world.StartSessionAsync("hello", model: "large");
        await (await fake.SessionAsync(0)).Models;

        // Asked by anyone (every role may read the list), the probe would be a second agent process beside the limit's one.
        var viewer = await world.Server.PairPersonAsync("Vic", PocketCoder.Teams.Role.Viewer);
        var refused = await viewer.Http.GetAsync("/api/agents/fake/models");
        var problem = await ApiAssert.ProblemAsync(refused, HttpStatusCode.ServiceUnavailable, "AGENT_SLOTS_FULL");
        Assert.Contains("agent slots are taken", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, fake.Starts);

        // Not kept as a failure: once the slot is free, asking again starts the probe, which lets its slot go when done.
        (await world.Http.DeleteAsync($"/api/sessions/{running}")).EnsureSuccessStatusCode();
        await fake.Started[0].Exited;
        await WaitForRunningAsync(world, 0);
        var list = await viewer.Http.GetOkAsync("/api/agents/fake/models");
        Assert.Equal("probe", list.GetProperty("source").GetString());
        Assert.Equal(2, fake.Starts);
        await WaitForRunningAsync(world, 0);
    }

    private static async Task WaitForRunningAsync(AgentWorld world, int running)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await world.Http.GetOkAsync("/api/resources")).GetProperty("running").GetInt32() != running)
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    [Fact]
    public async Task ASessionWithoutAModel_TellsTheList_ASessionWithItsOwnModelDoesNot()
    {
        var fake = new FakeAgent { Models = Offered };
        await using var world = await AgentWorld.FakeAsync(fake);

        var chosen = await world.StartSessionAsync("hello", model: "large");
        await (await fake.SessionAsync(0)).Models;
        // A session that chose "large" says "large" is in use: that is not the agent's default, so the list is still asked for.
        var asked = await world.Http.GetOkAsync("/api/agents/fake/models");
        Assert.Equal("probe", asked.GetProperty("source").GetString());
        Assert.Equal("small", asked.GetProperty("default").GetString());
        Assert.Equal(2, fake.Starts);

        fake.Models = [.. Offered, new AgentModel("huge", "Huge", null)];
        await world.StartSessionAsync("hello again");
        var told = await WaitForAsync(world, list => list.GetProperty("source").GetString() == "session");
        Assert.Equal(["small", "large", "huge"], told.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(3, fake.Starts);
        Assert.NotNull(chosen);
    }

    [Fact]
    public async Task AnAgentThatNamesNoModels_HasAnEmptyList()
    {
        var fake = new FakeAgent();
        await using var world = await AgentWorld.FakeAsync(fake);
        var list = await world.Http.GetOkAsync("/api/agents/fake/models");
        Assert.Empty(list.GetProperty("models").EnumerateArray());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, list.GetProperty("default").ValueKind);
    }

    [Fact]
    public async Task UnknownAgent_IsAProblem()
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        var problem = await ApiAssert.ProblemAsync(await world.Http.GetAsync("/api/agents/nobody/models"), HttpStatusCode.NotFound, "UNKNOWN_AGENT");
        Assert.Contains("fake", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--yolo")]
    [InlineData("-m")]
    [InlineData("a b")]
    [InlineData("model;rm -rf /")]
    public async Task AModelThatCouldReadAsAnOption_IsRefused_WhereverAModelIsNamed(string model)
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/profiles", new { name = "p", agent = "fake", model }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "fake", prompt = "hi", model }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
    }

    [Fact]
    public async Task AnIdAsAgentsReportThem_IsAModel()
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        var profile = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/profiles",
            new { name = "qwen's own id", agent = "fake", model = "$runtime|openai|qwen3-coder(openai)" });
        Assert.Equal("$runtime|openai|qwen3-coder(openai)", profile.GetProperty("model").GetString());
    }

    /// <summary>The list once it satisfies <paramref name="done"/> (a session tells it as it starts, just after the 201).</summary>
    private static async Task<System.Text.Json.JsonElement> WaitForAsync(AgentWorld world, Func<System.Text.Json.JsonElement, bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var list = await world.Http.GetOkAsync("/api/agents/fake/models");
            if (done(list))
            {
                return list;
            }

            await Task.Delay(20, timeout.Token);
        }
    }
}
