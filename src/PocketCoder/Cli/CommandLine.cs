using System.CommandLine;
using System.CommandLine.Parsing;

namespace PocketCoder.Cli;

/// <summary>
/// One invocation's options and positional values, read from System.CommandLine's parse result by name: what each verb
/// takes is declared once, in <see cref="CommandLine"/>, where help, completion and errors come from.
/// </summary>
public sealed class CliArguments(ParseResult result, IReadOnlyList<Option> options, IReadOnlyList<string> positional)
{
    /// <summary>The subcommand names below the verb, then the arguments' values (`hub add-machine NAME` → [add-machine, NAME]).</summary>
    public IReadOnlyList<string> Positional { get; } = positional;

    public string? Value(string name) => Find(name) is Option<string> option ? result.GetValue(option) : null;

    /// <summary>Every value of a repeatable option, in the order given.</summary>
    public IReadOnlyList<string> Values(string name) => Find(name) is Option<string[]> option ? result.GetValue(option) ?? [] : [];

    /// <summary>Was --name given (a switch, or an option with a value)?</summary>
    public bool Flag(string name) => Find(name) is { } option && result.GetResult(option) is { Implicit: false };

    private Option? Find(string name) => options.FirstOrDefault(o => o.Name == "--" + name);
}

/// <summary>A mistake in how the command was called: printed with the usage, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);

/// <summary>The <c>pocketcoder</c> executable's verbs. One class per verb.</summary>
public static class CommandLine
{
    private const string DataHelp = "The data folder (else $POCKETCODER_DATA, else $XDG_DATA_HOME/pocketcoder).";
    private const string UrlHelp = "The running server (else $POCKETCODER_URL, else http://127.0.0.1:7420).";

    private const string Epilog = """
        serve also reads pocketcoder.json in the data folder and POCKETCODER_* variables (LISTEN, PUBLIC_URL, CERT, KEY, ACME,
        ACME_CA, STALL_SECONDS, SUSPEND_IDLE_MINUTES, ALLOWED_HOSTS, GEMINI_MODEL, CLAUDE_PATH, ...); flags win over variables,
        variables over the file. A value that is not valid stops it, naming the problem (exit 2); so does, in one line with
        the fix (exit 1), a port in use, a data folder it cannot write or certificate files that cannot serve.
        """;

    private delegate Task<int> Run(CliArguments arguments, TextWriter output, TextWriter error);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = Root();
        // No @response files: "@bob fix this" is a message, and --message @file must not send a file's contents.
        var parsed = root.Parse(args.Length == 0 ? ["--help"] : args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            // A mistake in how it was called: said plainly, with where the help is, and exit 2 (as for any usage error).
            foreach (var problem in parsed.Errors)
            {
                await error.WriteLineAsync($"pocketcoder: {problem.Message}");
            }

            await error.WriteLineAsync($"See `pocketcoder {CommandPath(parsed)} --help`.".Replace("  ", " ", StringComparison.Ordinal));
            return 2;
        }

        try
        {
            // No termination timeout: serve stops its agents cleanly however long that takes, and Ctrl+C during handoff is the agent's.
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            });
        }
        catch (CliException exception)
        {
            await error.WriteLineAsync($"pocketcoder: {exception.Message} (see `pocketcoder {CommandPath(parsed)} --help`)");
            return 2;
        }
    }

    /// <summary>Every verb, its options and what it runs: the help text is generated from this.</summary>
    internal static RootCommand Root()
    {
        var root = new RootCommand($"PocketCoder {Health.HealthApi.Version}: run coding agents on this machine and steer them from a phone.");
        var serveOptions = Server.ServeSettings.Flags().Select(flag => flag == "ledger-terminal-text"
            ? (Option)new Option<bool>("--" + flag) { Description = ServeHelp(flag) }
            : new Option<string>("--" + flag) { Description = ServeHelp(flag) });
        root.Subcommands.Add(Verb("serve", "Run the server (default http://127.0.0.1:7420) until Ctrl+C or SIGTERM.",
            [Data(), .. serveOptions], [], ServeCommand.RunAsync));
        root.Subcommands.Add(Verb("pair", "Create a one-time pairing code for a phone (valid 10 minutes), with a link and a QR code.",
            [Data(), new Option<string>("--url") { Description = "The address phones open, if not the server's public URL." }, Json()], [],
            (a, o, _) => PairCommand.RunAsync(a, o)));
        var ledger = new Command("ledger", "The decision ledger.");
        ledger.Subcommands.Add(Verb("verify", "Check the ledger's hash chain: exit 0 with `ok N entries`, or 1 naming the first bad entry.",
            [Data()], [], (a, o, e) => Task.FromResult(LedgerCommand.Run(a, o, e))));
        root.Subcommands.Add(ledger);
        root.Subcommands.Add(Verb("approvals", "List what waits for a decision (asks the running server).", [Data(), Url(), Json()], [],
            ApprovalCommands.ListAsync));
        root.Subcommands.Add(Verb("approve", "Allow a waiting call once (or for the session, or always for the project).",
            [Data(), Url(), new Option<bool>("--session") { Description = "Allow it for the rest of the session." },
                new Option<bool>("--always") { Description = "Allow it always in this project (adds a rule)." }],
            [new Argument<string>("id") { Description = "The approval's id (see `pocketcoder approvals`)." }], ApprovalCommands.ApproveAsync));
        root.Subcommands.Add(Verb("deny", "Deny a waiting call; the agent sees the message.",
            [Data(), Url(), new Option<string>("--message") { Description = "Why, for the agent." }],
            [new Argument<string>("id") { Description = "The approval's id." }], ApprovalCommands.DenyAsync));
        root.Subcommands.Add(Verb("answer", "Answer a question an agent asked: pick its options or write your own words (asks for each, unless --reply gives them).",
            [Data(), Url(), new Option<string[]>("--reply")
            {
                Description = "One per question, in order: option numbers (\"2\", or \"1,3\" where several may be chosen), your own words, or both (\"1 but small\").",
                AllowMultipleArgumentsPerToken = false,
            }],
            [new Argument<string>("id") { Description = "The question's id (see `pocketcoder approvals`)." }], QuestionCommand.AnswerAsync));
        root.Subcommands.Add(Verb("status", "Is the server running, where phones reach it, paired devices, sessions and what waits (exit 1 when not running).",
            [Data(), Url()], [], StatusCommand.RunAsync));
        root.Subcommands.Add(Verb("doctor", "Check this machine for PocketCoder: settings, data folder, certificate, agents, git, tmux, sandbox, port, hub, how phones reach it and whether push can work (exit 1 on a problem).",
            [Data()], [], DoctorCommand.RunAsync));
        root.Subcommands.Add(Verb("sessions", "List the sessions, newest activity first, with how many approvals wait in each.",
            [Data(), Url(), Json(), new Option<bool>("--all") { Description = "Archived ones too." }], [], SessionCommands.ListAsync));
        Argument<string> Session() => new("session") { Description = "The session's id, or the start of it that `pocketcoder sessions` prints." };
        root.Subcommands.Add(Verb("send", "Send the session's agent a message, as the phone would.", [Data(), Url()],
            [Session(), new Argument<string>("text") { Description = "The message." }], SessionCommands.SendAsync));
        root.Subcommands.Add(Verb("watch", "Follow a session live: its reply as it streams, tool calls, and each waiting call as a prompt answered with a key.",
            [Data(), Url(), new Option<string>("--history") { Description = "How many earlier events to show first (default 200)." },
                new Option<bool>("--no-keys") { Description = "Only watch; do not answer approvals from this terminal." }],
            [Session()], WatchCommand.RunAsync));
        root.Subcommands.Add(Verb("handoff", "Carry the session on in this terminal: the server stops its agent between turns, then the agent's own resume runs here.",
            [Data(), Url(), new Option<bool>("--print") { Description = "Only print the command, do not run it." }], [Session()], SessionCommands.HandoffAsync));
        var service = new Command("service", "Start PocketCoder with your session and keep it running (systemd user unit; launchd on macOS).");
        service.Subcommands.Add(Verb("install", "Write the unit for this executable and data folder, then enable and start it.",
            [Data(), new Option<bool>("--no-start") { Description = "Only write the unit file." }], [], ServiceCommand.RunAsync));
        service.Subcommands.Add(Verb("uninstall", "Stop and disable it, and remove the unit.", [Data()], [], ServiceCommand.RunAsync));
        service.Subcommands.Add(Verb("status", "Whether it is installed, and what the service manager says of it.", [Data()], [],
            ServiceCommand.RunAsync));
        root.Subcommands.Add(service);
        root.Subcommands.Add(Hub());
        root.Subcommands.Add(Bridge());
        var shell = new Argument<string>("shell") { Description = "bash or zsh." };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        root.Subcommands.Add(Verb("completion", "Print a shell completion script: eval \"$(pocketcoder completion bash)\" in ~/.bashrc (or zsh).",
            [], [shell], CompletionCommand.RunAsync));
        root.Subcommands.Add(Verb("version", "Print the version.", [], [], (_, o, _) =>
        {
            o.WriteLine($"pocketcoder {Health.HealthApi.Version}");
            return Task.FromResult(0);
        }));
        root.Description += "\n\n" + Epilog;
        return root;
    }

    private static Command Hub()
    {
        var hub = new Command("hub", "Reach this machine through a hub, or run one.");
        Option<string> Postgres() => new("--postgres") { Description = "A cluster's shared PostgreSQL database (else $POCKETCODER_HUB_POSTGRES)." };
        hub.Subcommands.Add(Verb("join", "Join a hub (checked with it now): phones then reach this machine at https://NAME.<hub domain>.",
            [Data(),
                new Option<string>("--token-file")
                {
                    Description = "Read the token `hub add-machine` printed from this file (else $POCKETCODER_HUB_TOKEN, else standard input or a prompt).",
                },
                new Option<string>("--token") { Description = "The token, or - to read it from standard input (written here, ps and shell history show it)." },
                new Option<string>("--ca") { Description = "A PEM file to trust for the hub (a private CA)." }],
            [new Argument<string>("url") { Description = "The hub's https:// address." }], HubCommand.RunAsync));
        hub.Subcommands.Add(Verb("leave", "Stop using the hub (restart serve to apply).", [Data()], [], HubCommand.RunAsync));
        hub.Subcommands.Add(Verb("serve", "Run a hub: routes https://NAME.DOMAIN by SNI to the machine NAME, unread.",
            [Data(), new Option<string>("--domain") { Description = "The hub's domain." }, new Option<string>("--cert") { Description = "Certificate (PEM)." },
                new Option<string>("--key") { Description = "Its key (PEM)." }, new Option<string>("--listen") { Description = "Where to listen (default https://0.0.0.0:443)." },
                new Option<string>("--public-port") { Description = "The port phones use, if not the listening one." }, Postgres(),
                new Option<string>("--advertise") { Description = "HOST:PORT machines reach this instance at (with --postgres)." }],
            [], HubCommand.RunAsync));
        hub.Subcommands.Add(Verb("add-machine", "Issue a machine's token (printed once).", [Data(), Postgres()],
            [new Argument<string>("name") { Description = "The machine's name (its host name under the hub's domain)." }], HubCommand.RunAsync));
        hub.Subcommands.Add(Verb("remove-machine", "Revoke a machine's token.", [Data(), Postgres()],
            [new Argument<string>("name") { Description = "The machine's name." }], HubCommand.RunAsync));
        hub.Subcommands.Add(Verb("machines", "List the machines.", [Data(), Postgres()], [], HubCommand.RunAsync));
        return hub;
    }

    private static Command Bridge()
    {
        var bridge = new Command("bridge", "Steer from a chat app: Telegram and Slack bots. See docs/bridges.md.");
        var platform = new Argument<string>("platform") { Description = "The chat platform: telegram or slack." };
        platform.AcceptOnlyFromAmong([.. Bridges.BridgesFile.Platforms.Keys]);
        bridge.Subcommands.Add(Verb("add", "Add (or replace) a bridge; its bot token is read from standard input, never from the command line.",
            [Data(), new Option<string>("--name") { Description = "What to call it (default: the platform's name)." },
                new Option<string>("--api-base") { Description = "The platform's API address, if not its public one (a proxy, a test server)." },
                new Option<string>("--token-file") { Description = "Read the token (Slack: the bot token, then the app-level token, one a line) from this file instead of standard input." }],
            [platform], BridgeCommand.RunAsync));
        bridge.Subcommands.Add(Verb("list", "List the bridges (never their tokens).", [Data()], [], BridgeCommand.RunAsync));
        bridge.Subcommands.Add(Verb("remove", "Remove a bridge (its linked people stay devices until revoked).", [Data()],
            [new Argument<string>("name") { Description = "The bridge's name." }], BridgeCommand.RunAsync));
        return bridge;
    }

    /// <summary>A verb; one below a group (<c>hub join</c>) gets its own name as its first positional value.</summary>
    private static Command Verb(string name, string description, IReadOnlyList<Option> options, IReadOnlyList<Argument<string>> arguments, Run run)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        foreach (var argument in arguments)
        {
            command.Arguments.Add(argument);
        }

        command.SetAction(async (result, _) =>
        {
            var configuration = result.InvocationConfiguration;
            IEnumerable<string> prefix = result.CommandResult.Parent is CommandResult { Command: not RootCommand } ? [name] : [];
            var positional = prefix.Concat(arguments.Select(a => result.GetValue(a) ?? "")).ToList();
            return await run(new CliArguments(result, options, positional), configuration.Output, configuration.Error);
        });
        return command;
    }

    private static Option<string> Data() => new("--data") { Description = DataHelp };

    private static Option<string> Url() => new("--url") { Description = UrlHelp };

    private static Option<bool> Json() => new("--json") { Description = "Print JSON instead of text." };

    private static string ServeHelp(string flag) => flag switch
    {
        "listen" => "Where to listen (default http://127.0.0.1:7420); https:// needs --cert/--key or --acme.",
        "public-url" => "The address phones open, if not --listen (a proxy, Tailscale, a LAN name).",
        "cert" => "Certificate (PEM) for an https:// --listen (reloaded when renewed).",
        "key" => "Its private key (PEM).",
        "acme" => "Get the certificate from this ACME directory (TLS-ALPN-01), for the hub name or the https --public-url name.",
        "acme-ca" => "A PEM file to trust for a private ACME server.",
        "suspend-idle-minutes" => "Stop idle agent processes after N minutes (default 15, 0: never).",
        "stall-seconds" => "Report a turn with no word from the agent after N s (default 180, 0: never).",
        "allowed-host" => "Host names to answer to besides loopback and IP literals (comma-separated).",
        "ledger-terminal-text" => "Keep the text typed into terminals in the ledger.",
        "notify-escalate-seconds" => "Notify the looking device too when an approval waits this long (default 30).",
        "push-contact" => "The mailto: or https: contact sent to push services (VAPID).",
        _ => flag,
    };

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var command = parsed.CommandResult; command is not null && command.Command is not RootCommand; command = command.Parent as CommandResult)
        {
            names.Insert(0, command.Command.Name);
        }

        return string.Join(' ', names);
    }

    public static string DataDirectory(CliArguments arguments) =>
        arguments.Value("data") is { } data ? Path.GetFullPath(data) : Server.PocketCoderOptions.DefaultDataDirectory();
}
