using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Workspace;

public sealed class WatcherTests
{
    [Fact]
    public async Task FileWritten_InProject_FileChangedOnGlobalStreamWithoutIdAndIgnoredFoldersSkipped()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events");
        File.WriteAllText(Path.Combine(world.Repository, "a.txt"), "a");
        var first = await events.WaitForAsync(e => e.Event == "file.changed" && Paths(e).Contains("a.txt"));
        Assert.Equal(0, first.Id);
        Assert.Equal(world.ProjectId, first.Str("projectId"));
        Assert.False(first.Json.GetProperty("truncated").GetBoolean());
        var seq = first.Json.GetProperty("seq").GetInt64();

        foreach (var ignored in new[] { "node_modules", "bin", "obj", "dist", "build", ".next" })
        {
            Directory.CreateDirectory(Path.Combine(world.Repository, ignored));
            File.WriteAllText(Path.Combine(world.Repository, ignored, "x.js"), "x");
        }

        File.WriteAllText(Path.Combine(world.Repository, ".git", "scratch"), "x");
        File.WriteAllText(Path.Combine(world.Repository, "b.txt"), "b");
        var second = await events.WaitForAsync(e => e.Event == "file.changed" && Paths(e).Contains("b.txt"));
        Assert.True(second.Json.GetProperty("seq").GetInt64() > seq);
        var seen = events.Received.Where(e => e.Event == "file.changed").SelectMany(Paths).ToList();
        Assert.DoesNotContain(seen, p => p.Contains("x.js", StringComparison.Ordinal) || p.StartsWith(".git", StringComparison.Ordinal));
        // The ignored folders themselves were created at the root, so they may be reported; never what is inside them.
        var seqs = events.Received.Where(e => e.Event == "file.changed").Select(e => e.Json.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Count).Select(i => (long)i), seqs);
    }

    [Fact]
    public async Task ManyChanges_MoreThan500InABatch_TruncatedAndFlagged()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events");
        var many = Path.Combine(world.Repository, "many");
        Directory.CreateDirectory(many);
        // 700 files in one burst normally land in one batch; on a loaded machine a burst can straddle batches, so bursts
        // are repeated (at most five) until one batch holds more than 500.
        SseEvent? truncated = null;
        for (var round = 0; truncated is null && round < 5; round++)
        {
            for (var i = 0; i < 700; i++)
            {
                File.WriteAllBytes(Path.Combine(many, $"r{round}-f{i:D4}"), []);
            }

            try
            {
                truncated = await events.WaitForAsync(e => e.Event == "file.changed" && e.Json.GetProperty("truncated").GetBoolean(), TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException) when (round < 4)
            {
            }
        }

        Assert.True(truncated!.Json.GetProperty("paths").GetArrayLength() <= 500);
    }

    [Fact]
    public async Task ProjectAddedAfterStart_IsWatched()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var second = TempPaths.NewDirectory("pc-second");
        try
        {
            await using var events = await SseClient.ConnectAsync(world.Http, "/api/events");
            var project = await world.Http.PostOkAsync("/api/projects", new { path = second });
            var id = project.GetProperty("id").GetString();
            // The watcher is set up just after the project is committed; write until it reports (bounded).
            var deadline = DateTime.UtcNow.AddSeconds(30);
            SseEvent? changed = null;
            for (var i = 0; changed is null && DateTime.UtcNow < deadline; i++)
            {
                File.WriteAllText(Path.Combine(second, $"n{i}.txt"), "n");
                try
                {
                    changed = await events.WaitForAsync(e => e.Event == "file.changed" && e.Str("projectId") == id, TimeSpan.FromSeconds(2));
                }
                catch (TimeoutException)
                {
                }
            }

            Assert.NotNull(changed);
        }
        finally
        {
            TempPaths.Delete(second);
        }
    }

    private static List<string> Paths(SseEvent e) => [.. e.Json.GetProperty("paths").EnumerateArray().Select(p => p.GetString()!)];
}
