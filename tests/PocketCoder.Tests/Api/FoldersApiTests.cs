using System.Net;
using System.Text.Json;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>
/// GET /api/folders and /api/folders/suggestions: a project's folder picked from a phone, inside the owner's home (a temp HOME
/// given to the server) and nowhere else, whatever the path, a link or a <c>..</c> says.
/// </summary>
public sealed class FoldersApiTests : IDisposable
{
    private readonly string _home = TempPaths.NewDirectory("pc-owner-home");
    private readonly string _outside = TempPaths.NewDirectory("pc-outside");

    public void Dispose()
    {
        TempPaths.Delete(_home);
        TempPaths.Delete(_outside);
    }

    private Task<TestServer> StartAsync() => TestServer.StartAsync(ownerHome: _home, agents: new Dictionary<string, AgentCommand>
    {
        // Not installed; its conversation store is read all the same, in the owner's home.
        ["claude-code"] = new AgentCommand("/nonexistent/claude", new Dictionary<string, string?> { ["HOME"] = _home, ["CLAUDE_CONFIG_DIR"] = null }),
    });

    [Fact]
    public async Task List_Home_ShowsFoldersOnly_HiddenOnRequest_MarksRepositories()
    {
        Directory.CreateDirectory(Path.Combine(_home, "code", "app", ".git"));
        Directory.CreateDirectory(Path.Combine(_home, "notes"));
        Directory.CreateDirectory(Path.Combine(_home, ".config"));
        File.WriteAllText(Path.Combine(_home, "todo.txt"), "a file, not a folder");
        await using var server = await StartAsync();
        var phone = await server.PairAsync();

        var home = await phone.Http.GetOkAsync("/api/folders");
        Assert.Equal(_home, home.GetProperty("path").GetString());
        Assert.Equal(_home, home.GetProperty("home").GetString());
        Assert.Equal(JsonValueKind.Null, home.GetProperty("parent").ValueKind);
        Assert.Equal(["code", "notes"], Names(home));

        var hidden = await phone.Http.GetOkAsync("/api/folders?hidden=true");
        Assert.Equal([".config", "code", "notes"], Names(hidden));

        var code = await phone.Http.GetOkAsync("/api/folders?path=code");
        Assert.Equal(Path.Combine(_home, "code"), code.GetProperty("path").GetString());
        Assert.Equal(_home, code.GetProperty("parent").GetString());
        var app = Assert.Single(code.GetProperty("folders").EnumerateArray());
        Assert.True(app.GetProperty("git").GetBoolean());
        Assert.Equal(Path.Combine(_home, "code", "app"), app.GetProperty("path").GetString());

        // The absolute path the listing gave is accepted back as it is.
        var again = await phone.Http.GetOkAsync($"/api/folders?path={Uri.EscapeDataString(Path.Combine(_home, "code", "app"))}");
        Assert.True(again.GetProperty("git").GetBoolean());
        Assert.Empty(again.GetProperty("folders").EnumerateArray());
    }

    [Fact]
    public async Task List_PathOutsideHome_DotDot_LinkOut_Refused_WithStableCodes()
    {
        Directory.CreateDirectory(Path.Combine(_home, "code"));
        Directory.CreateDirectory(Path.Combine(_outside, "secret-project"));
        Directory.CreateSymbolicLink(Path.Combine(_home, "escape"), _outside);
        Directory.CreateSymbolicLink(Path.Combine(_home, "code", "inside"), Path.Combine(_home, "code"));
        await using var server = await StartAsync();
        var phone = await server.PairAsync();

        await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"/api/folders?path={Uri.EscapeDataString(_outside)}"), HttpStatusCode.Forbidden, "OUTSIDE_HOME");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=%2F"), HttpStatusCode.Forbidden, "OUTSIDE_HOME");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=%2Fetc"), HttpStatusCode.Forbidden, "OUTSIDE_HOME");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=escape"), HttpStatusCode.Forbidden, "OUTSIDE_HOME");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=escape%2Fsecret-project"), HttpStatusCode.Forbidden, "OUTSIDE_HOME");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=.."), HttpStatusCode.BadRequest, "INVALID_PATH");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=code%2F..%2F.."), HttpStatusCode.BadRequest, "INVALID_PATH");
        await ApiAssert.ProblemAsync(
            await phone.Http.GetAsync($"/api/folders?path={Uri.EscapeDataString(_home + "/../" + Path.GetFileName(_outside))}"), HttpStatusCode.BadRequest, "INVALID_PATH");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=missing"), HttpStatusCode.NotFound, "PATH_NOT_FOUND");
        File.WriteAllText(Path.Combine(_home, "file"), "x");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/folders?path=file"), HttpStatusCode.BadRequest, "NOT_A_DIRECTORY");

        // A link that leaves home is not even listed; one that stays inside is.
        var home = await phone.Http.GetOkAsync("/api/folders");
        Assert.Equal(["code"], Names(home));
        var code = await phone.Http.GetOkAsync("/api/folders?path=code");
        Assert.Equal(["inside"], Names(code));
        Assert.DoesNotContain("secret-project", home.GetRawText() + code.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Folders_WithoutADeviceToken_Refused()
    {
        await using var server = await StartAsync();
        await ApiAssert.ProblemAsync(await server.Anonymous.GetAsync("/api/folders"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await ApiAssert.ProblemAsync(await server.Anonymous.GetAsync($"/api/folders?path={Uri.EscapeDataString(_home)}"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await ApiAssert.ProblemAsync(await server.Anonymous.GetAsync("/api/folders/suggestions"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task Suggestions_RepositoriesUnderHome_FoldersClaudeWorkedIn_PastProjects_InsideHomeOnly()
    {
        // Repositories: found at depth, not inside node_modules or hidden folders, not through a link out of home.
        Directory.CreateDirectory(Path.Combine(_home, "code", "web", ".git"));
        Directory.CreateDirectory(Path.Combine(_home, "code", "web", "packages", "inner", ".git"));
        Directory.CreateDirectory(Path.Combine(_home, "work", "client", "api", ".git"));
        Directory.CreateDirectory(Path.Combine(_home, "code", "node_modules", "dep", ".git"));
        Directory.CreateDirectory(Path.Combine(_home, ".cache", "clone", ".git"));
        Directory.CreateDirectory(Path.Combine(_outside, "elsewhere", ".git"));
        Directory.CreateSymbolicLink(Path.Combine(_home, "linked"), _outside);

        // Claude Code's own store: one conversation in a folder under home, one outside it.
        var worked = Directory.CreateDirectory(Path.Combine(_home, "scratch", "experiment")).FullName;
        WriteClaudeTranscript(worked);
        WriteClaudeTranscript(Path.Combine(_outside, "elsewhere"));
        // What an allowed command could write there: a hidden folder of the owner's, dated far ahead to stay first.
        var ssh = Directory.CreateDirectory(Path.Combine(_home, ".ssh")).FullName;
        WriteClaudeTranscript(ssh);
        // And one filed under a folder Claude worked in, claiming another: the cwd is believed only where Claude files it.
        var claimed = Directory.CreateDirectory(Path.Combine(_home, "claimed")).FullName;
        WriteClaudeTranscript(worked, cwd: claimed);
        foreach (var transcript in Directory.EnumerateFiles(Path.Combine(_home, ".claude", "projects"), "*.jsonl", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(transcript, new DateTime(2099, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        }

        // A project added, then removed: a recent folder. One still registered is no suggestion.
        var old = Directory.CreateDirectory(Path.Combine(_home, "old-project")).FullName;
        var current = Path.Combine(_home, "work", "client", "api");
        await using var server = await StartAsync();
        var phone = await server.PairAsync();
        var added = await phone.Http.PostOkAsync("/api/projects", new { path = old });
        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/projects/{added.GetProperty("id").GetString()}")).StatusCode);
        await phone.Http.PostOkAsync("/api/projects", new { path = current });

        var suggestions = await phone.Http.GetOkAsync("/api/folders/suggestions");

        Assert.Equal(_home, suggestions.GetProperty("home").GetString());
        Assert.Equal([Path.Combine(_home, "code", "web")], Paths(suggestions, "repositories"));
        var agent = Assert.Single(suggestions.GetProperty("agents").EnumerateArray());
        Assert.Equal(worked, agent.GetProperty("path").GetString());
        Assert.Equal(Path.Combine("scratch", "experiment"), agent.GetProperty("name").GetString());
        Assert.Equal(["claude-code"], agent.GetProperty("agents").EnumerateArray().Select(a => a.GetString()));
        Assert.True(agent.GetProperty("lastActivity").GetDateTimeOffset() <= DateTimeOffset.UtcNow, "a date ahead of now is taken as now");
        Assert.DoesNotContain(ssh, suggestions.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(claimed, suggestions.GetRawText(), StringComparison.Ordinal);
        Assert.Equal([old], Paths(suggestions, "recent"));
        Assert.DoesNotContain(_outside, suggestions.GetRawText(), StringComparison.Ordinal);
    }

    private static string[] Names(JsonElement listing) =>
        [.. listing.GetProperty("folders").EnumerateArray().Select(f => f.GetProperty("name").GetString()!)];

    private static string[] Paths(JsonElement suggestions, string list) =>
        [.. suggestions.GetProperty(list).EnumerateArray().Select(f => f.GetProperty("path").GetString()!)];

    /// <summary>A transcript as Claude Code writes one: its folder named after the path, each line recording the cwd.</summary>
    private void WriteClaudeTranscript(string folderOf, string? cwd = null)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_home, ".claude", "projects", new string([.. folderOf.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]))).FullName;
        var line = JsonSerializer.Serialize(new { type = "user", cwd = cwd ?? folderOf, sessionId = Guid.NewGuid().ToString(), message = new { role = "user", content = "hello" } });
        File.WriteAllText(Path.Combine(folder, Guid.NewGuid() + ".jsonl"), line + "\n");
    }
}
