using System.Net;
using System.Net.Sockets;
using PocketCoder.Agents.Processes;
using PocketCoder.Reach.Hub;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder doctor</c>: what this machine has for PocketCoder, each line ok or a problem with what to do, exit 1 when
/// any problem is found: the settings serve would use, the data folder and its modes, each agent CLI and its version, git
/// and an author identity, tmux, the listening port, and the hub this machine joined.
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

        PocketCoderOptions options;
        try
        {
            options = ServeSettings.Load(data, new Dictionary<string, string?>(), Environment.GetEnvironmentVariables()).ToOptions(data);
            await Line(true, $"settings: listen {options.Listen}{(options.PublicUrl is { } url ? $", phones open {url}" : "")}");
        }
        catch (InvalidDataException exception)
        {
            await Line(false, "settings", exception.Message);
            return 1;
        }

        if (!Directory.Exists(data))
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

        if (Uri.TryCreate(options.Listen, UriKind.Absolute, out var listen))
        {
            await Line(true, PortFree(listen) ? $"port {listen.Port} is free" : $"port {listen.Port} is in use (by a running PocketCoder? `pocketcoder status` says)");
        }

        var hub = HubMembership.Load(data);
        await Line(true, hub is null ? "hub: not joined (phones reach this machine directly)" : $"hub: joined {hub.Hub}, phones open {hub.PublicUrl}");
        await Line(true, $"clock: {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss zzz} (pairing codes and approvals time out by it)");
        return problems == 0 ? 0 : 1;
    }

    private static bool PortFree(Uri listen)
    {
        try
        {
            var address = IPAddress.TryParse(listen.Host.Trim('[', ']'), out var ip) ? ip : IPAddress.Loopback;
            using var probe = new TcpListener(address, listen.Port);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
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
