using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Processes;

/// <summary>
/// A bubblewrap sandbox around an agent and everything it starts, so that even a command the owner allowed in a hurry
/// cannot reach what it should not. Inside: the whole file system read-only; the project (or session worktree) and
/// the agent's own state folders writable; a private <c>/tmp</c>; the owner's secrets (<c>~/.ssh</c>, cloud and
/// package-registry credentials), PocketCoder's data folder (database, ledger, tokens) and the other projects absent.
/// Its own process, user, IPC and network namespaces, no capabilities, and it dies with the server (<see cref="Isolation"/>):
/// the network it has is its own loopback, and the one way out is PocketCoder's proxy (<see cref="Egress"/>), which passes the
/// agent's model and asks the owner about anything else (docs/security.md, "The network").
/// </summary>
/// <param name="Bwrap">The bubblewrap executable.</param>
/// <param name="Writable">The folders the agent works in (the project, or the session's worktree and what its branch needs of the repository's git folder).</param>
/// <param name="Hidden">Folders that must not be seen at all (PocketCoder's data folder, the other projects).</param>
/// <param name="Protected">Paths inside the writable folders that stay read-only (a repository's git folder, or the pointers git follows).</param>
/// <param name="Home">The agent's home of PocketCoder's own (<see cref="AgentHome.Root"/>), whose copies stand in for its state folders.</param>
public sealed record AgentSandbox(string Bwrap, IReadOnlyList<string> Writable, IReadOnlyList<string> Hidden, IReadOnlyList<string> Protected,
    string Home)
{
    /// <summary>The way out of the sandbox (the server's proxy); null: none at all, not even to the agent's model.</summary>
    public IEgress? Egress { get; init; }

    // Credentials that live in a home folder: what a prompt-injected command would go for first.
    private static readonly string[] SecretFolders =
        [".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".config/gcloud", ".config/gh", ".password-store", ".local/share/keyrings", ".terraform.d"];

    private static readonly string[] SecretFiles = [".netrc", ".git-credentials", ".npmrc", ".pypirc", ".pgpass", ".config/hub"];

    // The same where the owner's environment names them elsewhere: a cloud's key file (a Google service account's private key, for
    // Vertex AI among others), AWS's shared credentials, gcloud's folder (its logins and application default credentials).
    private static readonly string[] SecretFileVariables = ["GOOGLE_APPLICATION_CREDENTIALS", "AWS_SHARED_CREDENTIALS_FILE"];

    private static readonly string[] SecretFolderVariables = ["CLOUDSDK_CONFIG"];

    // Every agent's own folders in the owner's home, where its login lies (an OAuth refresh token, an API key): hidden from every
    // sandbox, its own agent's too, which gets its home's copies at the same paths (state folders are bound after these).
    private static readonly string[] AgentFolders =
    [
        ".claude", ".codex", ".gemini", ".qwen", ".copilot", ".cache/copilot", ".config/github-copilot",
        ".config/opencode", ".local/share/opencode", ".local/state/opencode", ".opencode",
        // pi's, and Kilo Code's (OpenCode's under its names, its own command sandbox's policies beside them).
        ".pi", ".config/kilo", ".local/share/kilo", ".local/state/kilo", ".local/state/kilo-sandbox-policy", ".kilo", ".kilocode",
    ];

    private static readonly string[] AgentFiles = [".claude.json", ".claude.json.backup"];

    // The same folders where the owner's environment moves them.
    private static readonly string[] AgentFolderVariables = ["CLAUDE_CONFIG_DIR", "CODEX_HOME", "COPILOT_HOME", "QWEN_HOME", "GEMINI_CLI_HOME", "OPENCODE_CONFIG_DIR",
        "PI_CODING_AGENT_DIR", "PI_CODING_AGENT_SESSION_DIR", "KILO_CONFIG_DIR"];

    private static readonly string[] SessionVariables =
        ["SSH_AUTH_SOCK", "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "TMUX", "TMUX_PANE", "DISPLAY", "WAYLAND_DISPLAY"];

    /// <summary>The owner's runtime folder (<c>XDG_RUNTIME_DIR</c>) where it lies outside <c>/run</c> and <c>/tmp</c>, which are emptied anyway.</summary>
    private static string? RuntimeFolder(IReadOnlyDictionary<string, string?> environment) =>
        (environment.TryGetValue("XDG_RUNTIME_DIR", out var set) ? set : Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR")) is { Length: > 0 } runtime
        && runtime != "/" && !IsUnder(runtime, "/tmp") && !IsUnder(runtime, "/run") && Directory.Exists(runtime)
            ? runtime
            : null;

    /// <summary>Folders of the agent's PATH under <c>/run</c> (NixOS keeps its programs' links there): given back read-only.</summary>
    private static IEnumerable<string> ProgramsUnderRun(IReadOnlyDictionary<string, string?> environment) =>
        ((environment.TryGetValue("PATH", out var set) ? set : Environment.GetEnvironmentVariable("PATH")) ?? "")
        .Split(':', StringSplitOptions.RemoveEmptyEntries).Where(folder => IsUnder(folder, "/run") && Directory.Exists(folder)).Distinct();

    // Tool caches a build in the project fills (package downloads): the agent's home's own where the owner has them, so building
    // works and a package planted there (a build script run by the next build) never reaches the owner's.
    private static readonly string[] CacheFolders = [".cache", ".npm", ".nuget/packages", ".cargo/registry", ".m2/repository", ".gradle/caches", "go/pkg/mod"];

    /// <summary>
    /// The namespaces and privileges every sandbox starts with (the probe tries exactly these).
    /// <list type="bullet">
    /// <item><c>--die-with-parent</c>: the sandbox dies with the server, even a <c>kill -9</c> of it. The signal is tied to the
    /// thread that forks bubblewrap, which is why every child is started from <see cref="LauncherThread"/>.</item>
    /// <item><c>--unshare-pid</c>: its own process table, so nothing in it can see, signal or reach through <c>/proc/PID/root</c>
    /// the server or any other process; and when the sandbox's first process ends, the kernel ends everything in it, however
    /// it tried to leave (<c>setsid</c>, a double fork).</item>
    /// <item><c>--unshare-user</c> and <c>--cap-drop ALL</c>: run as root (containers, VPSs), a sandbox would otherwise keep every
    /// capability, enough to remount or read past every mount below.</item>
    /// <item><c>--unshare-ipc</c>: its own System V IPC.</item>
    /// <item><c>--unshare-net</c>: its own network, with nothing but its own loopback: no route to another address, this
    /// machine's loopback (the server's API, a database, a DNS stub), a DNS server, or an abstract unix socket outside (they
    /// belong to a network namespace). Its way out is the server's proxy (<see cref="Egress"/>).</item>
    /// <item>Run as root, the agent is <c>nobody</c> in its namespace (still the owner of what root owns outside): mapped to root
    /// there, no sandbox of its own (Codex's bubblewrap) could map its user without a capability the sandbox has dropped
    /// (Linux asks for CAP_SETFCAP to map a namespace's root).</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<string> Isolation { get; } =
    [
        "--die-with-parent", "--unshare-pid", "--unshare-user", "--unshare-ipc", "--unshare-net", "--cap-drop", "ALL",
        .. Environment.IsPrivilegedProcess ? (string[])["--uid", Nobody, "--gid", Nobody] : [],
    ];

    private const string Nobody = "65534";

    /// <summary>bubblewrap from PATH, or null where it is not installed (the sandbox is then unavailable, and health says so).</summary>
    public static string? FindBwrap() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(folder => Path.Combine(folder, "bwrap")).FirstOrDefault(File.Exists);

    /// <summary>
    /// The spec run inside the sandbox. The agent's state folders (<paramref name="state"/>) are its home of PocketCoder's own
    /// (<see cref="AgentHome"/>), at the paths it expects; the owner's configuration comes in read-only.
    /// </summary>
    /// <param name="readable">More it must read that may lie under /tmp (an ACP agent's <c>read</c> in agents.json).</param>
    public ProcessSpec Wrap(ProcessSpec spec, AgentState state, IEnumerable<string>? readable = null)
    {
        var home = OwnerHome(spec);
        var agentHome = new AgentHome(Home, home);
        List<string> arguments = [.. Isolation, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"];

        EmptySessionFolders(arguments, spec.Environment);

        // A private /tmp hides everything under the real one: what the agent needs from there comes back read-only (its
        // home, its install, and a script it is given by path, as `node /…/dist/index.js`).
        var needed = new[] { home, InstallRoot(spec.FileName) }
            .Concat(spec.Arguments.Where(a => a.StartsWith('/') && File.Exists(a)).Select(InstallRoot))
            .Concat(readable ?? []);
        BindBackFromTmp(arguments, needed);

        foreach (var hidden in Hidden.Where(Directory.Exists))
        {
            arguments.AddRange(["--tmpfs", hidden]);
        }

        HideSecrets(arguments, spec, home);

        // The agent's state, and the caches a build fills, are the agent's home's, at the paths it expects: what an allowed
        // command writes there (a settings file, an MCP server in ~/.claude.json, a package whose build script runs at the
        // next build) never reaches what the owner's own terminal reads. Outer folders first, so inner ones land on top.
        var folders = state.Folders.Concat(CacheFolders.Select(c => Path.Combine(home, c)).Where(Directory.Exists))
            .Select(Path.GetFullPath).Distinct().OrderBy(f => f.Length);
        foreach (var folder in folders)
        {
            var copy = agentHome.Map(folder);
            agentHome.EnsureFolder(folder);
            // The mount point: an empty folder where the owner has none yet, as the agent would have made it.
            Directory.CreateDirectory(folder);
            arguments.AddRange(["--bind", copy, folder]);
        }

        // ...but for what decides what it may do or run: the owner's own, read-only, or an empty stand-in it cannot replace,
        // so that no session widens what the next one lets it do.
        foreach (var config in state.Config.DistinctBy(c => c.Path))
        {
            arguments.AddRange(["--ro-bind", config.Source ?? OwnersConfig(config.Path) ?? StandIn(agentHome, config), config.Path]);
        }

        // What PocketCoder gives it from the data folder hidden above (Gemini CLI's gate policy): in sight, and as it was written.
        foreach (var file in state.Provided)
        {
            arguments.AddRange(["--ro-bind", file, file]);
        }

        agentHome.CopyLogins(state.Logins);

        // Last, so nothing above can cover them.
        foreach (var folder in Writable)
        {
            arguments.AddRange(["--bind", folder, folder]);
        }

        // ...but for what must stay as it is. A link there (planted by an earlier session) is never followed: binding its
        // target would bring that target into view.
        foreach (var path in Protected.Where(p => Exists(p) && new FileInfo(p).LinkTarget is null))
        {
            arguments.AddRange(["--ro-bind", path, path]);
        }

        // The network helper's own files too (a build under /tmp), before the sockets are read from the mounts.
        var helper = Egress is null ? null : NetworkHelper.Command;
        BindBackFromTmp(arguments, helper is null ? [] : NetworkHelper.Needs());

        CoverSockets(arguments);
        arguments.AddRange(["--chdir", spec.WorkingDirectory, "--unsetenv", "TMPDIR"]);
        if (Egress is null || helper is null)
        {
            // No way out at all: the agent starts, and cannot reach even its model.
            return spec with { Wrapper = [Bwrap, .. arguments, "--"] };
        }

        return WithWayOut(spec, arguments, state, Egress, helper);
    }

    /// <summary>
    /// The way out: the door bound in, the proxy named in the variables every client reads, and the helper first, to hand the
    /// sandbox's listeners to the server before it becomes the agent.
    /// </summary>
    private ProcessSpec WithWayOut(ProcessSpec spec, List<string> arguments, AgentState state, IEgress egress, IReadOnlyList<string> helper)
    {
        var layout = new EgressLayout(state.Endpoints, state.Serves ? 16 : 0, state.Forwards);
        foreach (var (name, value) in layout.Environment)
        {
            arguments.AddRange(value is null ? ["--unsetenv", name] : ["--setenv", name, value]);
        }

        var door = egress.Open(layout);
        arguments.AddRange(["--bind", door.SocketPath, EgressLayout.InsideDoor, "--"]);
        return spec with { Wrapper = [Bwrap, .. arguments, .. SandboxNetworkEntry.Arguments(helper, layout)], Attached = door };
    }

    /// <summary>Paths under /tmp the agent needs, bound back read-only over its private /tmp.</summary>
    private static void BindBackFromTmp(List<string> arguments, IEnumerable<string?> paths)
    {
        foreach (var path in paths.OfType<string>().Where(p => IsUnder(p, "/tmp") && Exists(p)).Distinct())
        {
            arguments.AddRange(["--ro-bind", path, path]);
        }
    }

    /// <summary>The owner's session sockets out of sight: <c>/run</c>, the runtime folder, <c>/var/run</c>, and the variables naming them.</summary>
    private static void EmptySessionFolders(List<string> arguments, IReadOnlyDictionary<string, string?> environment)
    {
        // A read-only mount does not stop connect(): the sockets of the owner's session (systemd --user, D-Bus, an ssh or
        // gpg agent, a tmux server, Docker, name resolution through nscd or systemd-resolved, which would carry a name out as
        // a DNS query) would run code or reach out beyond the sandbox. /run, where the system keeps them, is emptied (with no
        // network, nothing there is of use inside), as is the owner's runtime folder where it lies elsewhere, and the
        // variables that name them unset. A socket bound anywhere else the sandbox sees is covered last (CoverSockets).
        arguments.AddRange(["--tmpfs", "/run"]);
        foreach (var programs in ProgramsUnderRun(environment))
        {
            arguments.AddRange(["--ro-bind", programs, programs]);
        }

        if (RuntimeFolder(environment) is { } runtime)
        {
            arguments.AddRange(["--tmpfs", runtime]);
        }

        if (new DirectoryInfo("/var/run") is { Exists: true, LinkTarget: null })
        {
            arguments.AddRange(["--tmpfs", "/var/run"]);
        }

        foreach (var variable in SessionVariables)
        {
            arguments.AddRange(["--unsetenv", variable]);
        }
    }

    /// <summary>The owner's credentials and every agent's own folders hidden, each at its real path.</summary>
    private void HideSecrets(List<string> arguments, ProcessSpec spec, string home)
    {
        IEnumerable<string> Named(IEnumerable<string> variables) =>
            variables.Select(v => spec.Environment.TryGetValue(v, out var set) ? set : Environment.GetEnvironmentVariable(v)).OfType<string>()
                .Where(path => path.Length > 1 && Path.IsPathRooted(path));
        // A folder named by a variable that holds the home or a project (CLOUDSDK_CONFIG=$HOME, say) is not hidden whole.
        var agentFolders = AgentFolders.Select(s => Path.Combine(home, s)).Concat(Named(AgentFolderVariables))
            .Concat(Named(SecretFolderVariables).Where(folder => !IsUnder(home, folder) && !Writable.Any(writable => IsUnder(writable, folder))));
        // Each where it really is: a mount on a path through a link (a dotfiles manager's ~/.codex) would land outside the sandbox's
        // root (bubblewrap follows it from there), and the private /tmp hides what is under it anyway.
        foreach (var secret in SecretFolders.Select(s => Path.Combine(home, s)).Concat(agentFolders).Where(Directory.Exists).Select(Real)
                     .Where(p => !IsUnder(p, "/tmp") || IsUnder(p, home)).Distinct())
        {
            arguments.AddRange(["--tmpfs", secret]);
        }

        foreach (var secret in SecretFiles.Concat(AgentFiles).Select(s => Path.Combine(home, s)).Concat(Named(SecretFileVariables)).Where(File.Exists)
                     .Select(Real).Where(p => !IsUnder(p, "/tmp") || IsUnder(p, home)).Distinct())
        {
            arguments.AddRange(["--ro-bind", "/dev/null", secret]);
        }
    }

    /// <summary>
    /// Every unix socket bound on this machine (<c>/proc/net/unix</c>), covered with <c>/dev/null</c> at each path where the mounts so
    /// far show it: connect() to one reaches a server outside whatever the network namespace says (only abstract ones belong to
    /// it). Where the sandbox sees it is read from the mounts themselves (<see cref="SandboxMounts"/>), not from where it lies: an
    /// owner's home, a project or an install under /tmp is bound back over the private /tmp, and a folder bound elsewhere moves it.
    /// Called after every mount but the door, which is the sandbox's own way out.
    /// </summary>
    private static void CoverSockets(List<string> arguments)
    {
        var mounts = SandboxMounts.Of(arguments);
        var seen = UnixSockets.Bound().Select(FileSystem.RealPath.Resolve).OfType<string>()
            .SelectMany(socket => SandboxMounts.WhereSeen(mounts, socket)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var inside in seen)
        {
            arguments.AddRange(["--ro-bind", "/dev/null", inside]);
        }
    }

    /// <summary>The owner's home as the agent's environment names it.</summary>
    public static string OwnerHome(ProcessSpec spec) =>
        spec.Environment.TryGetValue("HOME", out var given) && given is { Length: > 0 } ? given : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>
    /// The owner's file or folder at this path, or null. A link is the owner's own (no agent writes the owner's home), as a
    /// dotfiles manager makes them: what it points at is bound.
    /// </summary>
    private static string? OwnersConfig(string path) => File.Exists(path) || Directory.Exists(path) ? path : null;

    /// <summary>Makes (once) the empty stand-in in the agent's home, and returns it. Whatever else the agent left there (a link, a file
    /// where a folder belongs) is replaced.</summary>
    private static string StandIn(AgentHome home, AgentConfig config)
    {
        if (config.Placeholder == Placeholder.Folder)
        {
            home.EnsureFolder(config.Path);
        }
        else if (home.Probe(config.Path) is not { IsRegularFile: true })
        {
            home.Write(config.Path, config.Placeholder == Placeholder.JsonObject ? "{}\n" : "");
        }

        return home.Map(config.Path);
    }

    /// <summary>The folder an executable's install lives in: its package tree for an npm one (node_modules), else its folder.</summary>
    private static string? InstallRoot(string executable)
    {
        var real = FileSystem.RealPath.Resolve(executable) ?? executable;
        var folder = Path.GetDirectoryName(real);
        for (var current = folder; current is not null; current = Path.GetDirectoryName(current))
        {
            if (Path.GetFileName(current) == "node_modules")
            {
                return current;
            }
        }

        return folder;
    }

    private static bool Exists(string path) => Directory.Exists(path) || File.Exists(path);

    private static string Real(string path) => FileSystem.RealPath.Resolve(path) ?? path;

    private static bool IsUnder(string path, string folder) =>
        path == folder || path.StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal);
}
