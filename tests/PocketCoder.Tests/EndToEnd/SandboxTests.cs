using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// The sandbox with each REAL agent: commands the owner allowed (a trusted session, each question answered "allow") cannot read a key in
/// ~/.ssh, write outside the project or open PocketCoder's database, while building inside the project works. The
/// same read succeeds with the sandbox off, so it is the sandbox that stops it.
/// </summary>
public sealed class SandboxTests
{
    private const string FakeKey = "FAKE-PRIVATE-KEY-0f6c";

    public static TheoryData<string> Agents => ["claude-code", "codex", "opencode", "gemini"];

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task AllowedCommands_CannotReachSecretsOrOutside_ButBuildInTheProject(string agent)
    {
        await using var world = await StartAsync(agent);
        var key = WriteFakeKey(world);
        var outside = Path.Combine("/var/tmp", $"pc-escape-{Guid.NewGuid():N}.txt");
        var database = Path.Combine(world.Server.DataDirectory, "pocketcoder.db");
        Assert.Equal("sandboxed", (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}")).GetProperty("sandbox").GetString());

        // What each command saw goes into the project (every agent reports tool output its own way).
        await RunAsync(world, agent,
            $"mkdir -p seen; cat {key} > seen/key.txt 2>&1",
            $"echo escaped > {outside}; echo escaped > {world.Home}/escaped.txt",
            $"head -c 16 {database} > seen/db.txt 2>&1",
            "echo 'touch hooked' > .git/hooks/post-checkout; git config core.hooksPath /tmp/hooks; mv .git gone.git; true",
            $"echo widened > {Settings(agent, world.Home)}; true",
            "echo \"sock=$SSH_AUTH_SOCK; bus=$DBUS_SESSION_BUS_ADDRESS\" > seen/session.txt; ls -A /run/user >> seen/session.txt",
            "mkdir -p build && echo built > build/out.txt && git status --short > seen/status.txt");

        Assert.DoesNotContain(FakeKey, await SeenAsync(world, "key.txt"), StringComparison.Ordinal);
        Assert.False(File.Exists(outside), "a command wrote outside the project");
        Assert.False(File.Exists(Path.Combine(world.Home, "escaped.txt")), "a command wrote into the home folder");
        Assert.DoesNotContain("SQLite format", await SeenAsync(world, "db.txt"), StringComparison.Ordinal);
        // Nothing the owner's own git would run later, outside the sandbox.
        Assert.False(File.Exists(Path.Combine(world.Repository, ".git", "hooks", "post-checkout")), "a command planted a git hook");
        Assert.DoesNotContain("hooksPath", await File.ReadAllTextAsync(Path.Combine(world.Repository, ".git", "config")), StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(world.Repository, ".git")) && !Directory.Exists(Path.Combine(world.Repository, "gone.git")),
            "a command moved the git folder away");
        // The agent's own settings (what it may run without asking) are not the session's to widen.
        Assert.False(File.Exists(Settings(agent, world.Home)) && (await File.ReadAllTextAsync(Settings(agent, world.Home))).Contains("widened", StringComparison.Ordinal),
            "a command rewrote the agent's own settings");
        // None of the owner's session sockets, nor the variables that name them.
        Assert.Equal("sock=; bus=\n", await SeenAsync(world, "session.txt"));
        Assert.Equal("built\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "build", "out.txt")));
        Assert.Contains("build/", await SeenAsync(world, "status.txt"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Configuration an allowed command plants where the agent keeps its state: an MCP server in <c>~/.claude.json</c> (which the
    /// owner's own claude would start), settings, hooks, plugins, extensions, subagents, command rules, and a package in a
    /// build cache. None of it reaches the owner's home (the agent's state is its home of PocketCoder's own), what decides what
    /// the agent may do stays as it was for the next session, and the owner's own terminal agent runs nothing of it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Agents))]
    public async Task AllowedCommands_PlantAgentConfig_NothingReachesTheOwnersAgentOrTheNextSession(string agent)
    {
        await using var world = await StartAsync(agent);
        var marker = Path.Combine("/var/tmp", $"pc-planted-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(world.Home, ".npm"));
        var planted = $$$$"""{"mcpServers":{"planted":{"command":"sh","args":["-c","touch {{{{marker}}}}"]}}}""";
        var codexHome = agent == "codex" ? AgentClis.CodexHome(world.Home) : "";
        // Each command, and the path (in the owner's home) it aims at.
        (string Command, string Target)[] plants = agent switch
        {
            "claude-code" =>
            [
                ($"printf '%s' '{planted}' > ~/.claude.json", ".claude.json"),
                ("mkdir -p ~/.claude/agents && echo planted > ~/.claude/agents/planted.md", ".claude/agents/planted.md"),
                ("mkdir -p ~/.claude/plugins/planted && echo planted > ~/.claude/plugins/planted/plugin.json", ".claude/plugins/planted"),
                ("echo '{\"planted\":{}}' > ~/.claude/settings.json", ".claude/settings.json"),
            ],
            "codex" =>
            [
                ("echo 'prefix_rule(pattern=[\"planted\"], decision=\"allow\")' > $CODEX_HOME/rules/planted.rules", Path.Combine(codexHome, "rules/planted.rules")),
                ("echo '{\"planted\":1}' > $CODEX_HOME/hooks.json", Path.Combine(codexHome, "hooks.json")),
                ("mkdir -p $CODEX_HOME/hooks && echo planted > $CODEX_HOME/hooks/planted.sh", Path.Combine(codexHome, "hooks/planted.sh")),
            ],
            "opencode" =>
            [
                ("mkdir -p ~/.config/opencode/plugin && echo planted > ~/.config/opencode/plugin/planted.js", ".config/opencode/plugin/planted.js"),
                ("mkdir -p ~/.config/opencode/agent && echo planted > ~/.config/opencode/agent/planted.md", ".config/opencode/agent/planted.md"),
                ("mkdir -p ~/.config/opencode/command && echo planted > ~/.config/opencode/command/planted.md", ".config/opencode/command/planted.md"),
            ],
            _ =>
            [
                ("mkdir -p ~/.gemini/extensions/planted && echo planted > ~/.gemini/extensions/planted/gemini-extension.json", ".gemini/extensions/planted"),
                ("mkdir -p ~/.gemini/policies && echo planted > ~/.gemini/policies/planted.toml", ".gemini/policies/planted.toml"),
                ("echo '{\"planted\":1}' > ~/.gemini/trustedFolders.json", ".gemini/trustedFolders.json"),
            ],
        };
        await RunAsync(world, agent, [.. plants.Select(p => p.Command + "; true"), "echo planted > ~/.npm/planted.txt; true"]);

        // Nothing of it in the owner's home, nor (what decides what the agent may do) in the agent's own: the next session finds
        // it as it was.
        var home = new AgentHome(world.AgentHomePath(), world.Home);
        foreach (var target in plants.Select(p => Path.Combine(world.Home, p.Target)))
        {
            Assert.False(Planted(target), $"{target} was planted in the owner's home");
            if (!target.EndsWith(".claude.json", StringComparison.Ordinal))
            {
                Assert.False(Planted(home.Map(target)), $"{home.Map(target)} was planted in the agent's home");
            }
        }

        // The build cache the command wrote to is the agent's own.
        Assert.False(File.Exists(Path.Combine(world.Home, ".npm", "planted.txt")), "a command wrote into the owner's build cache");
        Assert.True(File.Exists(world.AgentHomePath(".npm", "planted.txt")), "the cache write went nowhere");

        // The owner's own claude in a terminal starts no planted MCP server.
        if (agent == "claude-code")
        {
            world.Model.Enqueue(ScriptedReply.Text("Hello from the terminal."));
            await world.RunInTerminalAsync("-p", "hello");
            Assert.False(File.Exists(marker), "the owner's own claude ran a server an allowed command planted");
        }
    }

    /// <summary>
    /// Root is no way out (the tests run as root, as PocketCoder often does in containers and on a VPS): an allowed command has no
    /// capability, and sees no process but the sandbox's own, so the server's <c>/proc/PID/root</c> (its data folder, the owner's
    /// keys) is out of reach.
    /// </summary>
    [Fact]
    public async Task AllowedCommands_HaveNoCapabilities_AndSeeNoProcessOutsideTheSandbox()
    {
        await using var world = await StartAsync("claude-code");
        var database = Path.Combine(world.Server.DataDirectory, "pocketcoder.db");
        var server = Environment.ProcessId;
        await RunAsync(world, "claude-code",
            "mkdir -p seen; grep CapEff /proc/self/status > seen/caps.txt",
            $"ls /proc > seen/proc.txt; head -c 16 /proc/{server}/root{database} > seen/via-proc.txt 2>&1; true");

        Assert.Equal("CapEff:\t0000000000000000\n", await SeenAsync(world, "caps.txt"));
        var processes = (await SeenAsync(world, "proc.txt")).Split('\n').Where(name => name.All(char.IsAsciiDigit) && name.Length > 0).ToList();
        Assert.DoesNotContain(server.ToString(System.Globalization.CultureInfo.InvariantCulture), processes);
        Assert.True(processes.Count < 20, $"the sandbox sees {processes.Count} processes: the machine's, not its own");
        Assert.DoesNotContain("SQLite format", await SeenAsync(world, "via-proc.txt"), StringComparison.Ordinal);
        // And the session says how its agent runs.
        Assert.All((await world.Http.GetOkAsync("/api/sessions")).EnumerateArray(), s => Assert.Equal("sandboxed", s.GetProperty("sandbox").GetString()));
    }

    /// <summary>
    /// The sandbox never silently disappears: without a working bubblewrap a project (sandboxed by default) starts no session, and
    /// the project and health say why and what to do; the owner's choice of none for it runs its agents, and each session says how
    /// its agent runs.
    /// </summary>
    [Fact]
    public async Task NoWorkingBubblewrap_ASandboxedProjectStartsNothingAndSaysWhy_UntilTheOwnerChoosesNone()
    {
        await using var world = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, bubblewrap: "/nonexistent/bwrap");
        var project = await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}");
        Assert.Equal("sandboxed", project.GetProperty("sandbox").GetString());
        Assert.Contains("apt-get install bubblewrap", project.GetProperty("sandboxProblem").GetString(), StringComparison.Ordinal);
        var health = await world.Http.GetOkAsync("/api/health");
        Assert.Equal("unavailable", health.GetProperty("sandbox").GetString());
        Assert.Contains(health.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("bubblewrap", StringComparison.Ordinal));

        var refused = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "claude-code", prompt = "hello" });
        await ApiAssert.ProblemAsync(refused, System.Net.HttpStatusCode.ServiceUnavailable, "SANDBOX_UNAVAILABLE");
        Assert.Empty(world.Model.Requests);

        project = await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { sandbox = "none" }));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, project.GetProperty("sandboxProblem").ValueKind);
        world.Model.Enqueue(ScriptedReply.Text("Hello, unsandboxed."));
        var sessionId = await world.StartSessionAsync("hello");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        Assert.Equal("none", (await world.SessionAsync(sessionId)).GetProperty("sandbox").GetString());
    }

    [Fact]
    public async Task SandboxOff_TheSameReadSucceeds()
    {
        await using var world = await StartAsync("claude-code");
        var key = WriteFakeKey(world);
        var project = await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { sandbox = "none" }));
        Assert.Equal("none", project.GetProperty("sandbox").GetString());

        await RunAsync(world, "claude-code", $"mkdir -p seen; cat {key} > seen/key.txt 2>&1");
        Assert.Contains(FakeKey, await SeenAsync(world, "key.txt"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SandboxSetting_OnlyTheTwoModes()
    {
        await using var world = await StartAsync("claude-code");
        await ApiAssert.ProblemAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { sandbox = "maybe" }),
            System.Net.HttpStatusCode.BadRequest, "VALIDATION_FAILED");
    }

    private static Task<AgentWorld> StartAsync(string agent) => agent switch
    {
        "claude-code" => AgentWorld.ClaudeAsync(),
        "codex" => AgentWorld.CodexAsync(),
        "opencode" => AgentWorld.OpenCodeAsync(),
        _ => AgentWorld.GeminiAsync(),
    };

    /// <summary>Something with "planted" in it at the path (a file, or anything in a folder).</summary>
    private static bool Planted(string path) =>
        File.Exists(path) ? File.ReadAllText(path).Contains("planted", StringComparison.Ordinal)
        : Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories).Any();

    private static string WriteFakeKey(AgentWorld world)
    {
        var ssh = Directory.CreateDirectory(Path.Combine(world.Home, ".ssh")).FullName;
        var key = Path.Combine(ssh, "id_ed25519");
        File.WriteAllText(key, FakeKey + "\n");
        return key;
    }

    /// <summary>The agent's own settings file: what it may run or skip asking about.</summary>
    private static string Settings(string agent, string home) => agent switch
    {
        "claude-code" => Path.Combine(home, ".claude", "settings.json"),
        "codex" => Path.Combine(home, ".codex", "config.toml"),
        "opencode" => Path.Combine(home, ".config", "opencode", "opencode.json"),
        _ => Path.Combine(home, ".gemini", "settings.json"),
    };

    private static Task<string> SeenAsync(AgentWorld world, string name) => File.ReadAllTextAsync(Path.Combine(world.Repository, "seen", name));

    /// <summary>One turn in which the agent runs each command, every one allowed.</summary>
    private static async Task RunAsync(AgentWorld world, string agent, params string[] commands)
    {
        world.Model.Enqueue([.. commands.Select(command => agent switch
        {
            "claude-code" => ScriptedReply.ToolUse("Bash", new { command, description = "run it" }),
            "codex" => ScriptedReply.ToolUse("exec_command", new { cmd = command }),
            "opencode" => ScriptedReply.ToolUse("bash", new { command, description = "run it" }),
            _ => ScriptedReply.ToolUse("run_shell_command", new { command, description = "run it" }),
        }), ScriptedReply.Text("All run.")]);
        var sessionId = await world.StartSessionAsync("Run the commands", mode: "trusted");
        await using var events = await world.EventsAsync(sessionId);
        // What trusted mode still asks about (a change to git's hooks or config) the owner allows too.
        long seen = 0;
        while (await events.WaitForAsync(e => e.Id > seen && e.Event is "approval.requested" or "turn.completed") is { Event: "approval.requested" } asked)
        {
            seen = asked.Id;
            await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        }

        Assert.Equal(commands.Length, events.Received.Count(e => e.Event == "tool.result"));
    }
}
