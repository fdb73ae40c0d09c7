using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Workspace;

public sealed class CommandsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Run_BothStreams_StreamedThenExitRecordedAndReplayed()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var id = await StartAsync(world, "echo out; echo err >&2; pwd; exit 3");
        await using (var events = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events"))
        {
            var exit = await events.WaitForAsync("exit");
            Assert.Equal(3, exit.Json.GetProperty("exitCode").GetInt32());
            Assert.False(exit.Json.GetProperty("timedOut").GetBoolean());
            var outputs = events.Received.Where(e => e.Event == "output").ToList();
            Assert.Equal(Enumerable.Range(1, outputs.Count).Select(i => (long)i), outputs.Select(e => e.Id));
            Assert.Equal("out\n" + world.Repository + "\n", string.Concat(outputs.Where(e => e.Str("stream") == "stdout").Select(e => e.Str("text"))));
            Assert.Equal("err\n", string.Concat(outputs.Where(e => e.Str("stream") == "stderr").Select(e => e.Str("text"))));
        }

        var record = await world.Http.GetOkAsync($"/api/commands/{id}");
        Assert.Equal("exited", record.GetProperty("status").GetString());
        Assert.Equal(3, record.GetProperty("exitCode").GetInt32());
        Assert.Contains("err", record.GetProperty("outputTail").GetString());
        Assert.True(record.GetProperty("durationMs").GetInt64() >= 0);

        // After a restart the run is history: the same events, the same ids, from the database.
        var deviceId = world.Phone.DeviceId;
        await world.RestartAsync();
        await using var replay = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events", lastEventId: "1");
        var replayedExit = await replay.WaitForAsync("exit");
        Assert.Equal(3, replayedExit.Json.GetProperty("exitCode").GetInt32());
        Assert.All(replay.Received.Where(e => e.Event == "output"), e => Assert.True(e.Id > 1));
        var history = await world.Http.GetOkAsync($"{world.Api}/commands");
        Assert.Equal(id, Assert.Single(history.EnumerateArray()).GetProperty("id").GetString());
        var ledger = Assert.Single(await world.LedgerAsync("command.run"));
        Assert.Equal(deviceId, ledger.GetProperty("detail").GetProperty("deviceId").GetString());
        Assert.Equal("echo out; echo err >&2; pwd; exit 3", ledger.GetProperty("detail").GetProperty("command").GetString());
    }

    [Fact]
    public async Task Events_LateAndResumingSubscribers_GetOutputSoFarThenLive()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var go = Path.Combine(world.Repository, "go");
        var id = await StartAsync(world, "echo one; while [ ! -e go ]; do sleep 0.05; done; echo two");
        await using var first = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        var one = await first.WaitForAsync("output");
        Assert.Equal("one\n", one.Str("text"));

        await using var late = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        Assert.Equal("one\n", (await late.WaitForAsync("output")).Str("text"));
        await using var resumed = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events", lastEventId: one.Id.ToString(CultureInfo.InvariantCulture));

        File.WriteAllText(go, "");
        foreach (var client in new[] { first, late, resumed })
        {
            var two = await client.WaitForAsync("output");
            Assert.Equal("two\n", two.Str("text"));
            Assert.Equal(one.Id + 1, two.Id);
            await client.WaitForAsync("exit");
        }

        Assert.DoesNotContain(resumed.Received, e => e.Str("text") == "one\n");
    }

    [Fact]
    public async Task Run_FiftyMegabytesOfOutput_TruncatedAt300KbAndServerMemoryBounded()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var beforeManaged = GC.GetTotalMemory(forceFullCollection: true);
        var beforeWorkingSet = Process.GetCurrentProcess().WorkingSet64;

        var id = await StartAsync(world, "head -c 52428800 /dev/zero | tr '\\0' x; echo; echo done >&2");
        await using var events = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        var exit = await events.WaitForAsync("exit");

        var afterManaged = GC.GetTotalMemory(forceFullCollection: true);
        var afterWorkingSet = Process.GetCurrentProcess().WorkingSet64;
        var managedGrowth = afterManaged - beforeManaged;
        var workingSetGrowth = afterWorkingSet - beforeWorkingSet;
        output.WriteLine($"50 MB command: managed heap growth {managedGrowth / 1024.0 / 1024:F1} MB, working set growth {workingSetGrowth / 1024.0 / 1024:F1} MB");

        Assert.Equal(0, exit.Json.GetProperty("exitCode").GetInt32());
        Assert.True(exit.Json.GetProperty("truncated").GetBoolean());
        var text = string.Concat(events.Received.Where(e => e.Event == "output").Select(e => e.Str("text")));
        Assert.Contains("output truncated at 300 KB", text);
        Assert.True(Encoding.UTF8.GetByteCount(text) <= 300 * 1024 + 200, $"kept {Encoding.UTF8.GetByteCount(text)} bytes");
        Assert.True(managedGrowth < 100L * 1024 * 1024, $"managed heap grew {managedGrowth} bytes");
        Assert.True(workingSetGrowth < 100L * 1024 * 1024, $"working set grew {workingSetGrowth} bytes");
        var record = await world.Http.GetOkAsync($"/api/commands/{id}");
        Assert.True(record.GetProperty("outputBytes").GetInt64() > 50L * 1024 * 1024);
    }

    [Fact]
    public async Task Cancel_CommandWithSleepChildren_StopsWholeGroupAndLeavesNothing()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var id = await StartAsync(world, "sleep 300 & echo $!; sleep 301 & echo $!; trap '' TERM; wait");
        await using var events = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        var pids = await PidsAsync(events, 2);
        Assert.All(pids, pid => Assert.True(IsAlive(pid)));

        var cancel = await world.Http.PostAsync($"/api/commands/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var exit = await events.WaitForAsync("exit");
        Assert.True(exit.Json.GetProperty("cancelled").GetBoolean());
        Assert.Equal("cancelled", exit.Str("status"));
        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"pid {pid} outlived the cancel"));
        Assert.Single(await world.LedgerAsync("command.cancelled"));
        await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/commands/{id}/cancel", null), HttpStatusCode.Conflict, "COMMAND_NOT_RUNNING");
    }

    [Fact]
    public async Task Run_PastItsTimeout_StoppedAsCommandTimeoutAndLeavesNothing()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var id = await StartAsync(world, "sleep 400 & echo $!; wait", timeoutSeconds: 1);
        await using var events = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        var pids = await PidsAsync(events, 1);
        var exit = await events.WaitForAsync("exit");
        Assert.True(exit.Json.GetProperty("timedOut").GetBoolean());
        Assert.Equal("COMMAND_TIMEOUT", exit.Str("errorCode"));
        Assert.False(IsAlive(pids[0]), $"pid {pids[0]} outlived the timeout");
        var record = await world.Http.GetOkAsync($"/api/commands/{id}");
        Assert.Equal("timed_out", record.GetProperty("status").GetString());
        Assert.Equal("COMMAND_TIMEOUT", record.GetProperty("errorCode").GetString());
    }

    /// <summary>
    /// Children that leave the process group (a new session, a double fork, nohup) used to survive cancel, keep the run
    /// "running" for good (they held its output pipe) and make cancel answer 500.
    /// </summary>
    [Theory]
    [InlineData("setsid sleep 777 & echo $!; wait")]
    [InlineData("setsid sh -c 'sleep 778 & echo $!; wait' & wait")]
    [InlineData("( setsid sh -c 'echo $$; exec sleep 779' & ) ; sleep 300")]
    [InlineData("nohup sleep 780 > /dev/null 2>&1 & echo $!; setsid sleep 781 < /dev/null > /dev/null 2>&1 & echo $!; sleep 300")]
    public async Task Cancel_ChildrenThatLeftTheGroup_AllStoppedWithAFinalStatus(string command)
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var id = await StartAsync(world, command);
        await using var events = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        var pids = await PidsAsync(events, command.Split("echo $").Length - 1);
        Assert.All(pids, pid => Assert.True(IsAlive(pid)));

        var cancel = await world.Http.PostAsync($"/api/commands/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var exit = await events.WaitForAsync("exit");
        Assert.Equal("cancelled", exit.Str("status"));
        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"pid {pid} outlived the cancel"));
        Assert.Equal("cancelled", (await world.Http.GetOkAsync($"/api/commands/{id}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Run_EndsWhileASetsidChildHoldsItsOutput_FinishesAndTheChildIsStopped()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var id = await StartAsync(world, "setsid sleep 782 & echo $!; exit 0");
        await using var events = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        var pids = await PidsAsync(events, 1);
        var exit = await events.WaitForAsync("exit");
        Assert.Equal(0, exit.Json.GetProperty("exitCode").GetInt32());
        Assert.False(IsAlive(pids[0]), $"pid {pids[0]} outlived its command");
    }

    [Fact]
    public async Task Run_SetsidChildPastTheTimeout_TimedOutAndStopped()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var id = await StartAsync(world, "setsid sleep 783 & echo $!; sleep 300", timeoutSeconds: 1);
        await using var events = await SseClient.ConnectAsync(world.Http, $"/api/commands/{id}/events");
        var pids = await PidsAsync(events, 1);
        var exit = await events.WaitForAsync("exit");
        Assert.True(exit.Json.GetProperty("timedOut").GetBoolean());
        Assert.False(IsAlive(pids[0]), $"pid {pids[0]} outlived the timeout");
    }

    [Fact]
    public async Task Run_BadInput_StableCodes()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/commands", new { command = " " }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/commands", new { command = "true", timeoutSeconds = 0 }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync("/api/commands/nope"), HttpStatusCode.NotFound, "COMMAND_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync("/api/commands/nope/events"), HttpStatusCode.NotFound, "COMMAND_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PostAsync("/api/commands/nope/cancel", null), HttpStatusCode.NotFound, "COMMAND_NOT_FOUND");
    }

    private static async Task<string> StartAsync(WorkspaceWorld world, string command, int? timeoutSeconds = null)
    {
        var response = await world.Http.PostAsJsonAsync($"{world.Api}/commands", new { command, timeoutSeconds });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await ApiAssert.OkJsonAsync(response)).GetProperty("id").GetString()!;
    }

    private static async Task<List<int>> PidsAsync(SseClient events, int count)
    {
        var text = new StringBuilder();
        while (text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < count)
        {
            text.Append((await events.WaitForAsync("output")).Str("text"));
        }

        return [.. text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
    }

    /// <summary>Running or sleeping; a zombie waiting for init to reap it is not running anything.</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }
}
