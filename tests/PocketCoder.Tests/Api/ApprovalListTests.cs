using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Approvals;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>
/// <c>GET /api/approvals</c> holds at most <see cref="ApprovalStore.ListLimit"/>, oldest first: of the open questions, those
/// open longest; of the decided (which only grow), the newest, so that a decision made today is always in the list.
/// </summary>
public sealed class ApprovalListTests : IDisposable
{
    private readonly string _repository = TempPaths.NewGitRepository();

    [Fact]
    public async Task PastTheLimit_DecidedListsTheNewest_PendingTheOldest_EachOldestFirst()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = _repository })).GetProperty("id").GetString()!;
        var start = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        const int decided = ApprovalStore.ListLimit + 20;
        server.Services.GetRequiredService<Database>().Write(write =>
        {
            write.Execute("""
                INSERT INTO sessions (id, project_id, agent, status, agent_session_id, created_at, updated_at)
                VALUES ('s', $project, 'codex', 'idle', 's', $at, $at)
                """, ("$project", projectId), ("$at", start.ToDb()));
            for (var i = 0; i < decided + ApprovalStore.ListLimit + 5; i++)
            {
                var pending = i >= decided;
                write.Execute("""
                    INSERT INTO approvals (id, session_id, project_id, tool_call_id, tool, kind, title, input, rule_pattern, status, created_at,
                        decision, decided_by, decided_at)
                    VALUES ($id, 's', $project, $id, 'Bash', 'execute', 'ls', '{}', 'ls', $status, $at, $decision, $by, $decidedAt)
                    """, ("$id", $"a-{i:0000}"), ("$project", projectId), ("$status", pending ? "pending" : "decided"),
                    ("$at", start.AddSeconds(i).ToDb()), ("$decision", pending ? null : "deny"), ("$by", pending ? null : "owner"),
                    ("$decidedAt", pending ? null : start.AddSeconds(i + 1).ToDb()));
            }
        });

        async Task<List<string>> ListAsync(string query) =>
            [.. (await phone.Http.GetOkAsync($"/api/approvals{query}")).EnumerateArray().Select(a => a.GetProperty("id").GetString()!)];

        var newestDecided = Enumerable.Range(decided - ApprovalStore.ListLimit, ApprovalStore.ListLimit).Select(i => $"a-{i:0000}");
        Assert.Equal(newestDecided, await ListAsync("?status=decided"));
        Assert.Equal(newestDecided, await ListAsync("?status=decided&sessionId=s"));
        var oldestPending = Enumerable.Range(decided, ApprovalStore.ListLimit).Select(i => $"a-{i:0000}");
        Assert.Equal(oldestPending, await ListAsync("?status=pending"));
        var all = await ListAsync("");
        Assert.Equal(ApprovalStore.ListLimit, all.Count);
        Assert.Equal($"a-{decided + ApprovalStore.ListLimit + 4:0000}", all[^1]);
    }

    public void Dispose() => TempPaths.Delete(_repository);
}
