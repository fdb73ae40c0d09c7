using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Data;
using PocketCoder.Projects;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>
/// The operator's log tells every pairing, refusal, revocation and gate decision, structured, and never a code, a
/// token or a tool's input.
/// </summary>
public sealed class OperatorLogTests : IDisposable
{
    private readonly List<string> _paths = [];

    public void Dispose()
    {
        foreach (var path in _paths)
        {
            TempPaths.Delete(path);
        }
    }

    [Fact]
    public async Task PairingRefusalAndRevocation_AreLogged_WithoutCodeOrToken()
    {
        var logs = new CapturedLogs();
        await using var server = await TestServer.StartAsync(logs: logs);

        var phone = await server.PairAsync("Ana's phone");
        var refused = await server.Anonymous.PostAsJsonAsync("/api/pair", new { code = "WRONG-CODE", deviceName = "intruder" });
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var laptop = await server.PairAsync("laptop");
        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/devices/{laptop.DeviceId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Anonymous.GetAsync("/api/projects")).StatusCode);

        var paired = logs.WithId(3001);
        Assert.Equal(["Ana's phone", "laptop"], paired.Select(e => e.Values["DeviceName"]));
        Assert.Equal("127.0.0.1", paired[0].Values["Client"]);
        Assert.Single(logs.WithId(3002));
        var revoked = Assert.Single(logs.WithId(3004));
        Assert.Equal(laptop.DeviceId, revoked.Values["DeviceId"]);
        Assert.Equal("Ana's phone", revoked.Values["Actor"]);
        // A stranger's request is not news: the framework's per-challenge line stays out of the operator's log.
        Assert.DoesNotContain(logs.Entries, e => e.Category.EndsWith(".DeviceAuthentication", StringComparison.Ordinal) && e.Level < LogLevel.Warning);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(phone.Token, StringComparison.Ordinal)
            || e.Message.Contains(laptop.Token, StringComparison.Ordinal) || e.Message.Contains("WRONG-CODE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryGateDecision_IsLogged_WithoutTheToolInput()
    {
        var logs = new CapturedLogs();
        var repository = TempPaths.NewGitRepository();
        _paths.Add(repository);
        await using var server = await TestServer.StartAsync(logs: logs);
        var phone = await server.PairAsync();
        var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString()!;
        var project = server.Services.GetRequiredService<ProjectStore>().Get(projectId);
        const string sessionId = "log-session";
        server.Services.GetRequiredService<Database>().Write(write => write.Execute(
            "INSERT INTO sessions (id, project_id, agent, status, agent_session_id, created_at, updated_at) VALUES ($id, $project, 'claude-code', 'running', 'a', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            ("$id", sessionId), ("$project", projectId)));
        var gatekeeper = server.Services.GetRequiredService<Gatekeeper>();
        var context = new GateContext(sessionId, project, SessionModes.Ask);

        var read = new PermissionRequest("call-read", "Read", ToolKind.Read, "Read a.txt",
            JsonElement.Parse("""{"file_path":"a.txt"}"""), null, Path.Combine(repository, "a.txt"), null);
        Assert.True((await gatekeeper.RequestAsync(context, read, () => { }, CancellationToken.None)).Allow);

        const string secretCommand = "curl -H 'Authorization: Bearer sk-live-123' https://example.invalid";
        var command = new PermissionRequest("call-bash", "Bash", ToolKind.Execute, "Run a command",
            JsonSerializer.SerializeToElement(new { command = secretCommand }), secretCommand, null, null);
        var asked = new TaskCompletionSource();
        var decision = gatekeeper.RequestAsync(context, command, asked.SetResult, CancellationToken.None);
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var approvalId = (string)Assert.Single(logs.WithId(2002)).Values["ApprovalId"]!;
        // "Always allow" remembers the exact command as the rule's pattern; the next identical call is allowed by that rule.
        await phone.Http.PostOkAsync($"/api/approvals/{approvalId}/decision", new { decision = "allow_always" });
        Assert.True((await decision.WaitAsync(TimeSpan.FromSeconds(30))).Allow);
        var again = command with { ToolCallId = "call-bash-2" };
        Assert.True((await gatekeeper.RequestAsync(context, again, () => { }, CancellationToken.None)).Allow);

        var byPolicy = logs.WithId(2001);
        Assert.Equal([("allowed", "Read"), ("allowed", "Bash")], byPolicy.Select(e => ((string)e.Values["Outcome"]!, (string)e.Values["Tool"]!)));
        Assert.NotNull(byPolicy[1].Values["RuleId"]);
        var decided = Assert.Single(logs.WithId(2003));
        Assert.Equal("allow_always", decided.Values["Decision"]);
        Assert.Equal("Bash", decided.Values["Tool"]);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("sk-live-123", StringComparison.Ordinal));
    }
}
