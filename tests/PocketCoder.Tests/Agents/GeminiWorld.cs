using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// A user's whole set-up with Gemini: the fake model, the real server driving the REAL gemini CLI over ACP
/// against it, a paired phone, and a registered git repository.
/// </summary>
public sealed class GeminiWorld : IAsyncDisposable
{
    private GeminiWorld(FakeModelServer model, TestServer server, PairedClient phone, string repository, string home, string projectId)
    {
        Model = model;
        Server = server;
        Phone = phone;
        Repository = repository;
        Home = home;
        ProjectId = projectId;
    }

    public FakeModelServer Model { get; }

    public TestServer Server { get; private set; }

    public PairedClient Phone { get; private set; }

    public string Repository { get; }

    public string Home { get; }

    public string ProjectId { get; }

    public HttpClient Http => Phone.Http;

    public static async Task<GeminiWorld> StartAsync()
    {
        var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var server = await TestServer.StartAsync(agents: GeminiCli.Against(model, home));
        var phone = await server.PairAsync();
        var repository = TempPaths.NewGitRepository();
        var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository, name = "demo" });
        return new GeminiWorld(model, server, phone, repository, home, project.GetProperty("id").GetString()!);
    }

    public async Task<string> StartSessionAsync(string prompt, string? mode = null)
    {
        var session = await Http.PostOkAsync($"/api/projects/{ProjectId}/sessions", new { agent = "gemini", prompt, mode });
        return session.GetProperty("id").GetString()!;
    }

    public async Task SendAsync(string sessionId, string text)
    {
        var response = await Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text });
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }

    public async Task<JsonElement> SessionAsync(string sessionId) => await Http.GetOkAsync($"/api/sessions/{sessionId}");

    public Task<SseClient> EventsAsync(string sessionId, string? lastEventId = null) =>
        SseClient.ConnectAsync(Http, $"/api/sessions/{sessionId}/events", lastEventId);

    public async Task<HttpResponseMessage> DecideAsync(string approvalId, string decision, string? message = null) =>
        await Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision", new { decision, message });

    /// <summary>Stops the server like Ctrl+C and starts a new one on the same data folder and agent set-up.</summary>
    public async Task RestartServerAsync()
    {
        await Server.StopAsync();
        Server = await TestServer.StartAsync(Server.DataDirectory, GeminiCli.Against(Model, Home));
        var http = new HttpClient { BaseAddress = Server.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Phone.Token);
        Phone = Phone with { Http = http };
    }

    public async ValueTask DisposeAsync()
    {
        var data = Server.DataDirectory;
        await Server.DisposeAsync();
        TempPaths.Delete(data);
        await Model.DisposeAsync();
        TempPaths.Delete(Repository);
        TempPaths.Delete(Home);
    }
}
