using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder hub …</c>: running a hub (<c>serve</c>, <c>add-machine</c>, <c>remove-machine</c>, <c>machines</c>) and
/// joining this machine to one (<c>join</c>, <c>leave</c>). See docs/reach.md.
/// </summary>
public static class HubCommand
{
    public static async Task<int> RunAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        var data = CommandLine.DataDirectory(arguments);
        switch (arguments.Positional)
        {
            case ["serve"]:
                return await ServeAsync(arguments, data, output, error);
            case ["add-machine", var name]:
                string token;
                try
                {
                    token = Registry(arguments, data).Issue(name);
                }
                catch (ArgumentException exception)
                {
                    throw new CliException(exception.Message.Split(" (Parameter")[0]);
                }

                output.WriteLine($"""
                    Machine '{name}' can join with this token (shown once; adding the machine again replaces it):
                      {token}
                    On that machine: pocketcoder hub join https://<this hub's domain>, and paste it when asked (or give it with
                    --token-file FILE, on standard input, or in $POCKETCODER_HUB_TOKEN: not on the command line, which everyone there can read).
                    """);
                return 0;
            case ["remove-machine", var name]:
                if (!Registry(arguments, data).Remove(name))
                {
                    error.WriteLine($"pocketcoder: no machine '{name}' on this hub.");
                    return 1;
                }

                output.WriteLine($"Removed '{name}': its token no longer joins (a link open now stays until it drops).");
                return 0;
            case ["machines"]:
                foreach (var machine in Registry(arguments, data).Names())
                {
                    output.WriteLine(machine);
                }

                return 0;
            case ["join", var url]:
                return await JoinAsync(url, arguments, data, output, error);
            case ["leave"]:
                output.WriteLine(HubMembership.Remove(data) ? "Left the hub: restart `pocketcoder serve` to stop using it." : "This machine had not joined a hub.");
                return 0;
            default:
                throw new CliException("Use `pocketcoder hub serve|add-machine NAME|remove-machine NAME|machines|join URL [--token-file FILE]|leave`.");
        }
    }

    /// <summary>The connection string of a cluster's shared database: --postgres, else $POCKETCODER_HUB_POSTGRES (keeps a password out of the process list).</summary>
    private static string? Postgres(CliArguments arguments) =>
        arguments.Value("postgres") ?? (Environment.GetEnvironmentVariable("POCKETCODER_HUB_POSTGRES") is { Length: > 0 } connection ? connection : null);

    /// <summary>The hub's machines: in its data folder, or in the cluster's shared database.</summary>
    private static MachineRegistry Registry(CliArguments arguments, string data)
    {
        if (Postgres(arguments) is not { } connectionString)
        {
            return new MachineRegistry(data);
        }

        try
        {
            return new MachineRegistry(HubServer.OpenPostgres(connectionString));
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or ArgumentException)
        {
            throw new CliException($"cannot use the hub database ({exception.Message}).");
        }
    }

    private static async Task<int> ServeAsync(CliArguments arguments, string data, TextWriter output, TextWriter error)
    {
        var domain = arguments.Value("domain")?.Trim().TrimEnd('.').ToLowerInvariant();
        if (domain is null || Uri.CheckHostName(domain) != UriHostNameType.Dns)
        {
            throw new CliException("hub serve needs --domain: the name whose subdomains are the machines (e.g. hub.example.com).");
        }

        if (arguments.Value("cert") is not { } cert || arguments.Value("key") is not { } key)
        {
            throw new CliException($"hub serve needs --cert and --key: PEM files for {domain} (the hub's own name).");
        }

        int? publicPort = arguments.Value("public-port") is { } port
            ? int.TryParse(port, out var number) && number is > 0 and < 65536 ? number : throw new CliException("--public-port must be a port number.")
            : null;
        var listen = arguments.Value("listen") ?? "https://0.0.0.0:443";
        if (!listen.StartsWith("https://", StringComparison.Ordinal))
        {
            throw new CliException("The hub listens on https:// only (--listen https://ADDRESS:PORT).");
        }

        TlsCertificate certificate;
        try
        {
            certificate = TlsCertificate.Load(cert, key, TimeProvider.System);
        }
        catch (InvalidDataException exception)
        {
            throw new CliException(exception.Message);
        }

        var postgres = Postgres(arguments);
        var advertise = arguments.Value("advertise");
        if (postgres is not null && (advertise is null || !HubProtocol.IsDialAddress(advertise)))
        {
            throw new CliException("A hub sharing PostgreSQL needs --advertise HOST:PORT: where machines reach this instance itself.");
        }

        WebApplication hub;
        try
        {
            hub = HubServer.Build(new HubOptions
            {
                Domain = domain,
                Listen = listen,
                PublicPort = publicPort,
                DataDirectory = data,
                Certificate = () => certificate.Context,
                Postgres = postgres,
                Advertise = advertise,
            });
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or ArgumentException)
        {
            await error.WriteLineAsync($"pocketcoder: cannot use the hub database: {exception.Message}");
            return 1;
        }

        await using var running = hub;
        try
        {
            await hub.StartAsync();
        }
        catch (IOException exception) when (exception.InnerException is SocketException or null)
        {
            await error.WriteLineAsync($"pocketcoder: cannot listen on {listen}: {exception.Message}");
            return 1;
        }
        catch (Npgsql.NpgsqlException exception)
        {
            await error.WriteLineAsync($"pocketcoder: cannot use the hub database: {exception.Message}");
            return 1;
        }

        var machines = postgres is null ? data : $"shared in PostgreSQL, this instance at {advertise}";
        await output.WriteLineAsync($"PocketCoder hub for *.{domain} listening on {hub.Urls.FirstOrDefault() ?? listen}; machines: {machines}");
        await hub.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>
    /// The machine's token, from where the machine's other users cannot read it: <c>--token-file</c>, standard input
    /// (<c>--token -</c>, or whenever it is not a terminal), <c>$POCKETCODER_HUB_TOKEN</c>, or typed unseen at a prompt.
    /// <c>--token TOKEN</c> still works, with a warning: a command line is in every user's <c>ps</c> and in shell history.
    /// </summary>
    private static async Task<string> TokenAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        string? token;
        var given = arguments.Value("token");
        if (arguments.Value("token-file") is { } file)
        {
            try
            {
                token = await File.ReadAllTextAsync(file);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--token-file: {exception.Message}");
            }
        }
        else if (given is not null and not "-")
        {
            await error.WriteLineAsync("pocketcoder: warning: a token given with --token is visible to every user of this machine (ps, /proc) " +
                "and stays in your shell history; give it with --token-file FILE, --token - (standard input) or $POCKETCODER_HUB_TOKEN.");
            token = given;
        }
        else if (given is null && Environment.GetEnvironmentVariable("POCKETCODER_HUB_TOKEN") is { Length: > 0 } variable)
        {
            token = variable;
        }
        else
        {
            var typed = !Console.IsInputRedirected;
            if (typed)
            {
                await output.WriteAsync("The token `pocketcoder hub add-machine` printed on the hub (not shown): ");
            }

            token = QuestionCommand.ReadHidden();
            if (typed)
            {
                await output.WriteLineAsync();
            }
        }

        return token?.Trim() is { Length: > 0 } trimmed && !trimmed.Any(char.IsWhiteSpace)
            ? trimmed
            : throw new CliException("hub join needs the token `pocketcoder hub add-machine` printed on the hub: in a file (--token-file FILE), " +
                "on standard input (--token -, or piped in), or in $POCKETCODER_HUB_TOKEN.");
    }

    /// <summary>Checks the token with the hub (it answers with this machine's public URL) before writing anything.</summary>
    private static async Task<int> JoinAsync(string url, CliArguments arguments, string data, TextWriter output, TextWriter error)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var hub) || hub.Scheme != Uri.UriSchemeHttps || hub.AbsolutePath != "/")
        {
            throw new CliException($"'{url}' is not a hub address: use its https:// URL, e.g. https://hub.example.com.");
        }

        var token = await TokenAsync(arguments, output, error);
        string? ca;
        try
        {
            ca = arguments.Value("ca") is { } caPath ? await File.ReadAllTextAsync(caPath) : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--ca: {exception.Message}");
        }

        var candidate = new HubMembership(hub.GetLeftPart(UriPartial.Authority), token, PublicUrl: "pending", ca);
        string publicUrl;
        try
        {
            publicUrl = await candidate.WelcomeAsync(CancellationToken.None);
        }
        catch (Exception exception) when (exception is WebSocketException or HttpRequestException or IOException or OperationCanceledException or JsonException
            or InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            await error.WriteLineAsync($"pocketcoder: the hub at {candidate.Hub} did not accept this machine: {exception.Message}");
            return 1;
        }

        (candidate with { PublicUrl = publicUrl }).Save(data);
        var host = new Uri(publicUrl).Host;
        await output.WriteLineAsync($"""
            Joined {candidate.Hub} as '{candidate.Machine}': phones reach this machine at {publicUrl}
            `pocketcoder serve` now keeps a link to the hub and gets a certificate for {host} from ACME through it
            (Let's Encrypt unless --acme names another; or bring one with --cert, --key). TLS ends on this machine,
            so the hub relays bytes it cannot read.
            """);
        return 0;
    }
}
