namespace PocketCoder.Cli;

/// <summary>Parsed <c>--name value</c> options and flags of one invocation.</summary>
public sealed class CliArguments
{
    private readonly Dictionary<string, string?> _options;

    private CliArguments(List<string> positional, Dictionary<string, string?> options)
    {
        Positional = positional;
        _options = options;
    }

    public IReadOnlyList<string> Positional { get; }

    public string? Value(string name) => _options.GetValueOrDefault(name);

    public bool Flag(string name) => _options.ContainsKey(name);

    public static CliArguments Parse(IReadOnlyList<string> args, IReadOnlySet<string> valued, IReadOnlySet<string> flags)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(arg);
                continue;
            }

            var (name, inline) = arg.IndexOf('=', StringComparison.Ordinal) is var eq and > 0 ? (arg[2..eq], arg[(eq + 1)..]) : (arg[2..], null);
            if (flags.Contains(name) && inline is null)
            {
                options[name] = null;
            }
            else if (valued.Contains(name))
            {
                options[name] = inline ?? (i + 1 < args.Count ? args[++i] : throw new CliException($"--{name} needs a value."));
            }
            else
            {
                throw new CliException($"Unknown option --{name}.");
            }
        }

        return new CliArguments(positional, options);
    }
}

/// <summary>A mistake in how the command was called: printed with the usage, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);

/// <summary>The <c>pocketcoder</c> executable's verbs. One class per verb.</summary>
public static class CommandLine
{
    public const string Usage = """
        Usage: pocketcoder <command> [options]

        Commands:
          serve [--listen URL] [--data DIR]     Run the server (default http://127.0.0.1:7420).
                [--cert PEM --key PEM]          Certificate and key for an https:// --listen (reloaded when renewed).
                [--public-url URL]              The address phones open, if not --listen (proxy, Tailscale, LAN name).
                [--acme URL] [--acme-ca PEM]    Get the certificate from ACME (TLS-ALPN-01): on a hub with no --cert, for
                                                its hub name (default Let's Encrypt); without a hub, for the
                                                https --public-url name, with an https --listen reached on port 443.
                                                --acme-ca trusts a private ACME server's CA.
                [--suspend-idle-minutes N]      Stop idle agent processes after N minutes (default 15, 0: never).
                [--stall-seconds N]             Report a turn with no word from the agent after N s (default 180,
                                                0: never).
                [--allowed-host NAME[,NAME]]    Host names to answer to besides loopback and IP literals.
                [--ledger-terminal-text]        Keep the text typed into terminals in the ledger.
          pair [--data DIR] [--url URL] [--json] Create a one-time pairing code for a phone (valid 10 minutes); the link
                                                names the server's public URL (or --url).
          ledger verify [--data DIR]            Check the decision ledger's hash chain.
          approvals [--json]                    List what waits for a decision (asks the running server).
          approve ID [--session|--always]       Allow once (or for the session, or always for the project).
          deny ID [--message TEXT]              Deny; the agent sees the message.
                                                These three take --url (default http://127.0.0.1:7420) and --data.
          hub join URL --token TOKEN [--ca PEM]  Join a hub (checked with it now): phones then reach this machine at
                                                https://NAME.<hub domain>, TLS ending here with a certificate from ACME
                                                (or --cert/--key). `hub leave` undoes it.
          hub serve --domain D --cert PEM --key PEM [--listen URL] [--public-port N]
                                                Run a hub: routes https://NAME.D by SNI to the machine NAME, unread.
                [--postgres CONN --advertise HOST:PORT]
                                                One of several instances sharing a PostgreSQL database
                                                ($POCKETCODER_HUB_POSTGRES); machines reach this one at HOST:PORT.
          hub add-machine NAME | remove-machine NAME | machines [--postgres CONN]
                                                Issue (print once) or revoke a machine's token; list machines.
          version                               Print the version.

        The data folder is --data, else $POCKETCODER_DATA, else $XDG_DATA_HOME/pocketcoder.
        serve also reads pocketcoder.json in the data folder and POCKETCODER_* variables (LISTEN, PUBLIC_URL, CERT,
        KEY, ACME, ACME_CA, STALL_SECONDS, SUSPEND_IDLE_MINUTES, ALLOWED_HOSTS, GEMINI_MODEL, CLAUDE_PATH, ...); flags win over
        variables, variables over the file. A value that is not valid stops it, naming the problem.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var verb = args.Length > 0 ? args[0] : "help";
            var rest = args.Skip(1).ToArray();
            return verb switch
            {
                "serve" => await ServeCommand.RunAsync(rest, output),
                "pair" => PairCommand.Run(rest, output),
                "ledger" => LedgerCommand.Run(rest, output, error),
                "hub" => await HubCommand.RunAsync(rest, output, error),
                "approvals" => await ApprovalCommands.ListAsync(rest, output, error),
                "approve" => await ApprovalCommands.ApproveAsync(rest, output, error),
                "deny" => await ApprovalCommands.DenyAsync(rest, output, error),
                "version" or "--version" => Version(output),
                "help" or "--help" or "-h" => Help(output),
                _ => throw new CliException($"Unknown command '{verb}'."),
            };
        }
        catch (CliException exception)
        {
            await error.WriteLineAsync($"pocketcoder: {exception.Message}\n\n{Usage}");
            return 2;
        }
    }

    public static string DataDirectory(CliArguments arguments) =>
        arguments.Value("data") is { } data ? Path.GetFullPath(data) : Server.PocketCoderOptions.DefaultDataDirectory();

    private static int Version(TextWriter output)
    {
        output.WriteLine($"pocketcoder {Health.HealthApi.Version}");
        return 0;
    }

    private static int Help(TextWriter output)
    {
        output.WriteLine(Usage);
        return 0;
    }
}
