using System.Net;
using System.Net.Http.Json;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Workspace;

/// <summary>A machine with no git identity (a fresh one, or an empty HOME): the phone is told, and can set one for the project.</summary>
public sealed class GitIdentityTests
{
    [Fact]
    public async Task Commit_NoIdentityAnywhere_GitIdentityMissingThenSetForTheProjectAndCommits()
    {
        var home = TempPaths.NewDirectory("pc-home");
        var data = TempPaths.NewDirectory("pc-data");
        var repository = TempPaths.NewGitRepository();
        var emptyGlobal = Path.Combine(home, "empty.gitconfig");
        File.WriteAllText(emptyGlobal, "");
        // The server's git sees no global, no system and no environment identity: what a fresh machine has.
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["GIT_CONFIG_GLOBAL"] = emptyGlobal,
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_AUTHOR_NAME"] = null,
            ["GIT_AUTHOR_EMAIL"] = null,
            ["GIT_COMMITTER_NAME"] = null,
            ["GIT_COMMITTER_EMAIL"] = null,
            ["EMAIL"] = null,
        };
        try
        {
            await using var server = await ServerProcess.StartAsync(data, environment);
            using var http = await server.PairAsync();
            var project = (await http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString();
            var api = $"/api/projects/{project}/git";
            File.WriteAllText(Path.Combine(repository, "new.txt"), "new\n");
            await http.PostOkAsync($"{api}/stage", new { paths = new[] { "new.txt" } });

            var refused = await http.PostAsJsonAsync($"{api}/commit", new { message = "add new" });
            await ApiAssert.ProblemAsync(refused, HttpStatusCode.Conflict, "GIT_IDENTITY_MISSING");
            var before = await http.GetOkAsync($"{api}/identity");
            Assert.Null(before.GetProperty("name").GetString());

            var bad = await http.PutAsJsonAsync($"{api}/identity", new { name = "Ann", email = "no-at-sign" });
            await ApiAssert.ProblemAsync(bad, HttpStatusCode.BadRequest, "VALIDATION_FAILED");

            var set = await ApiAssert.OkJsonAsync(await http.PutAsJsonAsync($"{api}/identity", new { name = "-Ann Owner", email = "ann@example.invalid" }));
            Assert.Equal("-Ann Owner", set.GetProperty("name").GetString());
            var commit = await http.PostOkAsync($"{api}/commit", new { message = "add new" });
            Assert.Equal("-Ann Owner <ann@example.invalid>",
                WorkspaceWorld.Git(repository, "log", "-1", "--format=%an <%ae>", commit.GetProperty("sha").GetString()!).Trim());

            var ledger = await http.GetOkAsync("/api/ledger?limit=1000");
            var entries = ledger.ValueKind == System.Text.Json.JsonValueKind.Array ? ledger : ledger.GetProperty("entries");
            Assert.Contains(entries.EnumerateArray(), e => e.GetProperty("action").GetString() == "git.identity_set");
        }
        finally
        {
            TempPaths.Delete(home);
            TempPaths.Delete(data);
            TempPaths.Delete(repository);
        }
    }
}
