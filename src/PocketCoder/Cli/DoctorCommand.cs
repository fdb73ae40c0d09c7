using PocketCoder.Agents.Processes;
using PocketCoder.Data;
using PocketCoder.Reach.Hub;
using PocketCoder.Server;
using PocketCoder.Sessions;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder doctor</c>: what this machine has for PocketCoder, each line ok or a problem with what to do, exit 1 when
/// any problem is found: the settings serve would use, the checks serve makes before it starts (the data folder can be
/// written, the certificate and key can serve, the port is free or this data folder's running server has it), each agent
/// CLI and its version, git and an author identity, tmux, whether new projects' agents run sandboxed, and the hub joined.
/// </summary>
public static class DoctorCommand
{
    public static async Task<int> RunAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        var data = CommandLine.DataDirectory(arguments);
        var problems = 0;
        async Task Line(bool ok, string what, string? hint = null)
        {
            problems += ok ? 0 : 1;
            await output.WriteLineAsync($"{(ok ? "ok  " : "FIX ")} {what}{(ok || hint is null ? "" : $"\n      {hint}")}");
        }

        ServeSettings settings;
        try
        {
            settings = ServeSettings.Load(data, new Dictionary<string, string?>(), Environment.GetEnvironmentVariables());
        }
        catch (InvalidDataException exception)
        {
            await Line(false, "settings", exception.Message);
            return 1;
        }

        // The data folder, the certificate and the port are what serve checks before it starts: each FIX there is a line serve would stop on.
        var exists = Directory.Exists(data);
        if (DataFolder.Problem(data, create: false) is { } unusable)
        {
            await Line(false, $"data folder {data}", unusable);
        }
        else if (!exists)
        {
            await Line(true, $"data folder {data} (made on first serve or pair)");
        }
        else if (OperatingSystem.IsWindows())
        {
            await Line(true, $"data folder {data}");
        }
        else
        {
            var mode = File.GetUnixFileMode(data);
            var open = mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
            await Line(open == 0, $"data folder {data} ({Convert.ToString((int)mode, 8)})", $"other users can reach it: chmod 700 '{data}' (serve narrows it too).");
        }

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

        await Line(true, $"settings: listen {options.Listen}{(options.PublicUrl is { } url ? $", phones open {url}" : "")}");
        if (certificateProblem is not null)
        {
            await Line(false, "certificate", certificateProblem);
        }
        else if (options.Certificate?.Certificate is { } certificate)
        {
            await Line(true, $"certificate: {certificate.Subject}, valid until {certificate.NotAfter:yyyy-MM-dd}" +
                (options.Acme is null ? "" : " (ACME renews it)"));
        }

        // One agent is enough: the others are mentioned with how to add them, and only none at all is a problem.
        var available = 0;
        foreach (var agent in PocketCoderServer.Adapters(options))
        {
            var probe = await agent.ProbeAsync(CancellationToken.None);
            available += probe.Available ? 1 : 0;
            await output.WriteLineAsync(probe.Available
                ? $"ok   agent {agent.Id}: {probe.Version ?? "installed"}"
                : $"-    agent {agent.Id}: not installed (optional)\n      {probe.Detail}");
        }

        await Line(available > 0, available > 0 ? $"{available} agent{(available == 1 ? "" : "s")} ready" : "no agent is installed",
            "install at least one (see the lines above).");

        var git = await RunAsync("git", ["--version"]);
        await Line(git is { ExitCode: 0 }, $"git: {git?.Stdout.Trim() ?? "not found"}", "install git: sessions, reviews and the Git screen need it.");
        if (git is { ExitCode: 0 })
        {
            var name = (await RunAsync("git", ["config", "--global", "user.name"]))?.Stdout.Trim();
            await Line(!string.IsNullOrEmpty(name), $"git author: {(string.IsNullOrEmpty(name) ? "none set" : name)}",
                "commits from the phone ask for one per project; or set it once: git config --global user.name/user.email.");
        }

        var tmux = await RunAsync("tmux", ["-V"]);
        await Line(tmux is { ExitCode: 0 }, $"tmux: {tmux?.Stdout.Trim() ?? "not found"}", "install tmux for the phone's Terminal screen.");

        var unsandboxed = Sandboxing.MachineProblem;
        await Line(unsandboxed is null, unsandboxed is null
                ? "sandbox: bubblewrap works; agents run sandboxed unless a project is set to none"
                : $"sandbox: unavailable: {unsandboxed} Sessions of sandboxed projects (the default) do not start",
            "install bubblewrap (apt-get install bubblewrap) and restart serve, or set a project's sandbox to none to run its agents " +
            "without one (an allowed command can then reach anything you can).");

        var listen = await ListenPort.CheckAsync(options.Listen, data, options.Certificate, CancellationToken.None);
        var address = new Uri(options.Listen);
        await Line(listen.Use != ListenPort.Use.Taken, listen.Use switch
        {
            ListenPort.Use.ThisServer => $"port {address.Authority}: this data folder's PocketCoder is running there (`pocketcoder status` says more)",
            _ when address.Port == 0 => "port: any free one, chosen at start (port 0)",
            ListenPort.Use.Free => $"port {address.Authority} is free",
            _ => $"port {address.Authority} is in use",
        }, listen.Problem);

        var hub = HubMembership.Load(data);
        await Line(true, hub is null ? "hub: not joined (phones reach this machine directly)" : $"hub: joined {hub.Hub}, phones open {hub.PublicUrl}");
        await Line(true, $"clock: {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss zzz} (pairing codes and approvals time out by it)");
        return problems == 0 ? 0 : 1;
    }

    private static async Task<ProcessResult?> RunAsync(string program, string[] arguments)
    {
        if (new AgentCommand(program, new Dictionary<string, string?>()).Resolve() is not { } path)
        {
            return null;
        }

        return await ChildProcess.RunAsync(new ProcessSpec(path, arguments, Environment.CurrentDirectory, new Dictionary<string, string?>(), StderrLogPath: null),
            64 * 1024, TimeSpan.FromSeconds(15), CancellationToken.None);
    }
}
