using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Each named agent's models as the REAL CLI names them (ACP session models or its model option, Claude Code's initialize,
/// Codex's model/list, OpenCode's providers), asked through <c>/api/agents/{agent}/models</c> with no session yet: the agent is
/// started sandboxed in an empty folder, sent nothing, and stopped. Then a model picked from the list is the one the session
/// asks the model server for, and one an agent does not offer is said, not silently swapped.
/// </summary>
public sealed class AgentModelsTests
{
    public static TheoryData<string> Agents => [.. AgentWorld.Named];

    /// <summary>A model each agent offers under the tests' set-up (Copilot with a key of the owner's provider names none).</summary>
    private static readonly Dictionary<string, string?> Listed = new()
    {
        ["claude-code"] = "sonnet",
        [ClaudeAgentAcp.AgentId] = "sonnet",
        ["codex"] = "fake-model",
        ["opencode"] = "fake/fake-model",
        ["gemini"] = "gemini-2.5-pro",
        ["qwen"] = "fake-model",
        ["copilot"] = null,
        ["pi"] = "fake/fake-model",
        ["kilo"] = "fake/fake-model",
    };

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task TheList_AsTheAgentNamesIt_AskedWithoutASession(string agent)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        var list = await world.Http.GetOkAsync($"/api/agents/{agent}/models");
        var models = list.GetProperty("models").EnumerateArray().Select(m => (Id: m.GetProperty("id").GetString()!, Name: m.GetProperty("name").GetString()!)).ToList();
        Assert.Equal("probe", list.GetProperty("source").GetString());
        if (Listed[agent] is { } offered)
        {
            Assert.Contains(models, m => m.Id == offered || m.Name == offered);
            Assert.Contains(models, m => m.Id == list.GetProperty("default").GetString());
        }
        else
        {
            Assert.Empty(models);
        }

        // Nothing was asked of the model, no session exists, and the probe's folder is gone.
        Assert.DoesNotContain(world.Model.Requests, r => r.ConsumedScript);
        Assert.Empty((await world.Http.GetOkAsync("/api/sessions")).EnumerateArray());
        var probes = Path.Combine(world.Server.DataDirectory, "probes");
        Assert.True(!Directory.Exists(probes) || !Directory.EnumerateFileSystemEntries(probes).Any(), "a probe's folder was left behind");
    }

    [Theory]
    [InlineData("claude-code", "haiku", "haiku")]
    [InlineData(ClaudeAgentAcp.AgentId, "haiku", "haiku")]
    [InlineData("gemini", "gemini-2.5-pro", "gemini-2.5-pro")]
    [InlineData("pi", "fake/fake-model", "fake-model")]
    public async Task AModelPickedFromTheList_IsTheOneTheModelServerIsAskedFor(string agent, string picked, string asked)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        var list = await world.Http.GetOkAsync($"/api/agents/{agent}/models");
        Assert.Contains(list.GetProperty("models").EnumerateArray(), m => m.GetProperty("id").GetString() == picked);
        world.Model.Enqueue(ScriptedReply.Text("Answered by the picked model."));
        var sessionId = await world.StartSessionAsync("which model are you?", model: picked);
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        var request = world.Model.Requests.Last(r => r.ConsumedScript);
        Assert.Contains(asked, request.Model ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task AModelQwenDoesNotOffer_IsSaid_AndTheSessionRunsOnItsOwn()
    {
        await using var world = await AgentWorld.NamedAsync("qwen");
        world.Model.Enqueue(ScriptedReply.Text("Still here."));
        var sessionId = await world.StartSessionAsync("hello", model: "no-such-model");
        await using var events = await world.EventsAsync(sessionId);
        var said = await events.WaitForAsync("session.error");
        Assert.Contains("does not offer the model 'no-such-model'", said.Str("message"), StringComparison.Ordinal);
        Assert.Contains("fake-model", said.Str("message"), StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "message" && (e.Str("text") ?? "").Contains("Still here.", StringComparison.Ordinal));
        Assert.Equal("fake-model", world.Model.Requests.Last(r => r.ConsumedScript).Model);
    }
}
