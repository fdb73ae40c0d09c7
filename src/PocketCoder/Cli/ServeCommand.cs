using System.CommandLine;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Reach;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder serve</c>: runs the server until Ctrl+C or SIGTERM, then stops every agent cleanly. A setting that is
/// not valid is a usage mistake (exit 2); what this machine puts in the way (a data folder it cannot write, certificate
/// files it cannot use, the port taken) is checked before anything starts and stops it with one line naming the
/// problem and its fix, exit 1.
/// </summary>
internal sealed class ServeCommand : Verb
{
    /// <summary>Every setting's flag (<see cref="ServeSettings.Flags"/>): a switch, or an option with a value.</summary>
    private readonly Dictionary<string, Option> _flags = ServeSettings.Flags().ToDictionary(flag => flag.Name, flag => flag.Name == "ledger-terminal-text"
        ? (Option)new Option<bool>("--" + flag.Name) { Description = flag.Help }
        : new Option<string>("--" + flag.Name) { Description = flag.Help });

    public ServeCommand() : base("serve", "Run the server (default http://127.0.0.1:7420) until Ctrl+C or SIGTERM.") => Declare([.. _flags.Values]);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        var dataDirectory = DataDirectory(parsed);
        var flags = _flags.Where(f => parsed.GetResult(f.Value) is { Implicit: false })
            .ToDictionary(f => f.Key, f => f.Value is Option<string> value ? parsed.GetValue(value) : "true", StringComparer.Ordinal);
        var settings = Usable(() => ServeSettings.Load(dataDirectory, flags, Environment.GetEnvironmentVariables()));

        // Tailscale already serving this port over https (`tailscale serve --bg PORT`) gives the machine its ts.net name:
        // taken as the public URL when the owner named none and no hub gives one, so pairing links and the host guard use it.
        var tailscale = await Tailscale.ForThisMachine().StatusAsync(CancellationToken.None);
        if (settings.PublicUrl is null && tailscale?.HttpsUrl is { } tailnet && Uri.TryCreate(settings.Listen, UriKind.Absolute, out var listen)
            && tailscale.Serves(listen.Port) && !File.Exists(Reach.Hub.HubMembership.PathIn(dataDirectory)))
        {
            settings.PublicUrl = tailnet;
        }

        if (DataFolder.Problem(dataDirectory, create: true) is { } unusable)
        {
            return await StopAsync(error, unusable);
        }

        PocketCoderOptions options;
        try
        {
            options = settings.ToOptions(dataDirectory);
        }
        catch (InvalidDataException exception)
        {
            return await StopAsync(error, exception.Message);
        }

        if ((await ListenPort.CheckAsync(options.Listen, dataDirectory, options.Certificate, CancellationToken.None)).Problem is { } taken)
        {
            return await StopAsync(error, taken);
        }

        WebApplication built;
        try
        {
            // A broken agents.json is a usage mistake: which entry and why, not a stack trace.
            built = Usable(() => PocketCoderServer.Build(options));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or SqliteException)
        {
            // What the check above cannot foresee: a file in it that cannot be made private, a database that is not one.
            return await StopAsync(error, $"The data folder {dataDirectory} cannot be used: {exception.Message} " +
                "Fix it, or choose another folder with --data.");
        }

        await using var app = built;
        try
        {
            await app.StartAsync();
        }
        catch (Exception exception) when (ListenPort.FromStartFailure(options.Listen, exception) is { } problem)
        {
            // Taken since it was checked. What started before Kestrel (sessions, bridges, the hub link) stops again, cleanly.
            await app.StopAsync();
            return await StopAsync(error, problem);
        }

        var address = PocketCoderServer.BoundUrl(app, options);
        await output.WriteLineAsync($"""
            PocketCoder {Health.HealthApi.Version} listening on {address}{(options.PublicUrl is { } publicUrl ? $", reached at {publicUrl}" : "")}
            Data: {options.DataDirectory}
            """);
        var route = PhoneRoute.Choose(new Uri(address), options.PublicUrl, options.Hub, tailscale, PhoneRoute.LanAddresses());
        foreach (var line in route.Lines())
        {
            await output.WriteLineAsync(line);
        }

        var pair = $"{SelfCommand.For("pair")}{(GivenData(parsed) is { } d ? $" --data {d}" : "")}";
        await TellHowToPairAsync(output, app.Services, route, new Uri(address), pair);

        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>
    /// How to pair a phone, as the last line printed at start. A first start pairs the first phone itself: a second command,
    /// in words the owner had to find, was the step new owners stumbled on (issue #67). A code is made at each start until
    /// one is used; each lasts 10 minutes.
    /// </summary>
    private static async Task TellHowToPairAsync(TextWriter output, IServiceProvider services, PhoneRoute route, Uri bound, string pair)
    {
        if (services.GetRequiredService<Reach.Connected.Lockdown>().State() is { } locked)
        {
            // Nothing pairs while locked down: a code would only be refused (and a first start would stop on it).
            await output.WriteLineAsync($"Locked down since {locked.LockedAt:yyyy-MM-dd HH:mm} UTC by {locked.LockedBy}: no phone pairs until " +
                $"`{SelfCommand.For("lockdown --lift")}` is run here.");
            return;
        }

        var devices = services.GetRequiredService<Auth.Devices>();
        if (devices.AnyPaired())
        {
            await output.WriteLineAsync($"To pair a phone, run `{pair}` and enter the code it shows (or scan its QR code).");
            return;
        }

        await output.WriteLineAsync("No phone is paired yet: pair yours now with this code, its QR code or its link.");
        var (code, expiresAt) = devices.CreatePairingCode();
        PairCommand.Print(output, code, expiresAt, route, bound);
        await output.WriteLineAsync($"To pair a phone after these 10 minutes, or another one, run `{pair}` and enter the code it shows (or scan its QR code).");
    }

    private static async Task<int> StopAsync(TextWriter error, string problem)
    {
        await error.WriteLineAsync($"pocketcoder: {problem}");
        return 1;
    }
}
