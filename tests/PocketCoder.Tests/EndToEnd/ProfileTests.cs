using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Agent profiles (#19) with the REAL Claude Code and Codex CLIs and the fake model: a session started from a profile
/// runs with its model, mode and instructions (seen in what the model receives), and the profile is recorded on it.
/// </summary>
public sealed class ProfileTests
{
    [Fact]
    public async Task Claude_SessionFromAProfile_RunsWithItsModelModeAndInstructions_ExplicitFieldsWin()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var path = $"/api/projects/{world.ProjectId}/profiles";

        // What cannot be a profile says why.
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(path, new { name = "x", agent = "nope" }), HttpStatusCode.BadRequest, "UNKNOWN_AGENT");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(path, new { agent = "claude-code" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(path, new { name = "x", agent = "claude-code", mode = "yolo" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");

        var created = await world.Http.PostAsJsonAsync(path, new
        {
            name = "Careful reviewer", agent = "claude-code", model = "claude-profile-model", mode = "plan",
            instructions = "Answer every question in exactly three words.",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var profile = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(path, new { name = "careful REVIEWER", agent = "claude-code" }), HttpStatusCode.Conflict, "PROFILE_EXISTS");
        Assert.Single((await world.Http.GetOkAsync(path)).EnumerateArray());

        world.Model.Enqueue(ScriptedReply.Text("Three words here."));
        var session = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { profile, prompt = "Review it" });
        Assert.Equal("Careful reviewer", session.GetProperty("profile").GetString());
        Assert.Equal("claude-code", session.GetProperty("agent").GetString());
        Assert.Equal("plan", session.GetProperty("mode").GetString());
        Assert.Equal("claude-profile-model", session.GetProperty("model").GetString());
        await using (var events = await world.EventsAsync(session.GetProperty("id").GetString()!))
        {
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Three words here.");
        }

        var request = world.Model.Requests.Last(r => r.ConsumedScript);
        Assert.Equal("claude-profile-model", request.Model);
        Assert.Contains("Answer every question in exactly three words.", request.SystemText, StringComparison.Ordinal);

        // Fields given at start win over the profile's; a changed profile changes later sessions, not this one's record.
        var edited = await world.Http.PutAsJsonAsync($"{path}/{profile}", new { name = "Reviewer", agent = "claude-code", instructions = "Be brief." });
        Assert.Equal("Reviewer", (await ApiAssert.OkJsonAsync(edited)).GetProperty("name").GetString());
        var explicitMode = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { profile, mode = "ask" });
        Assert.Equal("ask", explicitMode.GetProperty("mode").GetString());
        Assert.Equal("Reviewer", explicitMode.GetProperty("profile").GetString());
        Assert.Equal("Careful reviewer", (await world.Http.GetOkAsync($"/api/sessions/{session.GetProperty("id").GetString()}")).GetProperty("profile").GetString());

        // Gone: starting from it is a 404 with its code; no agent and no profile is a validation error.
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"{path}/{profile}")).StatusCode);
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { profile }), HttpStatusCode.NotFound, "PROFILE_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { prompt = "hi" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=100")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("profile.created", ledger);
        Assert.Contains("profile.updated", ledger);
        Assert.Contains("profile.removed", ledger);
    }

    [Fact]
    public async Task Codex_ProfileInstructions_ReachTheModel()
    {
        await using var world = await AgentWorld.CodexAsync();
        var profile = (await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/profiles", new
        {
            name = "terse", agent = "codex", instructions = "Reply with one short sentence only.",
        })).GetProperty("id").GetString()!;
        world.Model.Enqueue(ScriptedReply.Text("Done in one."));
        var session = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { profile, prompt = "Say hi" });
        await using var events = await world.EventsAsync(session.GetProperty("id").GetString()!);
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done in one.");
        Assert.Contains("Reply with one short sentence only.", world.Model.Requests.Last(r => r.ConsumedScript).Body.GetRawText(), StringComparison.Ordinal);
    }
}
