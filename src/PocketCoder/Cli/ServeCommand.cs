using System.Net.Sockets;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary><c>pocketcoder serve</c>: runs the server until Ctrl+C or SIGTERM, then stops every agent cleanly.</summary>
public static class ServeCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var arguments = CliArguments.Parse(args, new HashSet<string> { "listen", "data", "suspend-idle-minutes", "stall-seconds", "allowed-host" },
            new HashSet<string> { "ledger-terminal-text" });
        var listen = arguments.Value("listen") ?? PocketCoderOptions.DefaultListen;
        if (!Uri.TryCreate(listen, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new CliException($"--listen must be an http:// URL such as {PocketCoderOptions.DefaultListen}; got '{listen}'.");
        }

        var suspendMinutes = arguments.Value("suspend-idle-minutes") is { } minutesText
            ? int.TryParse(minutesText, System.Globalization.CultureInfo.InvariantCulture, out var minutes) && minutes >= 0
                ? minutes
                : throw new CliException("--suspend-idle-minutes takes a whole number of minutes (0: never suspend).")
            : 15;
        var stallText = arguments.Value("stall-seconds") ?? Environment.GetEnvironmentVariable("POCKETCODER_STALL_SECONDS");
        var stallSeconds = stallText is { Length: > 0 }
            ? int.TryParse(stallText, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
                ? seconds
                : throw new CliException("--stall-seconds (or POCKETCODER_STALL_SECONDS) takes a whole number of seconds (0: never report a stall).")
            : 180;
        var options = new PocketCoderOptions
        {
            DataDirectory = CommandLine.DataDirectory(arguments),
            Listen = listen,
            SuspendIdleAfter = TimeSpan.FromMinutes(suspendMinutes),
            StallAfter = TimeSpan.FromSeconds(stallSeconds),
            AllowedHosts = AllowedHosts(arguments.Value("allowed-host")),
            LedgerTerminalText = arguments.Flag("ledger-terminal-text"),
        };
        WebApplication built;
        try
        {
            built = PocketCoderServer.Build(options);
        }
        catch (InvalidDataException exception)
        {
            // A broken agents.json: say which entry and why, not a stack trace.
            throw new CliException(exception.Message);
        }
        catch (IOException exception)
        {
            // A data folder that is not ours, or cannot be made private.
            throw new CliException(exception.Message);
        }

        await using var app = built;
        try
        {
            await app.StartAsync();
        }
        catch (IOException exception) when (exception.InnerException is SocketException or null)
        {
            await Console.Error.WriteLineAsync($"pocketcoder: cannot listen on {listen}: {exception.Message}");
            return 1;
        }

        var address = app.Urls.FirstOrDefault() ?? listen;
        await output.WriteLineAsync($"""
            PocketCoder {Health.HealthApi.Version} listening on {address}
            Data: {options.DataDirectory}
            To pair a phone, run `pocketcoder pair{(arguments.Value("data") is { } d ? $" --data {d}" : "")}` and enter the code it shows.
            """);
        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary><c>--allowed-host</c> and <c>POCKETCODER_ALLOWED_HOSTS</c>, each a comma-separated list of host names.</summary>
    private static List<string> AllowedHosts(string? flag) =>
        [.. new[] { flag, Environment.GetEnvironmentVariable("POCKETCODER_ALLOWED_HOSTS") }
            .SelectMany(list => (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
}
