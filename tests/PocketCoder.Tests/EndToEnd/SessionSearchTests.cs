using System.Net;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>One list of every session, searchable by what the owner asked, with each session's latest message as its preview.</summary>
public sealed class SessionSearchTests
{
    [Fact]
    public async Task Search_FindsSessionsByAnyPrompt_WithSnippetAndPreview()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.Text("Looked at the login form."), ScriptedReply.Text("Fixed the flaky retry."),
            ScriptedReply.Text("Renamed it."));
        // One after the other: the scripted replies go to requests in the order they arrive.
        var login = await world.StartSessionAsync("Why does the login form reject émoji passwords?");
        await using (var events = await world.EventsAsync(login, lastEventId: "0"))
        {
            await events.WaitForAsync("turn.completed");
        }

        var retry = await world.StartSessionAsync("make the uploader stop hanging");
        await using (var events = await world.EventsAsync(retry))
        {
            await events.WaitForAsync("turn.completed");
            await world.SendAsync(retry, "also the \"retry\" loop: -- OR * NEAR(x) is not syntax");
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Renamed it.");
        }

        async Task<List<JsonElement>> Find(string q) =>
            [.. (await world.Http.GetOkAsync($"/api/sessions?q={Uri.EscapeDataString(q)}")).EnumerateArray()];

        var found = Assert.Single(await Find("emoji pass"));
        Assert.Equal(login, found.GetProperty("id").GetString());
        Assert.Contains("\u0002émoji\u0003", found.GetProperty("match").GetString());

        // A later prompt is searched too, and what looks like FTS5 syntax is only words.
        Assert.Equal(retry, Assert.Single(await Find("retry loop")).GetProperty("id").GetString());
        Assert.Equal(retry, Assert.Single(await Find("NEAR(x) OR")).GetProperty("id").GetString());
        Assert.Equal(retry, Assert.Single(await Find("retry\u0000loop")).GetProperty("id").GetString());
        Assert.Empty(await Find("\"unbalanced"));
        Assert.Empty(await Find("nothing-like-this"));
        Assert.Empty(await Find("  * ( ) "));

        // The preview is the latest message, the agent's reply here.
        var all = (await world.Http.GetOkAsync("/api/sessions")).EnumerateArray().ToList();
        Assert.Equal("Renamed it.", all.Single(s => s.GetProperty("id").GetString() == retry).GetProperty("preview").GetString());

        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"/api/sessions?q={new string('a', 201)}"), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
    }
}
