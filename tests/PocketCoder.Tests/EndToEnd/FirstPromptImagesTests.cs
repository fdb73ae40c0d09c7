using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// A new session's first prompt waits in its queue until its agent is up, so an image sent to an agent that takes none is
/// found out only then: it is never sent and opens no turn (a review left open would shift the turns a rewind counts); it
/// waits first in line, held, with a session.error saying why (an attacker's review of the start that no longer waits).
/// </summary>
public sealed class FirstPromptImagesTests
{
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    [Fact]
    public async Task AnImageInTheFirstPrompt_ToAnAgentThatTakesNone_IsHeldSayingWhy_AndOpensNoTurn()
    {
        var fake = new FakeAgent();
        await using var world = await AgentWorld.FakeAsync(fake);
        var response = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new
        {
            agent = world.Agent, prompt = "look", attachments = new[] { new { name = "shot.png", data = Convert.ToBase64String(Png) } },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(id);

        var error = await events.WaitForAsync("session.error");
        Assert.Equal("ATTACHMENT_UNSUPPORTED", error.Str("code"));
        var queue = await world.Http.GetOkAsync($"/api/sessions/{id}/queue");
        Assert.True(queue.GetProperty("held").GetBoolean());
        Assert.Equal("look", Assert.Single(queue.GetProperty("messages").EnumerateArray()).GetProperty("text").GetString());
        Assert.Empty((await fake.SessionAsync(0)).Sent);
        Assert.DoesNotContain(events.Received, e => e.Event is "message.user" or "turn.completed");
    }
}
