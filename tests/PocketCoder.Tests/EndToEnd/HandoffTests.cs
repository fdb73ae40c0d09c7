using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// One conversation, terminal then phone then terminal, with the REAL Claude Code CLI: begun with `claude -p` in the
/// project folder, listed and continued here (history imported, the next call gated), handed back (process stopped,
/// command given), then carried on by the CLI itself; its transcript holds all three parts, in order.
/// </summary>
public sealed class HandoffTests
{
    private const string Conversation = "0b6a1f4e-5c1d-4c59-9a53-6f2f3a1d2e77";

    [Fact]
    public async Task TerminalPhoneTerminal_OneConversation_GatedOnThePhone_NeverTwoProcesses()
    {
        await using var world = await AgentWorld.ClaudeAsync();

        // 1. The terminal: a conversation begun outside PocketCoder.
        world.Model.Enqueue(ScriptedReply.Text("I will remember heron."));
        await RunClaudeAsync(world, "-p", "Remember the word heron", "--session-id", Conversation);

        var listed = (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/agent-sessions")).EnumerateArray()
            .Single(c => c.GetProperty("id").GetString() == Conversation);
        Assert.Equal("claude-code", listed.GetProperty("agent").GetString());
        Assert.Equal("Remember the word heron", listed.GetProperty("title").GetString());
        Assert.False(listed.GetProperty("inUse").GetBoolean());

        // 2. The phone: continued here, its history imported, its next call asked about.
        var continued = await world.Http.PostAsync($"/api/projects/{world.ProjectId}/agent-sessions/claude-code/{Conversation}/continue", null);
        Assert.Equal(HttpStatusCode.Created, continued.StatusCode);
        var sessionId = (await continued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(sessionId, lastEventId: "0");
        var imported = await events.WaitForAsync("history.imported");
        Assert.Equal(2, imported.Json.GetProperty("entries").GetInt32());
        Assert.Equal("terminal", events.Received.First(e => e.Event == "message.user").Str("sentBy"));
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "I will remember heron.");

        // The terminal client, as a device of the server: send, and see what waits.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo phone > phone.txt", description = "Write phone.txt" }),
            ScriptedReply.Text("Wrote phone.txt."));
        Assert.Equal(0, (await CliAsync(world, "send", sessionId[..8], "Write phone.txt")).Exit);
        var asked = await events.WaitForAsync("approval.requested");
        var waiting = await CliAsync(world, "sessions");
        Assert.Contains($"{sessionId[..8]}  waiting_approval", waiting.Output, StringComparison.Ordinal);
        Assert.Contains("[1 waiting] Remember the word heron", waiting.Output, StringComparison.Ordinal);
        var status = await CliAsync(world, "status");
        Assert.Equal(0, status.Exit);
        Assert.Contains($"1 approval ({PocketCoder.Cli.SelfCommand.For("approvals")})", status.Output, StringComparison.Ordinal);
        Assert.Contains("1 waiting_approval", status.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(asked.Str("approvalId")!, "allow_once")).StatusCode);
        var wrote = await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Wrote phone.txt.");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > wrote.Id);
        Assert.True(world.Model.Requests.Last(r => r.ConsumedScript).Contains("Remember the word heron"), "the agent did not resume the terminal's conversation");

        // Never two live processes on it: not a second session here...
        await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/projects/{world.ProjectId}/agent-sessions/claude-code/{Conversation}/continue", null),
            HttpStatusCode.Conflict, "CONVERSATION_IN_USE");

        // 3. Handed back from the terminal: PocketCoder's process stops, and the command to carry on is given.
        var handoff = await CliAsync(world, "handoff", "--print", sessionId[..8]);
        Assert.Equal(0, handoff.Exit);
        // The same claude the server runs, not whichever is first on PATH.
        Assert.Contains($"To carry on: cd {world.Repository} && {ClaudeCli.Executable} --resume {Conversation}", handoff.Output, StringComparison.Ordinal);
        Assert.Equal("stopped", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());
        Assert.Equal(2, (await CliAsync(world, "send")).Exit);

        // ...and not while a terminal holds it: one naming it, or a claude started without an id in the project's folder
        // (which may be on another conversation: force says so).
        var continueUrl = $"/api/projects/{world.ProjectId}/agent-sessions/claude-code/{Conversation}/continue";
        using (var holder = HoldInTerminal("holder", ["--resume", Conversation], "/"))
        {
            await ApiAssert.ProblemAsync(await world.Http.PostAsync(continueUrl, null), HttpStatusCode.Conflict, "CONVERSATION_IN_USE");
        }

        using (var claudeHere = HoldInTerminal("claude", [], world.Repository))
        {
            await ApiAssert.ProblemAsync(await world.Http.PostAsync(continueUrl, null), HttpStatusCode.Conflict, "CONVERSATION_MAYBE_IN_USE");
        }

        // 4. The terminal again, with the command it was given: the whole conversation is there, in order.
        world.Model.Enqueue(ScriptedReply.Text("Heron, and phone.txt."));
        await RunClaudeAsync(world, "-p", "What did we do?", "--resume", Conversation);
        var last = world.Model.Requests.Last(r => r.ConsumedScript);
        var prompts = last.Messages.Where(m => m.GetProperty("role").GetString() == "user").Select(m => m.ToString()).ToList();
        var order = new[] { "Remember the word heron", "Write phone.txt", "What did we do?" }
            .Select(p => prompts.FindIndex(m => m.Contains(p, StringComparison.Ordinal))).ToList();
        Assert.DoesNotContain(-1, order);
        Assert.Equal(order.Order(), order);
        Assert.Equal("phone\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "phone.txt")));
    }

    /// <summary>
    /// The same with the REAL Codex CLI: a thread begun with `codex exec`, found through Codex's own thread/list, its turns
    /// read back (thread/read), resumed natively (thread/resume) with the next command gated, handed back, then carried
    /// on with `codex exec resume`.
    /// </summary>
    [Fact]
    public async Task Codex_TerminalPhoneTerminal_OneThread()
    {
        await using var world = await AgentWorld.CodexAsync();

        world.Model.Enqueue(ScriptedReply.Text("I will remember heron."));
        var begun = await world.RunInTerminalAsync("exec", "--json", "Remember the word heron");
        var threadId = begun.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .First(e => e.GetProperty("type").GetString() == "thread.started").GetProperty("thread_id").GetString()!;

        var listed = (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/agent-sessions")).EnumerateArray()
            .Single(c => c.GetProperty("id").GetString() == threadId);
        Assert.Equal("codex", listed.GetProperty("agent").GetString());
        Assert.Equal("Remember the word heron", listed.GetProperty("title").GetString());
        Assert.False(listed.GetProperty("inUse").GetBoolean());

        var continued = await world.Http.PostAsync($"/api/projects/{world.ProjectId}/agent-sessions/codex/{threadId}/continue", null);
        Assert.Equal(HttpStatusCode.Created, continued.StatusCode);
        var sessionId = (await continued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(sessionId, lastEventId: "0");
        Assert.Equal(2, (await events.WaitForAsync("history.imported")).Json.GetProperty("entries").GetInt32());
        Assert.Equal("Remember the word heron", events.Received.First(e => e.Event == "message.user").Str("text"));
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "I will remember heron.");

        world.Model.Enqueue(ScriptedReply.ToolUse("exec_command", new { cmd = "echo phone > phone.txt" }), ScriptedReply.Text("Wrote phone.txt."));
        await world.SendAsync(sessionId, "Write phone.txt");
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(asked.Str("approvalId")!, "allow_once")).StatusCode);
        // What the allowed command did, said if it failed (a clean-clone run once saw the file missing after this turn).
        var ran = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == asked.Str("toolCallId"));
        Assert.False(ran.Json.GetProperty("isError").GetBoolean(), $"The allowed command failed: {ran.Data}");
        var wrote = await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Wrote phone.txt.");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > wrote.Id);
        Assert.True(File.Exists(Path.Combine(world.Repository, "phone.txt")),
            "phone.txt is missing after the allowed command's turn. The session's events: " + string.Join(" | ", events.Received.Select(e => $"{e.Event} {e.Data}")));
        Assert.True(world.Model.Requests.Last(r => r.ConsumedScript).Contains("Remember the word heron"), "Codex did not resume the terminal's thread");

        var handedBack = await world.Http.PostOkAsync($"/api/sessions/{sessionId}/handoff", new { });
        Assert.Equal(["resume", threadId], [.. handedBack.GetProperty("command").EnumerateArray().Skip(1).Select(a => a.GetString()!)]);
        Assert.Equal("stopped", handedBack.GetProperty("session").GetProperty("status").GetString());

        // A codex started without an id in the project's folder may be on this thread.
        using (HoldInTerminal("codex", [], world.Repository))
        {
            await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/projects/{world.ProjectId}/agent-sessions/codex/{threadId}/continue", null),
                HttpStatusCode.Conflict, "CONVERSATION_MAYBE_IN_USE");
        }

        world.Model.Enqueue(ScriptedReply.Text("Heron, and phone.txt."));
        await world.RunInTerminalAsync("exec", "resume", threadId, "What did we do?");
        AssertInOrder(world.Model.Requests.Last(r => r.ConsumedScript).Body.GetRawText(), "Remember the word heron", "Write phone.txt", "What did we do?");
        Assert.Equal("phone\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "phone.txt")));
    }

    /// <summary>
    /// The same with the REAL OpenCode CLI: a session begun with `opencode run`, found and read back through OpenCode's own
    /// CLI (session list, export), carried on by PocketCoder's OpenCode server with the next command gated, handed back,
    /// then carried on with `opencode run --session`.
    /// </summary>
    [Fact]
    public async Task OpenCode_TerminalPhoneTerminal_OneSession()
    {
        await using var world = await AgentWorld.OpenCodeAsync();

        world.Model.Enqueue(ScriptedReply.Text("I will remember heron."));
        var begun = await world.RunInTerminalAsync("run", "--format", "json", "Remember the word heron");
        var openCodeId = System.Text.RegularExpressions.Regex.Match(begun, "\"sessionID\":\"(ses_[A-Za-z0-9]+)\"").Groups[1].Value;
        Assert.NotEmpty(openCodeId);

        var listed = (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/agent-sessions")).EnumerateArray()
            .Single(c => c.GetProperty("id").GetString() == openCodeId);
        Assert.Equal("opencode", listed.GetProperty("agent").GetString());
        Assert.False(listed.GetProperty("inUse").GetBoolean());

        var continued = await world.Http.PostAsync($"/api/projects/{world.ProjectId}/agent-sessions/opencode/{openCodeId}/continue", null);
        Assert.Equal(HttpStatusCode.Created, continued.StatusCode);
        var sessionId = (await continued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(sessionId, lastEventId: "0");
        Assert.Equal(2, (await events.WaitForAsync("history.imported")).Json.GetProperty("entries").GetInt32());
        Assert.Contains("Remember the word heron", events.Received.First(e => e.Event == "message.user").Str("text"), StringComparison.Ordinal);
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "I will remember heron.");

        world.Model.Enqueue(ScriptedReply.ToolUse("bash", new { command = "echo phone > phone.txt", description = "Write phone.txt" }),
            ScriptedReply.Text("Wrote phone.txt."));
        await world.SendAsync(sessionId, "Write phone.txt");
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(asked.Str("approvalId")!, "allow_once")).StatusCode);
        // What the allowed command did, said if it failed (a clean-clone run once saw the file missing after this turn).
        var ran = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == asked.Str("toolCallId"));
        Assert.False(ran.Json.GetProperty("isError").GetBoolean(), $"The allowed command failed: {ran.Data}");
        var wrote = await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Wrote phone.txt.");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > wrote.Id);
        Assert.True(File.Exists(Path.Combine(world.Repository, "phone.txt")),
            "phone.txt is missing after the allowed command's turn. The session's events: " + string.Join(" | ", events.Received.Select(e => $"{e.Event} {e.Data}")));
        Assert.True(world.Model.Requests.Last(r => r.ConsumedScript).Contains("Remember the word heron"), "OpenCode did not carry on the terminal's session");

        var handedBack = await world.Http.PostOkAsync($"/api/sessions/{sessionId}/handoff", new { });
        Assert.Equal(["--session", openCodeId], [.. handedBack.GetProperty("command").EnumerateArray().Skip(1).Select(a => a.GetString()!)]);
        Assert.Equal("stopped", handedBack.GetProperty("session").GetProperty("status").GetString());

        using (HoldInTerminal("opencode", [], world.Repository))
        {
            await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/projects/{world.ProjectId}/agent-sessions/opencode/{openCodeId}/continue", null),
                HttpStatusCode.Conflict, "CONVERSATION_MAYBE_IN_USE");
        }

        world.Model.Enqueue(ScriptedReply.Text("Heron, and phone.txt."));
        await world.RunInTerminalAsync("run", "--session", openCodeId, "What did we do?");
        AssertInOrder(world.Model.Requests.Last(r => r.ConsumedScript).Body.GetRawText(), "Remember the word heron", "Write phone.txt", "What did we do?");
        Assert.Equal("phone\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "phone.txt")));
    }

    private static void AssertInOrder(string text, params string[] parts)
    {
        var order = parts.Select(p => text.IndexOf(p, StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(-1, order);
        Assert.Equal(order.Order(), order);
    }

    private static async Task<(int Exit, string Output)> CliAsync(AgentWorld world, params string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await PocketCoder.Cli.CommandLine.RunAsync([.. arguments, "--url", world.Server.BaseUrl.ToString(), "--data", world.Server.DataDirectory],
            output, error);
        return (exit, output + error.ToString());
    }

    private static Task RunClaudeAsync(AgentWorld world, params string[] arguments) =>
        ClaudeCli.RunInTerminalAsync(world.Model, world.Home, world.Repository, arguments);

    /// <summary>A process named <paramref name="name"/> with these arguments, working in <paramref name="folder"/>, and not ours.</summary>
    private static Holder HoldInTerminal(string name, string[] arguments, string folder)
    {
        // Started through a shell that exits at once, so the holder is nobody's child here (as a terminal's would be);
        // `exec -a` gives it the name a real one would have.
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, WorkingDirectory = folder };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"(exec -a {name} bash -c 'sleep 120; true' {name} {string.Join(' ', arguments)}) >/dev/null 2>&1 & echo $!");
        using var launcher = Process.Start(info)!;
        var pid = int.Parse(launcher.StandardOutput.ReadLine()!, System.Globalization.CultureInfo.InvariantCulture);
        launcher.WaitForExit();
        // The background subshell takes its name only once it has run `exec -a`: on a loaded machine the server could look
        // before that, and see a bash (it failed once so). Its command line says when it has.
        var named = Stopwatch.StartNew();
        while (!CommandLineOf(pid).StartsWith(name + "\0", StringComparison.Ordinal))
        {
            Assert.True(named.Elapsed < TimeSpan.FromSeconds(30), $"the {name} holder never took its name");
            Thread.Sleep(10);
        }

        return new Holder(pid);
    }

    private static string CommandLineOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return "";
        }
    }

    private sealed class Holder(int pid) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                Process.GetProcessById(pid).Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }
    }
}
