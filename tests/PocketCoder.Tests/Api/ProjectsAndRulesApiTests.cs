using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

public sealed class ProjectsAndRulesApiTests : IDisposable
{
    private readonly List<string> _cleanup = [];

    public void Dispose()
    {
        foreach (var path in Enumerable.Reverse(_cleanup))
        {
            var link = new FileInfo(path);
            if (link.LinkTarget is not null)
            {
                link.Delete();
            }
            else
            {
                TempPaths.Delete(path);
            }
        }
    }

    /// <summary>The app offers what a project's answer says the caller may do: the answers to adding and changing one say it too.</summary>
    [Fact]
    public async Task Projects_EveryAnswer_CarriesTheCallersOffers()
    {
        var repository = Track(TempPaths.NewGitRepository());
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        var olu = await server.PairPersonAsync("Olu", Role.Operator);
        static string[] Modes(JsonElement project) => [.. project.GetProperty("offers").GetProperty("modes").EnumerateArray().Select(m => m.GetString()!)];
        static bool Manages(JsonElement project) => project.GetProperty("offers").GetProperty("manage").GetBoolean();

        var created = await owner.Http.PostOkAsync("/api/projects", new { path = repository });
        Assert.True(Manages(created));
        Assert.Equal(["ask", "plan", "accept_edits", "trusted"], Modes(created));
        var id = created.GetProperty("id").GetString()!;
        var changed = await ApiAssert.OkJsonAsync(await owner.Http.PatchAsJsonAsync($"/api/projects/{id}", new { worktreeDefault = true }));
        Assert.True(Manages(changed));
        Assert.True(changed.GetProperty("offers").GetProperty("shell").GetBoolean());

        // An operator may start ask and plan sessions (the others run calls unasked that only approvers may allow), and manage nothing.
        var seen = await olu.Http.GetOkAsync($"/api/projects/{id}");
        Assert.False(Manages(seen));
        Assert.False(seen.GetProperty("offers").GetProperty("shell").GetBoolean());
        Assert.Equal(["ask", "plan"], Modes(seen));
    }

    [Fact]
    public async Task Projects_CreateListGetDelete_RoundTrip()
    {
        var repository = Track(TempPaths.NewGitRepository());
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();

        var response = await phone.Http.PostAsJsonAsync("/api/projects", new { path = repository });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await ApiAssert.OkJsonAsync(response);
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(repository, created.GetProperty("path").GetString());
        Assert.Equal(Path.GetFileName(repository), created.GetProperty("name").GetString());
        Assert.Equal($"/api/projects/{id}", response.Headers.Location?.OriginalString);

        var named = Track(TempPaths.NewGitRepository());
        var second = await phone.Http.PostOkAsync("/api/projects", new { path = named, name = "  My app  " });
        Assert.Equal("My app", second.GetProperty("name").GetString());

        var list = await phone.Http.GetOkAsync("/api/projects");
        Assert.Equal([id, second.GetProperty("id").GetString()], list.EnumerateArray().Select(p => p.GetProperty("id").GetString()));
        var fetched = await phone.Http.GetOkAsync($"/api/projects/{id}");
        Assert.Equal(repository, fetched.GetProperty("path").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/projects/{id}")).StatusCode);

        await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"/api/projects/{id}"), HttpStatusCode.NotFound, "PROJECT_NOT_FOUND");
        var after = await phone.Http.GetOkAsync("/api/projects");
        Assert.Equal([second.GetProperty("id").GetString()], after.EnumerateArray().Select(p => p.GetProperty("id").GetString()));
        Assert.True(Directory.Exists(repository), "Removing a project must not touch the directory.");
        var actions = await LedgerAsync(phone.Http);
        Assert.Contains(("project.added", id), actions);
        Assert.Contains(("project.removed", id), actions);
    }

    [Fact]
    public async Task CreateProject_SameDirectoryAfterDelete_CanRegisterAgain()
    {
        var repository = Track(TempPaths.NewGitRepository());
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var first = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
        (await phone.Http.DeleteAsync($"/api/projects/{first.GetProperty("id").GetString()}")).EnsureSuccessStatusCode();

        var again = await phone.Http.PostAsJsonAsync("/api/projects", new { path = repository });

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }

    [Fact]
    public async Task CreateProject_Symlink_ReturnsResolvedTargetPath()
    {
        var repository = Track(TempPaths.NewGitRepository());
        var link = Track(Path.Combine(Path.GetTempPath(), $"pc-link-{Guid.NewGuid():N}"));
        Directory.CreateSymbolicLink(link, repository);
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();

        var created = await phone.Http.PostOkAsync("/api/projects", new { path = link });

        Assert.Equal(repository, created.GetProperty("path").GetString());
        Assert.Equal(repository, (await phone.Http.GetOkAsync($"/api/projects/{created.GetProperty("id").GetString()}")).GetProperty("path").GetString());
        // The link and its target are one directory: registering the target again is a duplicate.
        await ApiAssert.ProblemAsync(await phone.Http.PostAsJsonAsync("/api/projects", new { path = repository }), HttpStatusCode.Conflict, "PROJECT_EXISTS");
    }

    /// <summary>
    /// A phone's owner types <c>~/code</c> as in their shell: it is the folder under the owner's home (where the folder picker
    /// browses too). Adding it again names the project as Home shows it, never by its internal id (#51).
    /// </summary>
    [Fact]
    public async Task CreateProject_TildePath_UnderTheOwnersHome_AndAddedTwice_NamedByItsName()
    {
        var home = Track(TempPaths.NewDirectory("pc-home"));
        var code = Directory.CreateDirectory(Path.Combine(home, "code")).FullName;
        await using var server = await TestServer.StartAsync(ownerHome: home);
        var phone = await server.PairAsync();

        var created = await phone.Http.PostOkAsync("/api/projects", new { path = "~/code", name = "My code" });

        Assert.Equal(code, created.GetProperty("path").GetString());
        var again = await ApiAssert.ProblemAsync(await phone.Http.PostAsJsonAsync("/api/projects", new { path = code }), HttpStatusCode.Conflict,
            "PROJECT_EXISTS");
        var detail = again.GetProperty("detail").GetString()!;
        Assert.Contains("\"My code\"", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(created.GetProperty("id").GetString()!, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateProject_PathThroughSymlinkedParent_ReturnsRealPath()
    {
        var root = Track(TempPaths.NewDirectory("pc-real"));
        var real = Path.Combine(root, "app");
        Directory.CreateDirectory(real);
        var link = Track(Path.Combine(Path.GetTempPath(), $"pc-link-{Guid.NewGuid():N}"));
        Directory.CreateSymbolicLink(link, root);
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();

        var created = await phone.Http.PostOkAsync("/api/projects", new { path = Path.Combine(link, "app") });

        Assert.Equal(real, created.GetProperty("path").GetString());
        await ApiAssert.ProblemAsync(await phone.Http.PostAsJsonAsync("/api/projects", new { path = real }), HttpStatusCode.Conflict, "PROJECT_EXISTS");
    }

    [Fact]
    public async Task Rules_AddListRemove_RecordedInLedger()
    {
        var repository = Track(TempPaths.NewGitRepository());
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");
        var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString()!;
        Assert.Empty((await phone.Http.GetOkAsync($"/api/projects/{projectId}/rules")).EnumerateArray());

        var ids = new List<string>();
        foreach (var (tool, pattern, action) in new[] { ("Bash", "npm test*", "allow"), ("Bash", "rm -rf *", "deny"), ("*", "*", "ask") })
        {
            var response = await phone.Http.PostAsJsonAsync($"/api/projects/{projectId}/rules", new { tool, pattern, action });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var rule = await ApiAssert.OkJsonAsync(response);
            Assert.Equal(projectId, rule.GetProperty("projectId").GetString());
            Assert.Equal(tool, rule.GetProperty("tool").GetString());
            Assert.Equal(pattern, rule.GetProperty("pattern").GetString());
            Assert.Equal(action, rule.GetProperty("action").GetString());
            ids.Add(rule.GetProperty("id").GetString()!);
        }

        var listed = await phone.Http.GetOkAsync($"/api/projects/{projectId}/rules");
        Assert.Equal(ids, listed.EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(["allow", "deny", "ask"], listed.EnumerateArray().Select(r => r.GetProperty("action").GetString()));

        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/projects/{projectId}/rules/{ids[0]}")).StatusCode);

        var remaining = await phone.Http.GetOkAsync($"/api/projects/{projectId}/rules");
        Assert.Equal(ids[1..], remaining.EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        await ApiAssert.ProblemAsync(await phone.Http.DeleteAsync($"/api/projects/{projectId}/rules/{ids[0]}"), HttpStatusCode.NotFound, "RULE_NOT_FOUND");
        var ledger = await LedgerAsync(phone.Http);
        Assert.All(ids, id => Assert.Contains(("rule.added", id), ledger));
        Assert.Contains(("rule.removed", ids[0]), ledger);
        Assert.DoesNotContain(("rule.removed", ids[1]), ledger);
    }

    [Fact]
    public async Task RemoveRule_UnknownRule_RuleNotFound()
    {
        var repository = Track(TempPaths.NewGitRepository());
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString()!;

        var response = await phone.Http.DeleteAsync($"/api/projects/{projectId}/rules/{Guid.NewGuid():N}");

        await ApiAssert.ProblemAsync(response, HttpStatusCode.NotFound, "RULE_NOT_FOUND");
    }

    [Fact]
    public async Task RemoveRule_ThroughAnotherProject_RuleNotFoundAndRuleKept()
    {
        var first = Track(TempPaths.NewGitRepository());
        var second = Track(TempPaths.NewGitRepository());
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var firstId = (await phone.Http.PostOkAsync("/api/projects", new { path = first })).GetProperty("id").GetString()!;
        var secondId = (await phone.Http.PostOkAsync("/api/projects", new { path = second })).GetProperty("id").GetString()!;
        var rule = await phone.Http.PostOkAsync($"/api/projects/{firstId}/rules", new { tool = "Bash", pattern = "*", action = "deny" });
        var ruleId = rule.GetProperty("id").GetString()!;

        var response = await phone.Http.DeleteAsync($"/api/projects/{secondId}/rules/{ruleId}");

        await ApiAssert.ProblemAsync(response, HttpStatusCode.NotFound, "RULE_NOT_FOUND");
        var kept = await phone.Http.GetOkAsync($"/api/projects/{firstId}/rules");
        Assert.Equal([ruleId], kept.EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        Assert.Empty((await phone.Http.GetOkAsync($"/api/projects/{secondId}/rules")).EnumerateArray());
    }

    [Fact]
    public async Task Health_ClaudeCodeMissing_UnavailableWithInstallHint()
    {
        await using var server = await TestServer.StartAsync();
        using var anonymous = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = server.BaseUrl };

        var health = await anonymous.GetOkAsync("/api/health");

        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.False(string.IsNullOrWhiteSpace(health.GetProperty("version").GetString()));
        var claude = health.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("id").GetString() == "claude-code");
        Assert.False(claude.GetProperty("available").GetBoolean());
        var detail = claude.GetProperty("detail").GetString();
        Assert.Contains("npm install -g @anthropic-ai/claude-code", detail, StringComparison.Ordinal);
        var warnings = health.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList();
        Assert.Contains(warnings, w => w.Contains("No coding agent is installed", StringComparison.Ordinal));
        // The pairing command as it runs here (`dotnet …/pocketcoder.dll pair --data …` under the tests), health's own pairCommand.
        Assert.Contains(warnings, w => w == $"No device is paired yet. Run `{health.GetProperty("pairCommand").GetString()}` and enter the code on your phone.");
    }

    [Fact]
    public async Task Health_AfterPairing_NoPairingWarning()
    {
        await using var server = await TestServer.StartAsync();
        await server.PairAsync();
        using var anonymous = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = server.BaseUrl };

        var health = await anonymous.GetOkAsync("/api/health");

        Assert.DoesNotContain(health.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("pocketcoder pair", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreateSession_ClaudeCodeMissing_AgentUnavailable()
    {
        var repository = Track(TempPaths.NewGitRepository());
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString()!;

        var response = await phone.Http.PostAsJsonAsync($"/api/projects/{projectId}/sessions", new { agent = "claude-code", prompt = "hello" });

        var problem = await ApiAssert.StartFailsAsync(phone.Http, response, "AGENT_UNAVAILABLE");
        // Said in the owner's words: what is installed is on the app's New session screen and in `pocketcoder doctor`, never an API path.
        Assert.DoesNotContain("/api/", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("Claude Code was not found", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await phone.Http.GetAsync("/api/health")).StatusCode);
    }

    private string Track(string path)
    {
        _cleanup.Add(path);
        return path;
    }

    private static async Task<List<(string? Action, string? Subject)>> LedgerAsync(HttpClient http)
    {
        var ledger = await http.GetOkAsync("/api/ledger");
        return [.. ledger.GetProperty("entries").EnumerateArray().Select(e => (e.GetProperty("action").GetString(), e.GetProperty("subject").GetString()))];
    }
}
