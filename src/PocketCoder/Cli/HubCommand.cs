using System.CommandLine;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder hub …</c>: running a hub (<c>serve</c>, <c>add-machine</c>, <c>remove-machine</c>, <c>machines</c>) and
/// joining this machine to one (<c>join</c>, <c>leave</c>). See docs/reach.md.
/// </summary>
internal sealed class HubCommand() : VerbGroup("hub", "Reach this machine through a hub, or run one.",
    new Join(), new Leave(), new Serve(), new AddMachine(), new RemoveMachine(), new Machines())
{
    private static Option<string> Postgres() => new("--postgres") { Description = "A cluster's shared PostgreSQL database (else $POCKETCODER_HUB_POSTGRES)." };

    /// <summary>The connection string of a cluster's shared database: --postgres, else $POCKETCODER_HUB_POSTGRES (keeps a password out of the process list).</summary>
    private static string? ConnectionString(string? given) =>
        given ?? (Environment.GetEnvironmentVariable("POCKETCODER_HUB_POSTGRES") is { Length: > 0 } connection ? connection : null);

    /// <summary>A verb on the hub's machines: in its data folder, or in the cluster's shared database.</summary>
    private abstract class MachinesVerb : Verb
    {
        private readonly Option<string> _postgres = Postgres();

        protected MachinesVerb(string name, string description) : base(name, description) => Declare(_postgres);

        protected MachineRegistry Registry(ParseResult parsed)
        {
            if (ConnectionString(parsed.GetValue(_postgres)) is not { } connectionString)
            {
                return new MachineRegistry(DataDirectory(parsed));
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
    }

    private sealed class AddMachine : MachinesVerb
    {
        private readonly Argument<string> _name = new("name") { Description = "The machine's name (its host name under the hub's domain)." };

        public AddMachine() : base("add-machine", "Issue a machine's token (printed once).") => Declare(_name);

        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var name = parsed.GetValue(_name)!;
            string token;
            try
            {
                token = Registry(parsed).Issue(name);
            }
            catch (ArgumentException exception)
            {
                throw new CliException(exception.Message.Split(" (Parameter")[0]);
            }

            await output.WriteLineAsync($"""
                Machine '{name}' can join with this token (shown once; adding the machine again replaces it):
                  {token}
                On that machine: pocketcoder hub join https://<this hub's domain>, and paste it when asked (or give it with
                --token-file FILE, on standard input, or in $POCKETCODER_HUB_TOKEN: not on the command line, which everyone there can read).
                """);
            return 0;
        }
    }

    private sealed class RemoveMachine : MachinesVerb
    {
        private readonly Argument<string> _name = new("name") { Description = "The machine's name." };

        public RemoveMachine() : base("remove-machine", "Revoke a machine's token.") => Declare(_name);

        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var name = parsed.GetValue(_name)!;
            if (!Registry(parsed).Remove(name))
            {
                await error.WriteLineAsync($"pocketcoder: no machine '{name}' on this hub.");
                return 1;
            }

            await output.WriteLineAsync($"Removed '{name}': its token no longer joins (a link open now stays until it drops).");
            return 0;
        }
    }

    private sealed class Machines() : MachinesVerb("machines", "List the machines.")
    {
        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            foreach (var machine in Registry(parsed).Names())
            {
                await output.WriteLineAsync(machine);
            }

            return 0;
        }
    }

    private sealed class Leave() : Verb("leave", "Stop using the hub (restart serve to apply).")
    {
        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            await output.WriteLineAsync(HubMembership.Remove(DataDirectory(parsed))
                ? $"Left the hub: restart `{SelfCommand.For("serve")}` to stop using it." : "This machine had not joined a hub.");
            return 0;
        }
    }

    private sealed class Serve : Verb
    {
        private readonly Option<string> _domain = new("--domain") { Description = "The hub's domain." };
        private readonly Option<string> _cert = new("--cert") { Description = "Certificate (PEM)." };
        private readonly Option<string> _key = new("--key") { Description = "Its key (PEM)." };
        private readonly Option<string> _listen = new("--listen") { Description = "Where to listen (default https://0.0.0.0:443)." };
        private readonly Option<string> _publicPort = new("--public-port") { Description = "The port phones use, if not the listening one." };
        private readonly Option<string> _postgres = Postgres();
        private readonly Option<string> _advertise = new("--advertise") { Description = "HOST:PORT machines reach this instance at (with --postgres)." };

        public Serve() : base("serve", "Run a hub: routes https://NAME.DOMAIN by SNI to the machine NAME, unread.") =>
            Declare(_domain, _cert, _key, _listen, _publicPort, _postgres, _advertise);

        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var data = DataDirectory(parsed);
            var domain = parsed.GetValue(_domain)?.Trim().TrimEnd('.').ToLowerInvariant();
            if (domain is null || Uri.CheckHostName(domain) != UriHostNameType.Dns)
            {
                throw new CliException("hub serve needs --domain: the name whose subdomains are the machines (e.g. hub.example.com).");
            }

            if (parsed.GetValue(_cert) is not { } cert || parsed.GetValue(_key) is not { } key)
            {
                throw new CliException($"hub serve needs --cert and --key: PEM files for {domain} (the hub's own name).");
            }

            int? publicPort = parsed.GetValue(_publicPort) is { } port
                ? int.TryParse(port, out var number) && number is > 0 and < 65536 ? number : throw new CliException("--public-port must be a port number.")
                : null;
            var listen = parsed.GetValue(_listen) ?? "https://0.0.0.0:443";
            if (!listen.StartsWith("https://", StringComparison.Ordinal))
            {
                throw new CliException("The hub listens on https:// only (--listen https://ADDRESS:PORT).");
            }

            var certificate = Usable(() => TlsCertificate.Load(cert, key, TimeProvider.System));

            var postgres = ConnectionString(parsed.GetValue(_postgres));
            var advertise = parsed.GetValue(_advertise);
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
            // Its start-up is over once it listens (a hub warms nothing up): the program pages only that read go, as the server's do.
            StartupPages.Release();
            await hub.WaitForShutdownAsync();
            return 0;
        }
    }

    private sealed class Join : Verb
    {
        private readonly Argument<string> _url = new("url") { Description = "The hub's https:// address." };
        private readonly Option<string> _tokenFile = new("--token-file")
        {
            Description = "Read the token `hub add-machine` printed from this file (else $POCKETCODER_HUB_TOKEN, else standard input or a prompt).",
        };

        private readonly Option<string> _token = new("--token") { Description = "The token, or - to read it from standard input (written here, ps and shell history show it)." };
        private readonly Option<string> _ca = new("--ca") { Description = "A PEM file to trust for the hub (a private CA)." };

        public Join() : base("join", "Join a hub (checked with it now): phones then reach this machine at https://NAME.<hub domain>.") =>
            Declare(_tokenFile, _token, _ca, _url);

        /// <summary>
        /// The machine's token, from where the machine's other users cannot read it: <c>--token-file</c>, standard input
        /// (<c>--token -</c>, or whenever it is not a terminal), <c>$POCKETCODER_HUB_TOKEN</c>, or typed unseen at a prompt.
        /// <c>--token TOKEN</c> still works, with a warning: a command line is in every user's <c>ps</c> and in shell history.
        /// </summary>
        private async Task<string> TokenAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            string? token;
            var given = parsed.GetValue(_token);
            if (parsed.GetValue(_tokenFile) is { } file)
            {
                token = await ReadGivenAsync("--token-file", file);
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
                token = ReadSecret(output, "The token `pocketcoder hub add-machine` printed on the hub");
            }

            return token?.Trim() is { Length: > 0 } trimmed && !trimmed.Any(char.IsWhiteSpace)
                ? trimmed
                : throw new CliException("hub join needs the token `pocketcoder hub add-machine` printed on the hub: in a file (--token-file FILE), " +
                    "on standard input (--token -, or piped in), or in $POCKETCODER_HUB_TOKEN.");
        }

        /// <summary>Checks the token with the hub (it answers with this machine's public URL) before writing anything.</summary>
        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var url = parsed.GetValue(_url)!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var hub) || hub.Scheme != Uri.UriSchemeHttps || hub.AbsolutePath != "/")
            {
                throw new CliException($"'{url}' is not a hub address: use its https:// URL, e.g. https://hub.example.com.");
            }

            var token = await TokenAsync(parsed, output, error);
            var ca = parsed.GetValue(_ca) is { } caPath ? await ReadGivenAsync("--ca", caPath) : null;

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

            (candidate with { PublicUrl = publicUrl }).Save(DataDirectory(parsed));
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
}
