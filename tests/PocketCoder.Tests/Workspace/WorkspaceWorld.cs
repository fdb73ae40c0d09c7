using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Workspace;

/// <summary>A server, a paired phone and a registered git repository: what every workspace test starts from.</summary>
public sealed class WorkspaceWorld : IAsyncDisposable
{
    private WorkspaceWorld(TestServer server, PairedClient phone, string repository, string projectId)
    {
        Server = server;
        Phone = phone;
        Repository = repository;
        ProjectId = projectId;
    }

    public TestServer Server { get; private set; }

    public PairedClient Phone { get; private set; }

    public HttpClient Http => Phone.Http;

    public string Repository { get; }

    public string ProjectId { get; }

    public string Api => $"/api/projects/{ProjectId}";

    public static async Task<WorkspaceWorld> StartAsync(string? repository = null)
    {
        var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        repository ??= TempPaths.NewGitRepository();
        Git(repository, "config", "user.email", "phone@example.invalid");
        Git(repository, "config", "user.name", "Phone");
        var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
        return new WorkspaceWorld(server, phone, repository, project.GetProperty("id").GetString()!);
    }

    /// <summary>Stops this server and starts a new one on the same data folder, as a restart would.</summary>
    public async Task RestartAsync()
    {
        await Server.StopAsync();
        await StartAgainAsync();
    }

    /// <summary>A new server on this data folder after <see cref="TestServer.StopAsync"/> (or a crash) ended the last.</summary>
    public async Task StartAgainAsync()
    {
        Server = await TestServer.StartAsync(Server.DataDirectory);
        Phone = await Server.PairAsync("phone after restart");
    }

    public async Task<List<JsonElement>> LedgerAsync(string action)
    {
        var page = await Http.GetOkAsync("/api/ledger?limit=1000");
        var entries = page.TryGetProperty("entries", out var list) ? list : page;
        return [.. entries.EnumerateArray().Where(e => e.GetProperty("action").GetString() == action)];
    }

    public static string Git(string directory, params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {error}");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        TempPaths.Delete(Repository);
    }
}

public static class HttpJson
{
    public static async Task<HttpResponseMessage> PostJsonAsync(this HttpClient http, string path, object body) => await http.PostAsJsonAsync(path, body);
}
