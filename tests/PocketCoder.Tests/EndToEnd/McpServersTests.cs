using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// MCP servers managed by PocketCoder (#19), with the REAL Claude Code and Codex CLIs, the fake model and the test MCP
/// server (tests/agents/mcp-probe.mjs): one enabled from the API is used by each agent, its tool call gated and matched by
/// an <c>mcp:</c> rule, its secret reaching the server and never shown back; a server the repository declares does not
/// start before the owner approves it, nor after its definition changes; a profile chooses among the enabled servers.
/// </summary>
public sealed class McpServersTests
{
    private const string Secret = "s3cret-for-the-probe-only";

    private static string Probe => Path.Combine(ClaudeCli.RepositoryRoot(), "tests", "agents", "mcp-probe.mjs");

    /// <summary>Every process's command line, as any user of the machine can read them.</summary>
    private static string CommandLines() => string.Join("\n", Directory.EnumerateDirectories("/proc").Select(folder =>
    {
        try
        {
            return File.ReadAllText(Path.Combine(folder, "cmdline"));
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }));

    /// <summary>The probe added from the API, its log in the repository and a secret in its variables; returns the log's path.</summary>
    private static async Task<string> AddProbeAsync(AgentWorld world)
    {
        var log = Path.Combine(world.Repository, "probe.log");
        var added = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/mcp-servers", new
        {
            name = "probe", command = "node", args = new[] { Probe },
            env = new Dictionary<string, string> { ["PROBE_LOG"] = log, ["PROBE_SECRET"] = Secret },
        });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        return log;
    }

    /// <summary>
    /// A session whose model calls the probe's touch_file, as the agent names it (<paramref name="modelTool"/>): the call is put
    /// to the owner as <c>mcp__probe__touch_file</c> of kind mcp with its argument shown, nothing runs and no process's command
    /// line holds the secret while it waits; allowed once, it runs; then <paramref name="rule"/> lets the next call run
    /// unasked, and the secret has reached the server. The caller disposes the events.
    /// </summary>
    /// <param name="title">The title the agent's call is shown with, where the test pins it.</param>
    private static async Task<(SseClient Events, string SessionId, SseEvent Asked, SseEvent Ruled)> GatedThenRuledAsync(AgentWorld world, string log,
        string modelTool, string rule, string? title = null)
    {
        var made = Path.Combine(world.Repository, "made-by-mcp.txt");
        world.Model.Enqueue(ScriptedReply.ToolUse(modelTool, new { name = made }), ScriptedReply.Text("Touched."));
        var sessionId = await world.StartSessionAsync("Touch it");
        var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("mcp__probe__touch_file", asked.Str("tool"));
        Assert.Equal("mcp", asked.Str("kind"));
        if (title is not null)
        {
            Assert.Equal(title, asked.Str("title"));
        }

        Assert.Contains("made-by-mcp.txt", asked.Data, StringComparison.Ordinal);
        Assert.False(File.Exists(made));
        // claude-agent-acp puts the servers on Claude's command line: a secret may go there only as a reference.
        Assert.DoesNotContain(Secret, CommandLines(), StringComparison.Ordinal);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Touched.");
        Assert.True(File.Exists(made));
        await events.WaitForAsync("turn.completed");

        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = rule, pattern = "*", action = "allow" });
        var ruled = Path.Combine(world.Repository, "made-by-rule.txt");
        world.Model.Enqueue(ScriptedReply.ToolUse(modelTool, new { name = ruled }), ScriptedReply.Text("Ruled."));
        await world.SendAsync(sessionId, "Again");
        var done = await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Ruled.");
        Assert.True(File.Exists(ruled));
        Assert.DoesNotContain(events.Received, e => e.Event == "approval.requested" && e.Id > asked.Id);
        Assert.Contains($"secret: {Secret}", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
        return (events, sessionId, asked, done);
    }

    [Fact]
    public async Task Claude_UsesAServerEnabledFromTheApi_GatedAndMatchedByARule_SecretReachesItAndIsNeverShownBack()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var servers = $"/api/projects/{world.ProjectId}/mcp-servers";

        // What cannot be a server says why.
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(servers, new { name = "bad__name", command = "node" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(servers, new { name = "both", command = "node", url = "https://example.test/mcp" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(servers, new { name = "creds", url = "https://user:pw@example.test/mcp" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(servers, new { name = "nl", command = "node", env = new Dictionary<string, string> { ["A"] = "x\ny" } }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(servers, new { name = "expands", command = "node", args = new[] { "${ANTHROPIC_API_KEY}" } }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");

        var log = await AddProbeAsync(world);
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(servers, new { name = "probe", command = "node" }), HttpStatusCode.Conflict, "MCP_SERVER_EXISTS");
        // Unique ignoring case: a rule or grant for "probe" must not cover a "PROBE".
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync(servers, new { name = "PROBE", command = "node" }), HttpStatusCode.Conflict, "MCP_SERVER_EXISTS");

        // Listed with the names of its variables, never their values; the secret is kept 0600 in the data folder.
        var listed = (await world.Http.GetOkAsync(servers)).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "probe");
        Assert.Equal("pocketcoder", listed.GetProperty("origin").GetString());
        Assert.Equal("enabled", listed.GetProperty("state").GetString());
        Assert.Contains("claude-code", listed.GetProperty("agents").EnumerateArray().Select(a => a.GetString()));
        Assert.All(listed.GetProperty("env").EnumerateArray(), v => Assert.Equal(JsonValueKind.Null, v.GetProperty("value").ValueKind));
        Assert.DoesNotContain(Secret, await world.Http.GetStringAsync(servers), StringComparison.Ordinal);
        var secrets = Path.Combine(world.Server.DataDirectory, "mcp-secrets.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secrets));

        // The agent has the server's tools (offered in full, or by name for its tool search since Claude Code 2.1.332); calling one
        // asks the owner, naming server and tool; an mcp:SERVER/TOOL rule lets that tool run unasked.
        var (events, _, _, _) = await GatedThenRuledAsync(world, log, "mcp__probe__touch_file", "mcp:probe/touch_file");
        await using var _ = events;
        Assert.Contains("mcp__probe__touch_file", world.Model.Requests.First(r => r.ConsumedScript).OfferedToolNames);

        // The secret reached the server (its environment; checked above), and nowhere a device can see: not the ledger, not the events.
        Assert.DoesNotContain(Secret, (await world.Http.GetOkAsync("/api/ledger?limit=500")).ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(events.Received, e => e.Data.Contains(Secret, StringComparison.Ordinal));
        Assert.Contains((await world.Http.GetOkAsync("/api/ledger?limit=500")).GetProperty("entries").EnumerateArray(),
            e => e.GetProperty("action").GetString() == "mcp.added");

        // Turned off, the next session's agent does not have it; removed, it is gone with its secret.
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"{servers}/pocketcoder/probe", new { enabled = false }));
        world.Model.Enqueue(ScriptedReply.Text("No probe."));
        var second = await world.StartSessionAsync("Anything?");
        await using (var secondEvents = await world.EventsAsync(second))
        {
            await secondEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "No probe.");
        }

        Assert.DoesNotContain("mcp__probe__touch_file", world.Model.Requests.Last(r => r.ConsumedScript).OfferedToolNames);
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"{servers}/pocketcoder/probe")).StatusCode);
        Assert.DoesNotContain(Secret, await File.ReadAllTextAsync(secrets), StringComparison.Ordinal);
        await ApiAssert.ProblemAsync(await world.Http.DeleteAsync($"{servers}/pocketcoder/probe"), HttpStatusCode.NotFound, "MCP_SERVER_NOT_FOUND");
    }

    [Fact]
    public async Task Claude_ARepositoryServer_StartsOnlyOnceApproved_AndNotAfterItChanges_AProfileChoosesAmongServers()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var log = Path.Combine(world.Repository, "repo-probe.log");
        var servers = $"/api/projects/{world.ProjectId}/mcp-servers";
        void Declare(string extra) => File.WriteAllText(Path.Combine(world.Repository, ".mcp.json"), JsonSerializer.Serialize(new
        {
            mcpServers = new Dictionary<string, object>
            {
                ["repo-probe"] = new { command = "node", args = new[] { Probe, extra }, env = new Dictionary<string, string> { ["PROBE_LOG"] = log } },
                // Named like the owner's own server: its tools would be called like theirs, and match their rules.
                ["mine"] = new { command = "node", args = new[] { Probe } },
                // Claude would expand it from its own environment.
                ["leaky"] = new { command = "node", args = new[] { Probe, "${ANTHROPIC_API_KEY}" } },
            },
        }));
        await world.Http.PostOkAsync(servers, new { name = "mine", command = "node", args = new[] { Probe }, enabled = false });
        Declare("first");
        var listing = (await world.Http.GetOkAsync(servers)).EnumerateArray().ToList();
        Assert.Equal("unusable", listing.Single(s => s.GetProperty("name").GetString() == "mine" && s.GetProperty("origin").GetString() == "repository")
            .GetProperty("state").GetString());
        Assert.Equal("unusable", listing.Single(s => s.GetProperty("name").GetString() == "leaky").GetProperty("state").GetString());

        // Listed as the repository declares it (values shown: they are in the repository), waiting for the owner.
        var declared = (await world.Http.GetOkAsync(servers)).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "repo-probe");
        Assert.Equal("repository", declared.GetProperty("origin").GetString());
        Assert.Equal("needs_approval", declared.GetProperty("state").GetString());
        Assert.Equal(log, declared.GetProperty("env")[0].GetProperty("value").GetString());
        var fingerprint = declared.GetProperty("fingerprint").GetString()!;

        // Before approval a session's agent never starts it.
        world.Model.Enqueue(ScriptedReply.Text("Before."));
        var before = await world.StartSessionAsync("Hello");
        await using (var events = await world.EventsAsync(before))
        {
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Before.");
        }

        Assert.DoesNotContain(world.Model.Requests.Last(r => r.ConsumedScript).OfferedToolNames, t => t.StartsWith("mcp__repo-probe__", StringComparison.Ordinal));
        Assert.False(File.Exists(log));

        // Enabling it is approving what was shown: no fingerprint, or another one, is refused.
        await ApiAssert.ProblemAsync(await world.Http.PatchAsJsonAsync($"{servers}/repository/repo-probe", new { enabled = true }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PatchAsJsonAsync($"{servers}/repository/repo-probe", new { enabled = true, fingerprint = new string('0', 64) }),
            HttpStatusCode.Conflict, "MCP_SERVER_CHANGED");
        await ApiAssert.ProblemAsync(await world.Http.DeleteAsync($"{servers}/repository/repo-probe"), HttpStatusCode.Conflict, "MCP_SERVER_DECLARED");
        var approved = await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"{servers}/repository/repo-probe", new { enabled = true, fingerprint }));
        Assert.Equal("enabled", approved.GetProperty("state").GetString());

        // A profile that chooses no server gets none of them (and one naming what cannot be a server is refused).
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/profiles",
            new { name = "Bad", agent = "claude-code", mcpServers = new[] { "probe_" } }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        var profile = (await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/profiles",
            new { name = "No tools", agent = "claude-code", mcpServers = Array.Empty<string>() })).GetProperty("id").GetString();
        world.Model.Enqueue(ScriptedReply.Text("Profiled."));
        var profiled = (await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { profile, prompt = "Hi" })).GetProperty("id").GetString()!;
        await using (var events = await world.EventsAsync(profiled))
        {
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Profiled.");
        }

        Assert.DoesNotContain(world.Model.Requests.Last(r => r.ConsumedScript).OfferedToolNames, t => t.StartsWith("mcp__repo-probe__", StringComparison.Ordinal));
        Assert.False(File.Exists(log));

        // Approved, the next session's agent starts it and has its tools.
        world.Model.Enqueue(ScriptedReply.Text("After."));
        var after = await world.StartSessionAsync("Hello again");
        await using (var events = await world.EventsAsync(after))
        {
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "After.");
        }

        Assert.Contains("mcp__repo-probe__touch_file", world.Model.Requests.Last(r => r.ConsumedScript).OfferedToolNames);
        Assert.True(File.Exists(log));

        // The repository changes it: it is no longer what the owner approved, and no agent gets it until they look again.
        Declare("second");
        var changed = (await world.Http.GetOkAsync(servers)).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "repo-probe");
        Assert.Equal("changed", changed.GetProperty("state").GetString());
        Assert.NotEqual(fingerprint, changed.GetProperty("fingerprint").GetString());
        File.Delete(log);
        world.Model.Enqueue(ScriptedReply.Text("Changed."));
        var later = await world.StartSessionAsync("And now?");
        await using (var events = await world.EventsAsync(later))
        {
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Changed.");
        }

        Assert.DoesNotContain(world.Model.Requests.Last(r => r.ConsumedScript).OfferedToolNames, t => t.StartsWith("mcp__repo-probe__", StringComparison.Ordinal));
        Assert.False(File.Exists(log));
    }

    [Fact]
    public async Task Codex_UsesAServerEnabledFromTheApi_GatedAndMatchedByARule_ItsOwnServerTurnedOffDoesNotStart()
    {
        var ownLog = "";
        await using var world = await AgentWorld.StartAsync("codex", (model, home) =>
        {
            var agents = AgentClis.Codex(model, home);
            // A server of Codex's own config.toml, as an owner would have one: PocketCoder lists it and can turn it off.
            var probe = Path.Combine(AgentClis.CodexHome(home), "own-probe.mjs");
            File.Copy(Probe, probe, overwrite: true);
            ownLog = Path.Combine(AgentClis.CodexHome(home), "own-probe.log");
            File.AppendAllText(Path.Combine(AgentClis.CodexHome(home), "config.toml"), $$"""

                [mcp_servers.own-probe]
                command = "node"
                args = ["{{probe}}"]
                env = { PROBE_LOG = "{{ownLog}}" }
                """);
            return agents;
        });
        var servers = $"/api/projects/{world.ProjectId}/mcp-servers";
        var own = (await world.Http.GetOkAsync(servers)).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "own-probe");
        Assert.Equal("codex", own.GetProperty("origin").GetString());
        Assert.Equal("enabled", own.GetProperty("state").GetString());
        Assert.Equal(["codex"], own.GetProperty("agents").EnumerateArray().Select(a => a.GetString()));
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"{servers}/codex/own-probe", new { enabled = false }));

        var log = await AddProbeAsync(world);
        var (events, _, _, _) = await GatedThenRuledAsync(world, log, "mcp__probe__touch_file", "mcp:probe/*", title: "probe/touch_file");
        await using var _ = events;
        Assert.False(File.Exists(ownLog), "Codex started a server of its own config that the owner turned off.");
    }

    [Fact]
    public async Task ClaudeOverAcp_UsesAServerEnabledFromTheApi_AsAnMcpCallARuleMatches()
    {
        await using var world = await AgentWorld.ClaudeAcpAsync();
        var log = await AddProbeAsync(world);
        var (events, _, _, _) = await GatedThenRuledAsync(world, log, "mcp__probe__touch_file", "mcp:probe/touch_file");
        await using var _ = events;
    }

    [Fact]
    public async Task OpenCode_UsesAServerEnabledFromTheApi_ItsCallShowsItsArguments_AndAnMcpRuleMatchesIt()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        var log = await AddProbeAsync(world);
        // OpenCode names an MCP server's tool SERVER_TOOL; the owner sees it as every other agent's, with its arguments.
        var (events, sessionId, _, ruledDone) = await GatedThenRuledAsync(world, log, "probe_touch_file", "mcp:probe/touch_file", title: "probe/touch_file");
        await using var _ = events;
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > ruledDone.Id);

        // A command dressed as the server's resource (OpenCode asks "read"-like patterns of a command's text) is a command:
        // an allow-everything rule for the server does not let it run unasked (an attacker review's find).
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "mcp:probe/*", pattern = "*", action = "allow" });
        world.Model.Enqueue(ScriptedReply.ToolUse("bash", new { command = "mcp:probe:x; touch pwned.txt", description = "Looks like a resource" }),
            ScriptedReply.Text("Refused."));
        await world.SendAsync(sessionId, "Dressed up");
        var command = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Id > ruledDone.Id);
        Assert.Equal("execute", command.Str("kind"));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(command.Str("approvalId")!, "deny"));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Refused.");
        Assert.False(File.Exists(Path.Combine(world.Repository, "pwned.txt")));
    }

    [Fact]
    public async Task OpenCode_AServerNamedLikeOneOfItsOwnConfig_RefusedSayingWhy_NeverMerged()
    {
        // OpenCode merges config by name: given a server named like the owner's own, it would send the owner's headers (a
        // token) to the given server's URL. The session does not start, and says why.
        await using var world = await AgentWorld.StartAsync("opencode", (model, home) =>
        {
            var agents = AgentClis.OpenCode(model, home);
            var config = Path.Combine(home, "opencode-test.json");
            var text = File.ReadAllText(config).TrimEnd().TrimEnd('}');
            File.WriteAllText(config, text + """, "mcp": { "github": { "type": "remote", "url": "https://owner.example/mcp", "enabled": false } } }""");
            return agents;
        });
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/mcp-servers", new { name = "github", url = "https://elsewhere.example/mcp" });
        var refused = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "opencode", prompt = "Hi" });
        var problem = await ApiAssert.StartFailsAsync(world.Http, refused, "AGENT_UNAVAILABLE");
        Assert.Contains("github", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
