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
        var server = world.Server.ProcessId;
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
        Assert.Equal("unavailable", health.GetProperty("network").GetString());
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

    /// <summary>
    /// An allowed command builds a git folder of its own with programs in its config (core.fsmonitor, core.sshCommand and an
    /// ssh remote) and tries every file that would make git take its config, objects or attributes from elsewhere. None
    /// lands: the app's status, diff and Push, and the owner's own plain git afterwards, run none of it.
    /// </summary>
    /// <summary>
    /// Fail closed: where a sandbox cannot have a network of its own (a container that refuses network namespaces), or its way
    /// out cannot be set up (the helper's door refused), a sandboxed project starts no session (never one with an open network),
    /// and the project and health say why; the model is never reached.
    /// </summary>
    [Theory]
    [InlineData("--unshare-net", "network of its own")]
    [InlineData("/run/pocketcoder/egress.sock", "its own network cannot be made")]
    public async Task NoWayToHoldTheNetwork_ASandboxedProjectStartsNothing_AndSaysWhy(string refusedArgument, string said)
    {
        // bubblewrap as it is, but refusing one argument as a kernel or container would.
        var bwrap = Path.Combine(TempPaths.NewDirectory("pc-bwrap"), "bwrap");
        File.WriteAllText(bwrap, $$"""
            #!/bin/sh
            for a in "$@"; do [ "$a" = '{{refusedArgument}}' ] && { echo 'bwrap: Creating new namespace failed: Operation not permitted' >&2; exit 1; }; done
            exec {{AgentSandbox.FindBwrap()}} "$@"
            """);
        File.SetUnixFileMode(bwrap, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var world = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, bubblewrap: bwrap);

        var project = await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}");
        Assert.Contains(said, project.GetProperty("sandboxProblem").GetString(), StringComparison.Ordinal);
        var health = await world.Http.GetOkAsync("/api/health");
        Assert.Equal("unavailable", health.GetProperty("sandbox").GetString());
        Assert.Equal("unavailable", health.GetProperty("network").GetString());
        var refused = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "claude-code", prompt = "hello" });
        await ApiAssert.ProblemAsync(refused, System.Net.HttpStatusCode.ServiceUnavailable, "SANDBOX_UNAVAILABLE");
        Assert.Empty(world.Model.Requests);
    }

    [Fact]
    public async Task AllowedCommands_CannotRedirectGitMetadata_NeitherTheAppsGitNorTheOwnersRunsThePlantedPrograms()
    {
        await using var world = await StartAsync("claude-code");
        var markers = TempPaths.NewDirectory("pc-markers");
        var remote = TempPaths.NewDirectory("pc-remote");
        try
        {
            TempPaths.Git(remote, "init", "-q", "--bare", "-b", "main");
            TempPaths.Git(world.Repository, "remote", "add", "origin", remote);
            TempPaths.Git(world.Repository, "push", "-q", "-u", "origin", "main");
            var exclude = await File.ReadAllTextAsync(Path.Combine(world.Repository, ".git", "info", "exclude"));

            await RunAsync(world, "claude-code",
                PlantGitFolder("evil.git", markers),
                "echo \"$PWD/evil.git\" > .git/commondir; true",
                "mkdir -p .git/objects/info; echo \"$PWD/evil.git/objects\" > .git/objects/info/alternates; true",
                "echo 'seen/' >> .git/info/exclude; echo '* filter=evil' >> .git/info/attributes; true",
                $"git config -f .git/config.worktree core.fsmonitor 'touch {markers}/ran-worktree-config; false'; true",
                "mkdir -p .git/modules/sub && cp evil.git/config .git/modules/sub/config; true");

            var git = Path.Combine(world.Repository, ".git");
            foreach (var planted in new[] { "commondir", "config.worktree", "objects/info/alternates", "info/attributes", "modules" })
            {
                Assert.False(File.Exists(Path.Combine(git, planted)) || Directory.Exists(Path.Combine(git, planted)), $"a command planted .git/{planted}");
            }

            Assert.Equal(exclude, await File.ReadAllTextAsync(Path.Combine(git, "info", "exclude")));
            var api = $"/api/projects/{world.ProjectId}/git";
            Assert.Equal("main", (await world.Http.GetOkAsync($"{api}/status")).GetProperty("branch").GetString());
            await world.Http.GetOkAsync($"{api}/diff");
            Assert.Equal("origin/main", (await world.Http.PostOkAsync($"{api}/push", new { })).GetProperty("upstream").GetString());
            // The owner, at the machine, afterwards: plain git as anyone types it.
            TempPaths.Git(world.Repository, "status");
            TempPaths.Git(world.Repository, "diff");
            Assert.Empty(Directory.GetFiles(markers));
        }
        finally
        {
            TempPaths.Delete(markers);
            TempPaths.Delete(remote);
        }
    }

    /// <summary>
    /// A session on a branch of its own commits there, and nothing else of the repository moves: no branch, tag or base
    /// changed by its commands, no redirect planted in the shared git folder or its own. The app's git in its worktree
    /// goes by where the worktree was made, not by the worktree's own <c>.git</c> file, and Merge commits only to its branch.
    /// </summary>
    [Fact]
    public async Task WorktreeSession_CommitsOnItsOwnBranch_ButCannotTouchTheRestOfTheRepository()
    {
        await using var world = await StartAsync("claude-code");
        var markers = TempPaths.NewDirectory("pc-markers");
        try
        {
            var main = TempPaths.Git(world.Repository, "rev-parse", "main");
            var session = await RunAsync(world, "claude-code", worktree: true, commands:
            [
                "echo mine > mine.txt && git add mine.txt && git -c user.name=Agent -c user.email=agent@example.invalid commit -q -m mine",
                "git branch planted; git tag planted-tag; git update-ref refs/heads/main HEAD; git push -q . HEAD:refs/heads/pushed; true",
                PlantGitFolder("evil.git", markers),
                "c=$(git rev-parse --path-format=absolute --git-common-dir); d=$(git rev-parse --absolute-git-dir); " +
                "echo \"$PWD/evil.git\" > \"$c/commondir\"; echo \"$PWD/evil.git\" > \"$d/commondir\"; printf 'gitdir: %s\\n' \"$PWD/evil.git\" > .git; true",
            ]);
            var worktree = await world.Http.GetOkAsync($"/api/sessions/{session}/worktree");
            var branch = worktree.GetProperty("branch").GetString()!;
            var path = worktree.GetProperty("path").GetString()!;

            Assert.Equal("mine", TempPaths.Git(world.Repository, "log", "-1", "--format=%s", branch));
            Assert.Equal("", TempPaths.Git(world.Repository, "branch", "--list", "planted", "pushed"));
            Assert.Equal("", TempPaths.Git(world.Repository, "tag", "--list"));
            Assert.Equal(main, TempPaths.Git(world.Repository, "rev-parse", "main"));
            Assert.False(File.Exists(Path.Combine(world.Repository, ".git", "commondir")), "a command planted the repository's commondir");
            Assert.Equal("../..", File.ReadAllText(Path.Combine(world.Repository, ".git", "worktrees", session, "commondir")).Trim());
            Assert.Equal($"gitdir: {Path.Combine(world.Repository, ".git", "worktrees", session)}", File.ReadAllText(Path.Combine(path, ".git")).Trim());

            // Had anything rewritten the worktree's .git file (here the test, as an unsandboxed agent could), the app's git would
            // still work in the git folder it made for the session: its branch, not the planted folder's, and no upstream to push to.
            File.WriteAllText(Path.Combine(path, ".git"), $"gitdir: {Path.Combine(path, "evil.git")}\n");
            var api = $"/api/projects/{world.ProjectId}/git";
            Assert.Equal(branch, (await world.Http.GetOkAsync($"{api}/status?session={session}")).GetProperty("branch").GetString());
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{api}/push?session={session}", new { }), System.Net.HttpStatusCode.Conflict, "NO_UPSTREAM");
            TempPaths.Git(world.Repository, "status");
            Assert.Empty(Directory.GetFiles(markers));

            // Its agent's git can point the worktree's HEAD at another branch (its own folder in .git/worktrees stays writable): Merge
            // then commits nothing it left uncommitted there, and the base stays as it was.
            File.WriteAllText(Path.Combine(world.Repository, ".git", "worktrees", session, "HEAD"), "ref: refs/heads/main\n");
            File.WriteAllText(Path.Combine(path, "left.txt"), "left\n");
            await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/git/identity", new { name = "Owner", email = "owner@example.invalid" }));
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{session}/worktree/merge", new { }),
                System.Net.HttpStatusCode.Conflict, "WORKTREE_UNAVAILABLE");
            Assert.Equal(main, TempPaths.Git(world.Repository, "rev-parse", "main"));
        }
        finally
        {
            TempPaths.Delete(markers);
        }
    }

    /// <summary>
    /// The owner's own <c>git status</c> enters every submodule the index names, with that submodule's own config. Allowed
    /// commands try to put a repository with <c>core.fsmonitor</c> at a populated submodule's path (its <c>.git</c> rewritten, the
    /// folder or the one above it moved away and made again) and at an uninitialised one's (made in place, or the folder moved
    /// away first), and add a submodule to <c>.gitmodules</c>, which git does not take for one. None of it lands where git
    /// looks, the submodule's files stay the agent's to edit, and the owner's plain <c>git status</c> and <c>git diff</c> afterwards
    /// run nothing planted: in the project, and for a session on a branch of its own in its worktree (its terminal) too.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AllowedCommands_CannotPlantARepositoryAtASubmodulesPath_TheOwnersGitRunsNothing(bool worktree)
    {
        await using var world = await StartAsync("claude-code");
        var markers = TempPaths.NewDirectory("pc-markers");
        var library = TempPaths.NewGitRepository();
        try
        {
            string[] owner = ["-c", "user.email=owner@example.invalid", "-c", "user.name=Owner", "-c", "protocol.file.allow=always"];
            TempPaths.Git(world.Repository, [.. owner, "submodule", "add", "-q", library, "libs/lib"]);
            TempPaths.Git(world.Repository, [.. owner, "submodule", "add", "-q", library, "empty"]);
            TempPaths.Git(world.Repository, [.. owner, "commit", "-q", "-m", "two submodules"]);
            // Not initialised: an empty folder, as a clone without --recurse-submodules leaves it.
            TempPaths.Git(world.Repository, "submodule", "deinit", "-q", "-f", "empty");

            string Plant(string folder, string name) => $"git init -q {folder} && git -C {folder} config core.fsmonitor 'touch {markers}/ran-{name}; false'";
            var session = await RunAsync(world, "claude-code", worktree, commands:
            [
                $"{Plant("planted", "redirected")} && printf 'gitdir: %s\\n' \"$PWD/planted/.git\" > libs/lib/.git; true",
                $"mv libs/lib libs/lib.moved && mkdir libs/lib && {Plant("libs/lib", "moved-lib")}; true",
                $"mv libs libs.moved && mkdir -p libs/lib && {Plant("libs/lib", "moved-libs")}; true",
                $"{Plant("empty", "empty")}; true",
                $"mv empty empty.moved && mkdir empty && {Plant("empty", "moved-empty")}; true",
                $"printf '[submodule \"other\"]\\n\\tpath = other\\n\\turl = ./other\\n' >> .gitmodules && {Plant("other", "gitmodules")}; true",
                "echo edited >> libs/lib/README.md",
            ]);

            var folder = worktree ? (await world.Http.GetOkAsync($"/api/sessions/{session}/worktree")).GetProperty("path").GetString()! : world.Repository;
            // The owner, at the machine afterwards: plain git as anyone types it, in the project and in the session's worktree.
            foreach (var place in new[] { world.Repository, folder }.Distinct())
            {
                TempPaths.Git(place, "status");
                TempPaths.Git(place, "diff");
            }

            Assert.Empty(Directory.GetFiles(markers).Select(Path.GetFileName));
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(folder, "empty")));
            Assert.Contains("edited", await File.ReadAllTextAsync(Path.Combine(folder, "libs", "lib", "README.md")), StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(markers);
            TempPaths.Delete(library);
        }
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

    /// <summary>
    /// The command that makes <paramref name="folder"/> a git folder copied from the repository, with an ssh remote for main and
    /// programs that touch a marker in <paramref name="markers"/> (out of the sandbox's reach: only named) when git runs them.
    /// </summary>
    private static string PlantGitFolder(string folder, string markers)
    {
        string Set(string key, string value) => $"git config -f {folder}/config {key} '{value}'";
        return string.Join(" && ",
            $"git clone -q --bare \"$(git rev-parse --path-format=absolute --git-common-dir)\" {folder}",
            Set("core.bare", "false"),
            Set("core.fsmonitor", $"touch {markers}/ran-fsmonitor; false"),
            Set("core.sshCommand", $"touch {markers}/ran-ssh; false"),
            Set("remote.origin.url", "ssh://pocketcoder.invalid/repo"),
            Set("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"),
            Set("branch.main.remote", "origin"),
            Set("branch.main.merge", "refs/heads/main"),
            $"git --git-dir={folder} update-ref refs/remotes/origin/main main") + "; true";
    }

    /// <summary>One turn in which the agent runs each command, every one allowed; the session's id.</summary>
    private static Task<string> RunAsync(AgentWorld world, string agent, params string[] commands) => RunAsync(world, agent, false, commands);

    private static async Task<string> RunAsync(AgentWorld world, string agent, bool worktree, string[] commands)
    {
        world.Model.Enqueue([.. commands.Select(command => agent switch
        {
            "claude-code" => ScriptedReply.ToolUse("Bash", new { command, description = "run it" }),
            "codex" => ScriptedReply.ToolUse("exec_command", new { cmd = command }),
            "opencode" => ScriptedReply.ToolUse("bash", new { command, description = "run it" }),
            _ => ScriptedReply.ToolUse("run_shell_command", new { command, description = "run it" }),
        }), ScriptedReply.Text("All run.")]);
        var sessionId = (await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions",
            new { agent = world.Agent, prompt = "Run the commands", mode = "trusted", worktree })).GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(sessionId);
        // What trusted mode still asks about (a change to git's hooks or config) the owner allows too.
        long seen = 0;
        while (await events.WaitForAsync(e => e.Id > seen && e.Event is "approval.requested" or "turn.completed") is { Event: "approval.requested" } asked)
        {
            seen = asked.Id;
            await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        }

        Assert.Equal(commands.Length, events.Received.Count(e => e.Event == "tool.result"));
        return sessionId;
    }
}
