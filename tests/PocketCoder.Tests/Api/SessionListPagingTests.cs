using System.Net;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>
/// The session list is a page of the newest, and pages back by cursor (issue #52): a data folder of more sessions than a page
/// holds shows every one of them, once, in order, including sessions created in the same instant across a page's edge.
/// </summary>
public sealed class SessionListPagingTests : IDisposable
{
    private readonly string _repository = TempPaths.NewGitRepository();

    [Fact]
    public async Task PagingBack_ListsEverySessionOnce_NewestFirst_TiesInTheSameInstantIncluded()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = _repository })).GetProperty("id").GetString()!;
        // 25 sessions, created in 10 instants (2 or 3 each): page edges fall inside instants.
        var created = Enumerable.Range(0, 25).Select(i => (Id: $"s-{i:00}", At: DateTimeOffset.Parse("2026-01-01T00:00:00Z").AddSeconds(i / 3))).ToList();
        server.Services.GetRequiredService<Database>().Write(write =>
        {
            foreach (var (id, at) in created)
            {
                write.Execute("""
                    INSERT INTO sessions (id, project_id, agent, status, agent_session_id, created_at, updated_at)
                    VALUES ($id, $project, 'codex', 'idle', $id, $at, $at)
                    """, ("$id", id), ("$project", projectId), ("$at", at.ToDb()));
            }
        });

        foreach (var scope in new[] { "", $"projectId={projectId}&" })
        {
            var listed = new List<string>();
            string? before = null;
            for (var pages = 0; pages < 10; pages++)
            {
                var page = (await phone.Http.GetOkAsync($"/api/sessions?{scope}limit=4{(before is null ? "" : $"&before={before}")}"))
                    .EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();
                Assert.True(page.Count <= 4);
                listed.AddRange(page);
                if (page.Count < 4)
                {
                    break;
                }

                before = page[^1];
            }

            Assert.Equal(created.OrderByDescending(s => s.At).ThenByDescending(s => s.Id, StringComparer.Ordinal).Select(s => s.Id), listed);
        }

        // Without a limit, the first page as before: all of them here (up to 1,000).
        Assert.Equal(25, (await phone.Http.GetOkAsync("/api/sessions")).GetArrayLength());
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/sessions?limit=0"), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/sessions?limit=1001"), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/sessions?before=no-such-session"), HttpStatusCode.NotFound, "SESSION_NOT_FOUND");
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/sessions?q=fix&before=s-03"), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
    }

    public void Dispose() => TempPaths.Delete(_repository);
}
