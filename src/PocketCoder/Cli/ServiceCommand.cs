using System.CommandLine;
using System.Security;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder service install|uninstall|status</c>: PocketCoder started with the owner's session and kept running. On
/// Linux a systemd user unit (<c>~/.config/systemd/user/pocketcoder.service</c>, enabled with <c>systemctl --user</c>); on
/// macOS a launchd agent (<c>~/Library/LaunchAgents/dev.pocketcoder.plist</c>, loaded with <c>launchctl</c>). The unit runs
/// this very executable with the data folder it was installed with; <c>--no-start</c> only writes the file.
/// </summary>
internal sealed class ServiceCommand() : VerbGroup("service",
    "Start PocketCoder with your session and keep it running (systemd user unit; launchd on macOS).", new Install(), new Uninstall(), new Status())
{
    private const string Label = "dev.pocketcoder";

    private sealed class Install : Verb
    {
        private readonly Option<bool> _noStart = new("--no-start") { Description = "Only write the unit file." };

        public Install() : base("install", "Write the unit for this executable and data folder, then enable and start it.") => Declare(_noStart);

        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var data = DataDirectory(parsed);
            var file = UnitPath();
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, OperatingSystem.IsMacOS() ? Plist(data) : Unit(data));
            await output.WriteLineAsync($"Wrote {file}.");
            return parsed.GetValue(_noStart) ? 0 : await ManagerAsync(output, error, OperatingSystem.IsMacOS() ? ["launchctl", "load", "-w", file] : ["systemctl", "--user", "daemon-reload"],
                OperatingSystem.IsMacOS() ? null : ["systemctl", "--user", "enable", "--now", "pocketcoder.service"]);
        }
    }

    private sealed class Uninstall() : Verb("uninstall", "Stop and disable it, and remove the unit.")
    {
        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var file = UnitPath();
            if (!File.Exists(file))
            {
                await output.WriteLineAsync("PocketCoder is not installed as a service.");
                return 0;
            }

            var stopped = await ManagerAsync(output, error, OperatingSystem.IsMacOS() ? ["launchctl", "unload", "-w", file] : ["systemctl", "--user", "disable", "--now", "pocketcoder.service"], null);
            File.Delete(file);
            await output.WriteLineAsync($"Removed {file}.");
            return stopped;
        }
    }

    private sealed class Status() : Verb("status", "Whether it is installed, and what the service manager says of it.")
    {
        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var file = UnitPath();
            if (!File.Exists(file))
            {
                await output.WriteLineAsync($"Not installed as a service ({file} does not exist). `{SelfCommand.For("service install")}` sets it up.");
                return 1;
            }

            await output.WriteLineAsync($"Installed: {file}");
            return await ManagerAsync(output, error, OperatingSystem.IsMacOS() ? ["launchctl", "list", Label] : ["systemctl", "--user", "status", "--no-pager", "pocketcoder.service"], null);
        }
    }

    internal static string UnitPath() => OperatingSystem.IsMacOS()
        ? Path.Combine(Home(), "Library", "LaunchAgents", Label + ".plist")
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } config ? config : Path.Combine(Home(), ".config"),
            "systemd", "user", "pocketcoder.service");

    /// <summary>This program as a command line: the apphost itself, or `dotnet pocketcoder.dll` when started that way.</summary>
    internal static IReadOnlyList<string> Self()
    {
        var process = Environment.ProcessPath ?? "pocketcoder";
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, Path.Combine(AppContext.BaseDirectory, "pocketcoder.dll")]
            : [process];
    }

    internal static string Unit(string data)
    {
        // systemd quotes words with spaces in double quotes and takes \\ and \" escapes inside them.
        static string Word(string word) => word.Any(c => char.IsWhiteSpace(c) || c is '"' or '\\' or '\'' or '$' or '%')
            ? "\"" + word.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("$", "$$", StringComparison.Ordinal)
                .Replace("%", "%%", StringComparison.Ordinal) + "\""
            : word;
        return $"""
            [Unit]
            Description=PocketCoder: coding agents on this machine, steered from a phone
            After=network-online.target

            [Service]
            ExecStart={string.Join(' ', Self().Concat(["serve", "--data", data]).Select(Word))}
            # The PATH of the shell that installed it: the agents' CLIs (claude, codex, ...) are found where they were then.
            Environment={Word("PATH=" + (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin"))}
            Restart=on-failure
            RestartSec=5
            # SIGTERM, then the agents are stopped cleanly before the process exits.
            KillMode=mixed
            TimeoutStopSec=30

            [Install]
            WantedBy=default.target

            """;
    }

    internal static string Plist(string data) => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
        <plist version="1.0">
        <dict>
          <key>Label</key><string>{Label}</string>
          <key>ProgramArguments</key>
          <array>
        {string.Join('\n', Self().Concat(["serve", "--data", data]).Select(a => $"    <string>{SecurityElement.Escape(a)}</string>"))}
          </array>
          <key>EnvironmentVariables</key>
          <dict><key>PATH</key><string>{SecurityElement.Escape(Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin")}</string></dict>
          <key>RunAtLoad</key><true/>
          <key>KeepAlive</key><true/>
        </dict>
        </plist>

        """;

    private static string Home() => Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>Runs the service manager's commands in turn; when one is missing or fails, says what to do by hand.</summary>
    private static async Task<int> ManagerAsync(TextWriter output, TextWriter error, string[] first, string[]? second)
    {
        foreach (var command in second is null ? [first] : new[] { first, second })
        {
            ProcessResult result;
            try
            {
                result = await ChildProcess.RunAsync(new ProcessSpec(command[0], command[1..], Environment.CurrentDirectory, new Dictionary<string, string?>(),
                    StderrLogPath: null), 64 * 1024, TimeSpan.FromSeconds(30), CancellationToken.None);
            }
            catch (Exception exception) when (exception is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                await error.WriteLineAsync($"pocketcoder: {command[0]} is not available here; run `{string.Join(' ', command)}` where it is.");
                return 1;
            }

            await output.WriteAsync(result.Stdout);
            if (result.ExitCode != 0)
            {
                await error.WriteLineAsync($"pocketcoder: `{string.Join(' ', command)}` failed ({result.ExitCode}): {result.Stderr.Trim()}");
                return 1;
            }
        }

        return 0;
    }
}
