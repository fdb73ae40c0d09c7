using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Realtime;

namespace PocketCoder.Bench;

/// <summary>
/// Issue #40: "Start session" on a branch of its own answers at once at any repository size, and makes the worktree after.
/// On repositories of 10,000 and 100,000 files (made once per run in a temp folder), against a one-file repository
/// measured the same way: the time to the 201, the time until the worktree is ready (<c>session.preparing</c> <c>ready</c>)
/// against <c>git worktree add</c> of the same commit alone, and how long a stop during the checkout takes (git stopped,
/// the half-made worktree taken away).
/// </summary>
public sealed partial class InProcessBench
{
    private const int FilesPerFolder = 100;

    public async Task<List<Row>> WorktreeStartAsync()
    {
        var rows = new List<Row>();
        var runs = quick ? 3 : 5;
        var small = await Temp.GitRepositoryAsync();
        try
        {
            var baseline = await WorktreeSizeAsync(small, 1, runs);
            foreach (var files in new[] { 10_000, 100_000 })
            {
                var repository = await LargeRepositoryAsync(files);
                try
                {
                    var measured = await WorktreeSizeAsync(repository, files, files >= 100_000 ? 2 : runs);
                    var n = $"{files:N0}";
                    rows.Add(new Row($"Worktree: POST to 201 for a session on its own branch, {n} files (median / max of {measured.Created.Count})",
                        $"{Stats.F(Stats.Median(measured.Created))} / {Stats.F(measured.Created.Max())} ms", $"{Stats.F(Stats.Median(baseline.Created))} ms on 1 file",
                        $"{Stats.Median(measured.Created) / Stats.Median(baseline.Created):0.00}x", "< 300 ms",
                        measured.Created.Max() < 300 ? "met" : "**missed**"));
                    rows.Add(new Row($"Worktree: 201 to worktree ready (session.preparing ready), {n} files", $"{Stats.F(measured.Ready)} ms",
                        $"{Stats.F(measured.GitAlone)} ms `git worktree add` alone", $"{measured.Ready / measured.GitAlone:0.00}x", "report", "n/a"));
                    rows.Add(new Row($"Worktree: stopped during the checkout (git stopped, half-made worktree gone), {n} files (median of {measured.Stopped.Count})",
                        $"{Stats.F(Stats.Median(measured.Stopped))} ms", "", "", "report", "n/a"));
                }
                finally
                {
                    Temp.Delete(repository);
                }
            }
        }
        finally
        {
            Temp.Delete(small);
        }

        return rows;
    }

    private sealed record WorktreeTimes(List<double> Created, double Ready, double GitAlone, List<double> Stopped);

    /// <summary>
    /// One full run (201, then ready, against git alone), then <paramref name="runs"/> - 1 that are stopped as soon as the
    /// checkout has begun: a 201 each, and the time the stop takes. Whole worktrees are left for the temp folders' removal.
    /// </summary>
    private async Task<WorktreeTimes> WorktreeSizeAsync(string repository, int files, int runs)
    {
        var projectId = Service<Projects.ProjectStore>().Add(repository, $"bench-{files}", Actor.System).Id;
        var scratch = Temp.Directory("pcbench-worktree");
        try
        {
            var target = Path.Combine(scratch, "alone");
            var start = Stopwatch.GetTimestamp();
            await Cli.RunAsync("git", "-C", repository, "worktree", "add", "-q", "-b", "bench/alone", target, "HEAD");
            var gitAlone = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

            var created = new List<double>();
            var stopped = new List<double>();
            var ready = 0.0;
            for (var i = 0; i < runs; i++)
            {
                using var subscription = Service<EventHub>().Subscribe(null, 4096);
                start = Stopwatch.GetTimestamp();
                using var response = await _http.PostAsJsonAsync($"/api/projects/{projectId}/sessions", new { agent = "claude-code", worktree = true });
                created.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (!response.IsSuccessStatusCode || body.GetProperty("status").GetString() != "preparing")
                {
                    throw new InvalidOperationException($"a session with a worktree was not answered preparing: {body}");
                }

                var id = body.GetProperty("id").GetString()!;
                if (i == 0)
                {
                    await PreparedAsync(subscription, id, "ready");
                    ready = Stopwatch.GetElapsedTime(start).TotalMilliseconds - created[0];
                    // Its worktree stays until the data folder goes: deleting 100,000 files is no part of what is measured.
                    (await _http.DeleteAsync($"/api/sessions/{id}")).EnsureSuccessStatusCode();
                    continue;
                }

                // Stopped once git writes files (a one-file repository is ready at once: stopped then).
                await PreparedAsync(subscription, id, files > 1 ? "checkout" : "ready");
                start = Stopwatch.GetTimestamp();
                (await _http.DeleteAsync($"/api/sessions/{id}")).EnsureSuccessStatusCode();
                stopped.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (files > 1 && Directory.Exists(Path.Combine(_data, "worktrees", projectId, id)))
                {
                    throw new InvalidOperationException($"the stopped session {id} left its half-made worktree behind");
                }

            }

            return new WorktreeTimes(created, ready, gitAlone, stopped);
        }
        finally
        {
            Temp.Delete(scratch);
        }
    }

    /// <summary>Waits for the session's <c>session.preparing</c> of <paramref name="phase"/>; a <c>session.error</c> ends the bench.</summary>
    private static async Task PreparedAsync(EventHub.Subscription subscription, string sessionId, string phase)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        while (await subscription.Reader.WaitToReadAsync(timeout.Token))
        {
            while (subscription.Reader.TryRead(out var item))
            {
                if (item.Stored is not { } stored || stored.SessionId != sessionId)
                {
                    continue;
                }

                if (stored.Kind == ErrorEvent.Kind)
                {
                    throw new InvalidOperationException($"session {sessionId}: {stored.Data}");
                }

                if (stored.Kind == SessionPreparingEvent.Kind && JsonElement.Parse(stored.Data).GetProperty("phase").GetString() == phase)
                {
                    return;
                }
            }
        }

        throw new InvalidOperationException($"session {sessionId} never reached {phase}");
    }

    /// <summary>A repository of <paramref name="files"/> small source files in folders of a hundred, one commit.</summary>
    private static async Task<string> LargeRepositoryAsync(int files)
    {
        var repository = await Temp.GitRepositoryAsync();
        for (var folder = 0; folder < files / FilesPerFolder; folder++)
        {
            var directory = Path.Combine(repository, $"src{folder:D4}");
            Directory.CreateDirectory(directory);
            for (var file = 0; file < FilesPerFolder; file++)
            {
                await File.WriteAllTextAsync(Path.Combine(directory, $"file{file:D2}.cs"), $"// {folder}/{file}\nclass C{folder}_{file} {{ }}\n");
            }
        }

        await Cli.RunAsync("git", "-C", repository, "add", ".");
        await Cli.RunAsync("git", "-C", repository, "-c", "user.email=bench@example.invalid", "-c", "user.name=Bench", "commit", "-q", "-m", $"{files} files");
        return repository;
    }
}
