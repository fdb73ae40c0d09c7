using System.Net.Sockets;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary><c>pocketcoder serve</c>: runs the server until Ctrl+C or SIGTERM, then stops every agent cleanly.</summary>
public static class ServeCommand
{
    public static async Task<int> RunAsync(CliArguments arguments, TextWriter output)
    {
        var dataDirectory = CommandLine.DataDirectory(arguments);
        var flags = ServeSettings.Flags().Where(arguments.Flag)
            .ToDictionary(f => f, f => (string?)(arguments.Value(f) ?? "true"), StringComparer.Ordinal);
        PocketCoderOptions options;
        try
        {
            options = ServeSettings.Load(dataDirectory, flags, Environment.GetEnvironmentVariables()).ToOptions(dataDirectory);
        }
        catch (InvalidDataException exception)
        {
            throw new CliException(exception.Message);
        }

        WebApplication built;
        try
        {
            built = PocketCoderServer.Build(options);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException)
        {
            // A broken agents.json (say which entry and why, not a stack trace), or a data folder that is not ours or cannot be made private.
            throw new CliException(exception.Message);
        }

        await using var app = built;
        try
        {
            await app.StartAsync();
        }
        catch (IOException exception) when (exception.InnerException is SocketException or null)
        {
            await Console.Error.WriteLineAsync($"pocketcoder: cannot listen on {options.Listen}: {exception.Message}");
            return 1;
        }

        var address = PocketCoderServer.BoundUrl(app, options);
        await output.WriteLineAsync($"""
            PocketCoder {Health.HealthApi.Version} listening on {address}{(options.PublicUrl is { } publicUrl ? $", reached at {publicUrl}" : "")}
            Data: {options.DataDirectory}
            To pair a phone, run `pocketcoder pair{(arguments.Value("data") is { } d ? $" --data {d}" : "")}` and enter the code it shows.
            """);
        await app.WaitForShutdownAsync();
        return 0;
    }
}
