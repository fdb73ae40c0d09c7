using System.CommandLine;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Server;
using PocketCoder.Sessions;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder doctor</c>: what this machine has for PocketCoder, each line ok or a problem with what to do, exit 1 when
/// any problem is found: the settings serve would use, the checks serve makes before it starts (the data folder can be
/// written, the certificate and key can serve, the port is free or this data folder's running server has it), each agent
/// CLI and its version, git and an author identity, tmux, whether new projects' agents run sandboxed, the hub joined, and
/// which route phones take (public URL, hub, Tailscale, LAN, none), with whether push can work (it needs https).
/// </summary>
internal sealed class DoctorCommand() : Verb("doctor", "Check this machine for PocketCoder: settings, data folder, certificate, agents, git, tmux, " +
    "sandbox, port, hub, how phones reach it and whether push can work (exit 1 on a problem).")
{
    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        var data = DataDirectory(parsed);
        var report = new Report(output);

        ServeSettings settings;
        try
        {
            settings = ServeSettings.Load(data, new Dictionary<string, string?>(), Environment.GetEnvironmentVariables());
        }
        catch (InvalidDataException exception)
        {
            await report.Line(false, "settings", exception.Message);
            return 1;
        }

        // The data folder, the certificate and the port are what serve checks before it starts: each FIX there is a line serve would stop on.
        await DataFolderAsync(report, data);

        // Which SQLite holds everything: the native binary has the build machine's linked in (docs/design.md, "The native
        // binary"), so its version is the build's, and worth seeing when a SQLite fix is announced.
        await report.Line(true, $"sqlite: {Database.SqliteVersion()}{(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "" : ", linked into this binary")}");

        PocketCoderOptions options;
        string? certificateProblem = null;
        try
        {
            options = settings.ToOptions(data);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            certificateProblem = exception.Message;
            options = settings.ToOptions(data, tls: false);
        }

        await report.Line(true, $"settings: listen {options.Listen}{(options.PublicUrl is { } url ? $", phones open {url}" : "")}");
        if (certificateProblem is not null)
        {
            await report.Line(false, "certificate", certificateProblem);
        }
        else if (options.Certificate?.Certificate is { } certificate)
        {
            await report.Line(true, $"certificate: {certificate.Subject}, valid until {certificate.NotAfter:yyyy-MM-dd}" +
                (options.Acme is null ? "" : " (ACME renews it)"));
        }

        // One agent is enough: the others are mentioned with how to add them, and only none at all is a problem.
        // Every agent starts through setsid: without it, one line says so, rather than each agent failing its own way.
        var launcher = Agents.Processes.ChildProcess.LauncherProblem;
        await report.Line(launcher is null, launcher is null ? "setsid: found (each agent runs in a process group of its own)" : "setsid: not found", launcher);
        var available = launcher is null ? await AgentsAsync(output, options) : 0;
        await report.Line(available > 0, available > 0 ? $"{available} agent{(available == 1 ? "" : "s")} ready"
                : launcher is null ? "no agent is installed" : "no agent can start",
            launcher is null ? "install at least one (see the lines above)." : "install util-linux (see setsid above).");

        await ToolsAsync(report);
        await SandboxAsync(report);

        var address = await PortAsync(report, options, data);
        var hub = HubMembership.Load(data);
        await report.Line(true, hub is null ? "hub: not joined (phones reach this machine directly)" : $"hub: joined {hub.Hub}, phones open {hub.PublicUrl}");
        await ReachAsync(output, options, address);
        await LockdownAsync(report, data);
        await report.Line(true, $"clock: {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss zzz} (pairing codes and approvals time out by it)");
        return report.Problems == 0 ? 0 : 1;
    }

    /// <summary>Whether an owner has locked the machine down, read from its data folder (the server need not run).</summary>
    private static async Task LockdownAsync(Report report, string data)
    {
        if (!File.Exists(Path.Combine(data, Database.FileName)))
        {
            return;
        }

        using var database = new Database(data);
        (DateTimeOffset At, string? By) locked;
        try
        {
            locked = database.Read(connection => connection.Query("SELECT locked_at, locked_by FROM lockdown WHERE id = 1",
                r => (At: r.Time(0), By: (string?)r.GetString(1))).FirstOrDefault());
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return; // A data folder of an older PocketCoder, before lockdowns: none to tell (doctor migrates nothing).
        }

        await report.Line(true, locked.By is null
            ? $"reach: `{SelfCommand.For("status")}` lists who is connected now; `{SelfCommand.For("lockdown")}` cuts them all at once"
            : $"reach: LOCKED DOWN since {locked.At:yyyy-MM-dd HH:mm} UTC by {locked.By}: nothing pairs until `{SelfCommand.For("lockdown --lift")}` here");
    }

    /// <summary>The data folder: usable by serve, and closed to other users.</summary>
    private static async Task DataFolderAsync(Report report, string data)
    {
        var exists = Directory.Exists(data);
        if (DataFolder.Problem(data, create: false) is { } unusable)
        {
            await report.Line(false, $"data folder {data}", unusable);
        }
        else if (!exists)
        {
            await report.Line(true, $"data folder {data} (made on first serve or pair)");
        }
        else if (OperatingSystem.IsWindows())
        {
            await report.Line(true, $"data folder {data}");
        }
        else
        {
            var mode = File.GetUnixFileMode(data);
            var open = mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
            await report.Line(open == 0, $"data folder {data} ({Convert.ToString((int)mode, 8)})", $"other users can reach it: chmod 700 '{data}' (serve narrows it too).");
        }
    }

    /// <summary>git (and an author for commits) and tmux: what the Git and Terminal screens run.</summary>
    private static async Task ToolsAsync(Report report)
    {
        if (Agents.Processes.ChildProcess.LauncherProblem is not null)
        {
            // Said once above: every program here would be started through setsid, and each would only fail the same way.
            return;
        }

        var tools = new SystemProgramRunner();
        var git = await tools.RunAsync("git", ["--version"], CancellationToken.None);
        await report.Line(git is { ExitCode: 0 }, $"git: {git?.Stdout.Trim() ?? "not found"}", "install git: sessions, reviews and the Git screen need it.");
        if (git is { ExitCode: 0 })
        {
            var name = (await tools.RunAsync("git", ["config", "--global", "user.name"], CancellationToken.None))?.Stdout.Trim();
            await report.Line(!string.IsNullOrEmpty(name), $"git author: {(string.IsNullOrEmpty(name) ? "none set" : name)}",
                "commits from the phone ask for one per project; or set it once: git config --global user.name/user.email.");
        }

        var tmux = await tools.RunAsync("tmux", ["-V"], CancellationToken.None);
        await report.Line(tmux is { ExitCode: 0 }, $"tmux: {tmux?.Stdout.Trim() ?? "not found"}", "install tmux for the phone's Terminal screen.");
    }

    /// <summary>Whether agents can run sandboxed here, each with a network of its own.</summary>
    private static async Task SandboxAsync(Report report)
    {
        var unsandboxed = Sandboxing.MachineProblem;
        await report.Line(unsandboxed is null, unsandboxed is null
                ? "sandbox: bubblewrap works; agents run sandboxed unless a project is set to none"
                : $"sandbox: unavailable: {unsandboxed} Sessions of sandboxed projects (the default) do not start",
            $"{(unsandboxed is null ? "" : Sandboxing.Remedy(unsandboxed))} and restart serve, or set a project's sandbox to none to run its agents " +
            "without one (an allowed command can then reach anything you can).");
        if (unsandboxed is null)
        {
            // Tried end to end with the sandbox above: a namespace of its own, this executable as its helper, its listener handed out.
            await report.Line(true, "network: each sandbox has its own, with PocketCoder's proxy its one way out (an agent's model passes; " +
                "any other host is asked on the phone, or decided by the project's network rules)", "");
        }
    }

    /// <summary>Whether serve can listen where it would (or this data folder's server already does); the address it listens at.</summary>
    private static async Task<Uri> PortAsync(Report report, PocketCoderOptions options, string data)
    {
        var (listenAt, listen) = await PortInUseAsync(options, data);
        var address = new Uri(listenAt);
        await report.Line(listen.Use != ListenPort.Use.Taken, listen.Use switch
        {
            ListenPort.Use.ThisServer => $"port {address.Authority}: this data folder's PocketCoder is running there (`{SelfCommand.For("status")}` says more)",
            _ when address.Port == 0 => "port: any free one, chosen at start (port 0)",
            ListenPort.Use.Free => $"port {address.Authority} is free",
            _ => $"port {address.Authority} is in use",
        }, listen.Problem);

        return address;
    }

    /// <summary>What doctor prints: each line ok, or a problem with what to do; and how many problems it found.</summary>
    private sealed class Report(TextWriter output)
    {
        public int Problems { get; private set; }

        public async Task Line(bool ok, string what, string? hint = null)
        {
            Problems += ok ? 0 : 1;
            await output.WriteLineAsync($"{(ok ? "ok  " : "FIX ")} {what}{(ok || hint is null ? "" : $"\n      {hint}")}");
        }
    }

    /// <summary>A line per agent CLI (ready, optional and how to add it, newer than checked, refused by name); returns how many are ready.</summary>
    private static async Task<int> AgentsAsync(TextWriter output, PocketCoderOptions options)
    {
        var available = 0;
        List<string> refusedAbsent = [];
        var refusedSeen = false;
        foreach (var agent in PocketCoderServer.Adapters(options))
        {
            var probe = await agent.ProbeAsync(CancellationToken.None);
            available += probe.Available ? 1 : 0;
            // A newer CLI than the newest checked is not a problem to fix (it may well work), but the owner should know.
            var newer = Health.CheckedVersions.Newer(agent.Id, probe.Version);
            if (agent is RefusedAgent refused)
            {
                refusedSeen = true;
                // Agents refused by name are not the owner's to fix: one short line each where installed, and those not installed
                // named together after the loop; the reasons are paragraphs, kept for docs/agents.md and the phone. Its version
                // is its npm package's (it is never run), so one installed otherwise has none.
                if (refused.Installed)
                {
                    await output.WriteLineAsync($"-    agent {agent.Id}: {probe.Version ?? "(version unknown)"} installed, not started ({(newer is null ? "refused by name" : "newer than the one refused: the reason may no longer hold")})");
                }
                else
                {
                    refusedAbsent.Add(agent.Id);
                }

                continue;
            }

            await output.WriteLineAsync(!probe.Available
                ? $"-    agent {agent.Id}: not installed (optional)\n      {probe.Detail}"
                : newer is null
                    ? $"ok   agent {agent.Id}: {probe.Version ?? "installed"}"
                    : $"!    agent {agent.Id}: {newer}\n      it may read settings or speak a protocol the gatekeeper was not checked against; " +
                      "the newest checked is the safe one (docs/agents.md, The newest CLIs).");
        }

        if (refusedAbsent.Count > 0)
        {
            await output.WriteLineAsync($"-    not installed, and refused by name: {string.Join(", ", refusedAbsent)}");
        }

        if (refusedSeen)
        {
            await output.WriteLineAsync("     why each is refused: docs/agents.md, \"Agents refused by name\"");
        }

        return available;
    }

    /// <summary>
    /// Which route phones take to this machine (a public URL, the hub, Tailscale, the LAN, or none), whether Tailscale could
    /// give it https, and whether push can work: informational lines (a machine used from its own browser is fine as it is),
    /// each with the next step when phones cannot install the app or get notifications.
    /// </summary>
    private static async Task ReachAsync(TextWriter output, PocketCoderOptions options, Uri listen)
    {
        async Task Info(bool ok, string what, string? hint = null) =>
            await output.WriteLineAsync($"{(ok ? "ok  " : "-   ")} {what}{(ok || hint is null ? "" : $"\n      {hint}")}");

        var tailscale = await Tailscale.ForThisMachine().StatusAsync(CancellationToken.None);
        // serve takes Tailscale's name itself when it already serves the port (ServeCommand): doctor tells the same route.
        var publicUrl = options.PublicUrl ?? (options.Hub is null && tailscale?.HttpsUrl is { } tailnet && tailscale.Serves(listen.Port) ? tailnet : null);
        var route = PhoneRoute.Choose(listen, publicUrl, options.Hub, tailscale, PhoneRoute.LanAddresses());
        var next = PhoneRoute.NextStepForHttps(listen.Port, tailscale);
        var addresses = string.Join(", ", route.Addresses);
        await (route.Kind switch
        {
            RouteKind.Hub => Info(true, $"reach: through the hub: phones open {addresses}"),
            RouteKind.Tailscale => Info(true, $"reach: Tailscale serves this machine as {addresses}, for phones on your tailnet"),
            RouteKind.PublicUrl => Info(route.Https, $"reach: phones open {addresses} (the public URL{(route.Https ? ", https" : ", plain http")})", next),
            RouteKind.Lan when route.Addresses.Count == 0 => Info(false, "reach: serve listens beyond this machine, but it has no network address a phone could open",
                "connect it to the phone's network, or set --public-url."),
            RouteKind.Lan => Info(route.Https, $"reach: LAN only: phones on this machine's network open {addresses}{(route.Https ? "" : " (plain http)")}", next),
            _ => Info(false, $"reach: this machine only: serve listens on {listen.Host}, which a phone cannot open",
                $"to listen on the LAN: {SelfCommand.For("serve")} --listen {listen.Scheme}://0.0.0.0:{listen.Port}. {next}"),
        });
        await Info(tailscale?.HttpsUrl is not null, tailscale switch
        {
            null => "tailscale: not installed (optional: it gives this machine an https name phones on your tailnet can open)",
            { HttpsUrl: { } url } => $"tailscale: connected as {url}{(tailscale.Serves(listen.Port) ? ", serving this port" : $"; `tailscale serve --bg {listen.Port}` would serve this port there")}",
            { Running: false } => "tailscale: installed, not connected (`tailscale up`)",
            _ => "tailscale: connected, without a MagicDNS name (turn on MagicDNS and HTTPS certificates for the tailnet)",
        });
        var pushable = route.Https && route.Kind != RouteKind.LoopbackOnly && route.Addresses.Count > 0;
        await Info(pushable, pushable
                ? "push: phones open an https address, so the app installs and notifications can reach them"
                : "push: not possible yet: browsers let only an https page install the app and receive notifications (push " +
                  "subscriptions need a secure context), and phones here would open plain http",
            next);
    }

    /// <summary>
    /// The port this data folder's server uses: where it runs now when it does (it may have been started with a --listen the
    /// settings do not hold), else where the settings would have serve listen.
    /// </summary>
    private static async Task<(string Listen, ListenPort.Check Check)> PortInUseAsync(PocketCoderOptions options, string data)
    {
        if (Reach.ServerAddress.Read(data)?.Url is { } recorded && Uri.TryCreate(recorded, UriKind.Absolute, out var running)
            && running.Port != new Uri(options.Listen).Port
            && await ListenPort.CheckAsync(recorded, data, options.Certificate, CancellationToken.None) is { Use: ListenPort.Use.ThisServer } there)
        {
            return (recorded, there);
        }

        return (options.Listen, await ListenPort.CheckAsync(options.Listen, data, options.Certificate, CancellationToken.None));
    }
}
