using System.Diagnostics;
using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reliability;

public sealed class CrashRecoveryTests
{
    /// <summary>
    /// The server is SIGKILLed mid-turn while the agent waits for an approval: no shutdown code runs. After a
    /// restart everything a phone had seen is still there in order, the question is settled as interrupted, and
    /// the session picks up its conversation.
    /// </summary>
    [Fact]
    public async Task KillNine_MidTurnWithPendingApproval_EventsKeptApprovalInterruptedSessionResumes()
    {
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var data = TempPaths.NewDirectory("pc-data");
        var repository = TempPaths.NewGitRepository();
        var environment = Environment(model, home);
        try
        {
            string sessionId;
            string approvalId;
            string token;
            List<SseEvent> seen;
            List<int> agents;
            await using (var server = await ServerProcess.StartAsync(data, environment))
            {
                using var http = await server.PairAsync();
                token = http.DefaultRequestHeaders.Authorization!.Parameter!;
                var project = await http.PostOkAsync("/api/projects", new { path = repository });
                model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo a > a.txt", description = "Write a" }, "I will write a.txt now."));
                var session = await http.PostOkAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions",
                    new { agent = "claude-code", prompt = "remember the word PELICAN, then write a.txt" });
                sessionId = session.GetProperty("id").GetString()!;
                await using var events = await SseClient.ConnectAsync(http, $"/api/sessions/{sessionId}/events");
                approvalId = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;
                seen = [.. events.Received];
                agents = server.Descendants();
                Assert.NotEmpty(agents);

                await server.KillAsync();
            }

            // With the server gone its agent loses stdin and must not linger as an orphan.
            foreach (var pid in agents)
            {
                Assert.True(await ExitedAsync(pid, TimeSpan.FromSeconds(20)), $"Agent process {pid} outlived the killed server.");
            }

            await using var restarted = await ServerProcess.StartAsync(data, environment);
            using var phone = restarted.Client(token);

            Assert.Equal("interrupted", (await phone.GetOkAsync($"/api/sessions/{sessionId}")).GetProperty("status").GetString());
            Assert.Equal("interrupted", (await phone.GetOkAsync($"/api/approvals/{approvalId}")).GetProperty("status").GetString());
            Assert.Equal(0, (await phone.GetOkAsync("/api/approvals?status=pending")).GetArrayLength());
            Assert.False(File.Exists(Path.Combine(repository, "a.txt")));

            await using var replay = await SseClient.ConnectAsync(phone, $"/api/sessions/{sessionId}/events");
            var settled = await replay.WaitForAsync(e => e.Event == "approval.resolved" && e.Str("approvalId") == approvalId);
            Assert.Equal("interrupted", settled.Str("status"));
            // Every event seen before the kill, byte for byte and in order, then the rest with no gap.
            Assert.Equal(seen.Select(e => (e.Id, e.Event, e.Data)), replay.Received.Take(seen.Count).Select(e => (e.Id, e.Event, e.Data)));
            Assert.Equal(Enumerable.Range(1, (int)settled.Id).Select(i => (long)i), replay.Received.Select(e => e.Id));

            model.Enqueue(ScriptedReply.Text("The word was PELICAN."));
            var resumed = await phone.PostAsync($"/api/sessions/{sessionId}/resume", null);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, resumed.StatusCode);
            var sent = await phone.PostAsync($"/api/sessions/{sessionId}/messages",
                new StringContent("""{"text":"What was the word?"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.Accepted, sent.StatusCode);
            await replay.WaitForAsync("turn.completed");
            Assert.Contains("PELICAN", model.Requests[^1].Body.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(data);
            TempPaths.Delete(home);
            TempPaths.Delete(repository);
        }
    }

    /// <summary>
    /// A kill -9 of the server takes every sandbox with it: the agent, bubblewrap, and a tool the owner allowed that left its
    /// process group and parent and cleared its environment (nothing but the sandbox's process namespace holds it).
    /// </summary>
    [Fact]
    public async Task KillNine_SandboxedSessionWithAToolThatEscapedItsGroup_NothingLeftRunning()
    {
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var data = TempPaths.NewDirectory("pc-data");
        var repository = TempPaths.NewGitRepository();
        var sleeper = $"sleep 900.{Random.Shared.Next(1, int.MaxValue)}";
        try
        {
            await using var server = await ServerProcess.StartAsync(data, Environment(model, home));
            using var http = await server.PairAsync();
            var project = await http.PostOkAsync("/api/projects", new { path = repository });
            Assert.Equal("sandboxed", project.GetProperty("sandbox").GetString());
            model.Enqueue(
                ScriptedReply.ToolUse("Bash", new { command = $"env -i setsid {sleeper} </dev/null >/dev/null 2>&1 &", description = "Start a sleeper" }),
                ScriptedReply.ToolUse("Bash", new { command = "echo b > b.txt", description = "Write b" }));
            var session = await http.PostOkAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions",
                new { agent = "claude-code", prompt = "start a sleeper, then write b.txt" });
            await using var events = await SseClient.ConnectAsync(http, $"/api/sessions/{session.GetProperty("id").GetString()}/events");
            var first = await events.WaitForAsync("approval.requested");
            await ApiAssert.OkJsonAsync(await http.PostAsJsonAsync($"/api/approvals/{first.Str("approvalId")}/decision", new { decision = "allow_once" }));
            await events.WaitForAsync(e => e.Event == "approval.requested" && e.Id > first.Id);
            var left = server.Descendants().Append(await ProcessWithCommandLineAsync(sleeper)).ToList();
            Assert.Contains(left, pid => CommandLine(pid).Contains("bwrap", StringComparison.Ordinal));

            await server.KillAsync();

            foreach (var pid in left)
            {
                Assert.True(await ExitedAsync(pid, TimeSpan.FromSeconds(20)), $"'{CommandLine(pid)}' ({pid}) outlived the killed server.");
            }
        }
        finally
        {
            TempPaths.Delete(data);
            TempPaths.Delete(home);
            TempPaths.Delete(repository);
        }
    }

    private static async Task<int> ProcessWithCommandLineAsync(string start)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(directory), out var pid) && CommandLine(pid).StartsWith(start, StringComparison.Ordinal))
                {
                    return pid;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No process '{start}' appeared.");
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static Dictionary<string, string?> Environment(FakeModelServer model, string home) => new()
    {
        ["POCKETCODER_CLAUDE_PATH"] = ClaudeCli.Executable,
        ["HOME"] = home,
        ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
        ["ANTHROPIC_API_KEY"] = "fake-key",
        ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
        ["DISABLE_AUTOUPDATER"] = "1",
        ["CLAUDE_CONFIG_DIR"] = null,
        ["ANTHROPIC_AUTH_TOKEN"] = null,
        ["POCKETCODER_DATA"] = null,
    };

    private static async Task<bool> ExitedAsync(int pid, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            // A zombie (state Z) has exited; only its parent's reaping is left.
            var stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat) || File.ReadAllText(stat).Split(") ")[^1].StartsWith('Z'))
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
