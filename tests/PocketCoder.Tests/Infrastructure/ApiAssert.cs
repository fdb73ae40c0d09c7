using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace PocketCoder.Tests.Infrastructure;

public static class ApiAssert
{
    /// <summary>Asserts a problem+json response with the given status and stable code; returns its body.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonElement.Parse(text);
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("detail").GetString()));
        return body;
    }

    /// <summary>
    /// A session whose agent cannot start: created at once (201, no request waits for an agent), then failed with a
    /// <c>session.error</c> of <paramref name="code"/> and the status <c>failed</c>. Returns <c>{code, detail, sessionId}</c>,
    /// the error's words where a synchronous refusal had its problem's.
    /// </summary>
    public static async Task<JsonElement> StartFailsAsync(HttpClient http, HttpResponseMessage created, string code)
    {
        var session = (await OkJsonAsync(created)).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await using var events = await SseClient.ConnectAsync(http, $"/api/sessions/{session}/events", "0");
        var error = await events.WaitForAsync("session.error");
        Assert.Equal(code, error.Str("code"));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
        return JsonSerializer.SerializeToElement(new Dictionary<string, string>
        {
            ["code"] = code, ["detail"] = error.Str("message")!, ["sessionId"] = session,
        });
    }

    public static async Task<JsonElement> OkJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"Expected success, got {(int)response.StatusCode}: {text}");
        return JsonElement.Parse(text);
    }

    public static async Task<JsonElement> PostOkAsync(this HttpClient http, string path, object body) =>
        await OkJsonAsync(await http.PostAsJsonAsync(path, body));

    public static async Task<JsonElement> PatchOkAsync(this HttpClient http, string path, object body) =>
        await OkJsonAsync(await http.PatchAsJsonAsync(path, body));

    public static async Task<JsonElement> GetOkAsync(this HttpClient http, string path) =>
        await OkJsonAsync(await http.GetAsync(path));
}
