using System.Net;
using System.Net.Http.Json;
using System.Text;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>Whatever a client sends, the answer is problem+json with a stable code, and the server stays up.</summary>
public sealed class BadInputTests
{
    private sealed record Setup(TestServer Server, HttpClient Http, string ProjectId, string Repository, string File);

    private sealed record Case(HttpStatusCode Status, string Code, Func<Setup, Task<HttpResponseMessage>> Send);

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> Post(Setup s, string path, string json) => s.Http.PostAsync(path, Json(json));

    private static Task<HttpResponseMessage> GetWithHeader(Setup s, string path, string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation(header, value);
        return s.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static readonly Dictionary<string, Case> Cases = new(StringComparer.Ordinal)
    {
        ["malformed JSON"] = new(HttpStatusCode.BadRequest, "INVALID_JSON", s => Post(s, "/api/projects", """{"path": "/tmp", """)),
        ["not JSON at all"] = new(HttpStatusCode.BadRequest, "INVALID_JSON", s => Post(s, "/api/projects", "path=/tmp")),
        ["empty body"] = new(HttpStatusCode.BadRequest, "INVALID_JSON", s => Post(s, "/api/projects", "")),
        ["empty body on pair"] = new(HttpStatusCode.BadRequest, "INVALID_JSON", s => s.Server.Anonymous.PostAsync("/api/pair", Json(""))),
        ["malformed JSON on pair"] = new(HttpStatusCode.BadRequest, "INVALID_JSON", s => s.Server.Anonymous.PostAsync("/api/pair", Json("{code:"))),
        ["wrong type for path"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => Post(s, "/api/projects", """{"path":5}""")),
        ["wrong type for text"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => Post(s, $"/api/sessions/{NewId()}/messages", """{"text":["hi"]}""")),
        ["number as a string"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PatchAsync($"/api/projects/{s.ProjectId}", Json("""{"approvalTimeoutSeconds":"30"}"""))),
        ["wrong type for body"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => Post(s, "/api/projects", "[1,2]")),
        ["missing path"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => Post(s, "/api/projects", """{"name":"x"}""")),
        ["missing agent"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => Post(s, $"/api/projects/{s.ProjectId}/sessions", "{}")),
        ["missing rule fields"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => Post(s, $"/api/projects/{s.ProjectId}/rules", """{"tool":"Bash"}""")),
        ["invalid rule action"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => Post(s, $"/api/projects/{s.ProjectId}/rules", """{"tool":"Bash","pattern":"*","action":"sometimes"}""")),
        ["missing pairing code"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Server.Anonymous.PostAsync("/api/pair", Json("""{"deviceName":"phone"}"""))),
        ["missing device name"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Server.Anonymous.PostAsync("/api/pair", Json("""{"code":"ABCD-EFGH"}"""))),
        ["relative path"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync("/api/projects", new { path = "some/relative/dir" })),
        ["nonexistent path"] = new(HttpStatusCode.BadRequest, "PATH_NOT_FOUND", s => s.Http.PostAsJsonAsync("/api/projects", new { path = $"/nonexistent/{NewId()}" })),
        ["file instead of directory"] = new(HttpStatusCode.BadRequest, "NOT_A_DIRECTORY", s => s.Http.PostAsJsonAsync("/api/projects", new { path = s.File })),
        // The whole machine is no project: from / its files were watched and walked, /proc and all (the endpoint fuzzer's 13 GB).
        ["the root as a project"] = new(HttpStatusCode.BadRequest, "PROJECT_PATH_TOO_BROAD", s => s.Http.PostAsJsonAsync("/api/projects", new { path = "/" })),
        ["the kernel's tree as a project"] = new(HttpStatusCode.BadRequest, "PROJECT_PATH_TOO_BROAD", s => s.Http.PostAsJsonAsync("/api/projects", new { path = "/proc/self" })),
        ["same directory twice"] = new(HttpStatusCode.Conflict, "PROJECT_EXISTS", s => s.Http.PostAsJsonAsync("/api/projects", new { path = s.Repository })),
        ["same directory with trailing slash"] = new(HttpStatusCode.Conflict, "PROJECT_EXISTS", s => s.Http.PostAsJsonAsync("/api/projects", new { path = s.Repository + "/" })),
        ["NUL in path"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync("/api/projects", new { path = s.Repository + "\0/x" })),
        ["control characters in device name"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Server.Anonymous.PostAsJsonAsync("/api/pair", new { code = "ABCD-EFGH", deviceName = "phone\u001b[2J" })),
        ["unknown project GET"] = new(HttpStatusCode.NotFound, "PROJECT_NOT_FOUND", s => s.Http.GetAsync($"/api/projects/{NewId()}")),
        ["unknown project DELETE"] = new(HttpStatusCode.NotFound, "PROJECT_NOT_FOUND", s => s.Http.DeleteAsync($"/api/projects/{NewId()}")),
        ["unknown project sessions"] = new(HttpStatusCode.NotFound, "PROJECT_NOT_FOUND", s => s.Http.PostAsJsonAsync($"/api/projects/{NewId()}/sessions", new { agent = "claude-code" })),
        ["unknown project list rules"] = new(HttpStatusCode.NotFound, "PROJECT_NOT_FOUND", s => s.Http.GetAsync($"/api/projects/{NewId()}/rules")),
        ["unknown project add rule"] = new(HttpStatusCode.NotFound, "PROJECT_NOT_FOUND", s => s.Http.PostAsJsonAsync($"/api/projects/{NewId()}/rules", new { tool = "Bash", pattern = "*", action = "allow" })),
        ["unknown session GET"] = new(HttpStatusCode.NotFound, "SESSION_NOT_FOUND", s => s.Http.GetAsync($"/api/sessions/{NewId()}")),
        ["unknown session messages"] = new(HttpStatusCode.NotFound, "SESSION_NOT_FOUND", s => s.Http.PostAsJsonAsync($"/api/sessions/{NewId()}/messages", new { text = "hello" })),
        ["unknown session cancel"] = new(HttpStatusCode.NotFound, "SESSION_NOT_FOUND", s => s.Http.PostAsync($"/api/sessions/{NewId()}/cancel", null)),
        ["unknown session events"] = new(HttpStatusCode.NotFound, "SESSION_NOT_FOUND", s => s.Http.GetAsync($"/api/sessions/{NewId()}/events", HttpCompletionOption.ResponseHeadersRead)),
        ["unknown session DELETE"] = new(HttpStatusCode.NotFound, "SESSION_NOT_FOUND", s => s.Http.DeleteAsync($"/api/sessions/{NewId()}")),
        ["unknown approval GET"] = new(HttpStatusCode.NotFound, "APPROVAL_NOT_FOUND", s => s.Http.GetAsync($"/api/approvals/{NewId()}")),
        ["unknown approval decision"] = new(HttpStatusCode.NotFound, "APPROVAL_NOT_FOUND", s => s.Http.PostAsJsonAsync($"/api/approvals/{NewId()}/decision", new { decision = "deny" })),
        ["invalid decision value"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync($"/api/approvals/{NewId()}/decision", new { decision = "yes please" })),
        ["invalid approval status filter"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.GetAsync("/api/approvals?status=maybe")),
        ["unknown agent"] = new(HttpStatusCode.BadRequest, "UNKNOWN_AGENT", s => s.Http.PostAsJsonAsync($"/api/projects/{s.ProjectId}/sessions", new { agent = "skynet" })),
        ["bad mode"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync($"/api/projects/{s.ProjectId}/sessions", new { agent = "claude-code", mode = "yolo" })),
        ["bad model name"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync($"/api/projects/{s.ProjectId}/sessions", new { agent = "claude-code", model = "--dangerously-skip-permissions x" })),
        ["empty model name"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync($"/api/projects/{s.ProjectId}/sessions", new { agent = "claude-code", model = "" })),
        ["terminal too narrow"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync($"/api/projects/{s.ProjectId}/terminal", new { cols = 0 })),
        ["terminal too tall"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync($"/api/projects/{s.ProjectId}/terminal", new { cols = 80, rows = 100000 })),
        ["blank message text"] = new(HttpStatusCode.BadRequest, "VALIDATION_FAILED", s => s.Http.PostAsJsonAsync($"/api/sessions/{NewId()}/messages", new { text = " \n\t " })),
        ["bad Last-Event-ID"] = new(HttpStatusCode.BadRequest, "INVALID_CURSOR", s => GetWithHeader(s, "/api/events", "Last-Event-ID", "abc")),
        ["negative Last-Event-ID"] = new(HttpStatusCode.BadRequest, "INVALID_CURSOR", s => GetWithHeader(s, "/api/events", "Last-Event-ID", "-1")),
        ["bad cursor on command output"] = new(HttpStatusCode.BadRequest, "INVALID_CURSOR", s => GetWithHeader(s, $"/api/commands/{NewId()}/events", "Last-Event-ID", "12abc")),
        ["bad after parameter"] = new(HttpStatusCode.BadRequest, "INVALID_CURSOR", s => s.Http.GetAsync("/api/events?after=1e3", HttpCompletionOption.ResponseHeadersRead)),
        ["unknown route"] = new(HttpStatusCode.NotFound, "NOT_FOUND", s => s.Http.GetAsync("/api/no-such-thing")),
        ["wrong method"] = new(HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED", s => s.Http.PutAsync("/api/projects", Json("{}"))),
        ["not JSON content type"] = new(HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", s => s.Http.PostAsync("/api/projects", new StringContent("""{"path":"/tmp"}""", Encoding.UTF8, "text/plain"))),
        ["body over 2 MB"] = new(HttpStatusCode.RequestEntityTooLarge, "BODY_TOO_LARGE", s => s.Http.PostAsJsonAsync("/api/projects", new { path = s.Repository, name = new string('x', 3 * 1024 * 1024) })),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Request_BadInput_ProblemJsonAndServerStaysUp(string name)
    {
        var repository = TempPaths.NewGitRepository();
        try
        {
            await using var server = await TestServer.StartAsync();
            var phone = await server.PairAsync();
            var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
            var setup = new Setup(server, phone.Http, project.GetProperty("id").GetString()!, repository, Path.Combine(repository, "README.md"));
            var @case = Cases[name];

            using var response = await @case.Send(setup);

            await ApiAssert.ProblemAsync(response, @case.Status, @case.Code);
            Assert.Equal(HttpStatusCode.OK, (await server.Anonymous.GetAsync("/api/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await phone.Http.GetAsync("/api/projects")).StatusCode);
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Fact]
    public async Task Request_AllBadInputsInARow_ServerStillHealthy()
    {
        var repository = TempPaths.NewGitRepository();
        try
        {
            await using var server = await TestServer.StartAsync();
            var phone = await server.PairAsync();
            var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
            var setup = new Setup(server, phone.Http, project.GetProperty("id").GetString()!, repository, Path.Combine(repository, "README.md"));

            var errors = new List<string>();
            foreach (var (name, @case) in Cases)
            {
                using var response = await @case.Send(setup);
                if ((int)response.StatusCode >= 500)
                {
                    errors.Add($"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }

            Assert.Empty(errors);
            var health = await server.Anonymous.GetOkAsync("/api/health");
            Assert.Equal("ok", health.GetProperty("status").GetString());
            var projects = await phone.Http.GetOkAsync("/api/projects");
            Assert.Single(projects.EnumerateArray());
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("text/event-stream")]
    public async Task Problem_WhateverTheAcceptHeader_StillProblemJsonWithItsCode(string accept)
    {
        // The framework's own problem writer stays silent unless the client accepts JSON; a client must still learn why.
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");
        foreach (var (client, path, status, code) in new[]
        {
            (phone.Http, "/api/projects/nope", HttpStatusCode.NotFound, "PROJECT_NOT_FOUND"),
            (phone.Http, "/api/no-such-endpoint", HttpStatusCode.NotFound, "NOT_FOUND"),
            (server.Anonymous, "/api/projects", HttpStatusCode.Unauthorized, "UNAUTHORIZED"),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd(accept);
            var problem = await ApiAssert.ProblemAsync(await client.SendAsync(request), status, code);
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        }
    }

    [Fact]
    public async Task Validation_FromTheRequestsAnnotations_NamesEachFieldWithItsMessage()
    {
        // AddValidation checks the body records' annotations before any handler runs: one problem lists every field.
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();

        var problem = await ApiAssert.ProblemAsync(
            await phone.Http.PostAsJsonAsync($"/api/projects/{NewId()}/commands", new { command = "", timeoutSeconds = 0 }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");

        var errors = problem.GetProperty("errors");
        Assert.Equal(["'command' is required."], errors.GetProperty("command").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["'timeoutSeconds' must be between 1 and 86400."], errors.GetProperty("timeoutSeconds").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("'command' is required.", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var keys = await ApiAssert.ProblemAsync(
            await phone.Http.PostAsJsonAsync($"/api/projects/{NewId()}/terminal/input", new { keys = new[] { "Enter", "rm -rf /" } }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        Assert.True(keys.GetProperty("errors").TryGetProperty("keys", out _));
    }

    [Fact]
    public async Task CreateProject_UnicodeName_RoundTrips()
    {
        var repository = TempPaths.NewGitRepository();
        try
        {
            await using var server = await TestServer.StartAsync();
            var phone = await server.PairAsync("Ana’s Pixel 📱");
            const string name = "Ünïcødé 项目 🚀 \"quoted\" <b>";

            var created = await phone.Http.PostOkAsync("/api/projects", new { path = repository, name });

            var fetched = await phone.Http.GetOkAsync($"/api/projects/{created.GetProperty("id").GetString()}");
            Assert.Equal(name, fetched.GetProperty("name").GetString());
            var devices = await phone.Http.GetOkAsync("/api/devices");
            Assert.Equal("Ana’s Pixel 📱", Assert.Single(devices.EnumerateArray()).GetProperty("name").GetString());
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Fact]
    public async Task CreateProject_ControlCharactersInName_ValidationFailed()
    {
        var repository = TempPaths.NewGitRepository();
        try
        {
            await using var server = await TestServer.StartAsync();
            var phone = await server.PairAsync();

            var response = await phone.Http.PostAsJsonAsync("/api/projects", new { path = repository, name = "evil\u001b[31m\u0007name" });

            await ApiAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }
}
