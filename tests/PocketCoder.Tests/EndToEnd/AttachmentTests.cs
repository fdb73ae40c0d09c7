using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// A prompt with a screenshot and a log file, through each REAL agent CLI to the fake model: the image arrives as the
/// model's own image input (byte for byte), the text file inside the prompt, and the transcript lists both. Every named
/// agent, Qwen Code with its own placeholder for a model it takes to read no images.
/// </summary>
public sealed class AttachmentTests
{
    // A 2x1 PNG (red, blue): small enough that no agent resizes it, so the bytes can be compared.
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAADUlEQVR4nGP4zwAE/wEHAAH/4iOeWQAAAABJRU5ErkJggg==");

    public static TheoryData<string> Agents => [.. AgentWorld.Named];

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task ImageAndTextFile_ReachTheModel_AsItsImageInputAndInThePrompt(string agent)
    {
        await using var world = await World(agent);
        world.Model.Enqueue(ScriptedReply.Text("I see a red and a blue pixel."));
        var log = "line one\n``` not a fence end\nERROR boom\n";
        var session = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new
        {
            agent,
            prompt = "What is in the screenshot, and why does the log fail?",
            attachments = new object[]
            {
                new { name = "C:\\Users\\me\\shot.png", data = Convert.ToBase64String(Png) },
                new { name = "build.log", data = Convert.ToBase64String("line one\n``` not a fence end\nERROR boom\n"u8.ToArray()) },
            },
        });
        var sessionId = session.GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(sessionId, lastEventId: "0");
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "I see a red and a blue pixel.");

        var request = world.Model.Requests.Last(r => r.ConsumedScript);
        if (agent == "qwen")
        {
            // Qwen Code hands an image only to a model it knows takes images (by name: qwen3.5-plus, gpt-…, claude-…, or as
            // configured): for the tests' "fake-model" it sends its own placeholder instead (docs/agents.md).
            Assert.Empty(request.UserImages());
            Assert.True(request.Contains("[image: image/png]"), "Qwen Code's placeholder for the image is not in the prompt");
            Assert.True(request.Contains("Attached file build.log:\n````\n" + log + "````"), "the text file is not in the prompt, fenced");
            return;
        }

        var image = Assert.Single(request.UserImages());
        Assert.Equal("image/png", image.MediaType);
        Assert.Equal(Png, Convert.FromBase64String(image.Base64));
        Assert.True(request.Contains("Attached file build.log:\n````\n" + log + "````"), "the text file is not in the prompt, fenced");

        var sent = events.Received.Single(e => e.Event == "message.user");
        Assert.Equal("What is in the screenshot, and why does the log fail?", sent.Str("text"));
        var listed = sent.Json.GetProperty("attachments").EnumerateArray().Select(a => (a.GetProperty("name").GetString(), a.GetProperty("kind").GetString())).ToList();
        Assert.Equal([("shot.png", "image"), ("build.log", "text")], listed);
    }

    [Fact]
    public async Task BadAttachments_ClearCodes_AndNoSessionLeftBehind()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        async Task Refused(object attachment, HttpStatusCode status, string code, int count = 1) =>
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new
            {
                agent = "claude-code",
                prompt = "look",
                attachments = Enumerable.Repeat(attachment, count).ToArray(),
            }), status, code);

        await Refused(new { name = "a.pdf", data = Convert.ToBase64String("%PDF-1.7\n\0\u0001binary"u8.ToArray()) }, HttpStatusCode.UnprocessableEntity, "ATTACHMENT_UNSUPPORTED");
        await Refused(new { name = "a.png", data = "not base64!" }, HttpStatusCode.BadRequest, "ATTACHMENT_INVALID");
        await Refused(new { name = "", data = Convert.ToBase64String(Png) }, HttpStatusCode.BadRequest, "ATTACHMENT_INVALID");
        await Refused(new { name = "a.png", data = Convert.ToBase64String(Png) }, HttpStatusCode.BadRequest, "ATTACHMENT_INVALID", count: 5);

        // Bigger than the server's usual 2 MB body, and bigger than an image may be: refused for its size, by name.
        var big = new byte[6 * 1024 * 1024];
        Png.CopyTo(big, 0);
        await Refused(new { name = "huge.png", data = Convert.ToBase64String(big) }, HttpStatusCode.RequestEntityTooLarge, "ATTACHMENT_TOO_LARGE");

        Assert.Empty((await world.Http.GetOkAsync("/api/sessions")).EnumerateArray());
        Assert.DoesNotContain(world.Model.Requests, r => r.ConsumedScript);
    }

    private static Task<AgentWorld> World(string agent) => AgentWorld.NamedAsync(agent);
}
