using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;
using System.Text.Json;

namespace PocketCoder.Cli;

/// <summary>A mistake in how the command was called: printed with the usage, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);

/// <summary>
/// One verb of the <c>pocketcoder</c> executable, as git-credential-manager writes them: its options and arguments are
/// typed fields, declared once (help, completion and usage errors come from them), and it runs itself.
/// </summary>
internal abstract class Verb : Command
{
    /// <param name="data">It takes --data (every verb but completion and version).</param>
    protected Verb(string name, string description, bool data = true) : base(name, description)
    {
        if (data)
        {
            Add(Data);
        }

        SetAction((parsed, _) => RunAsync(parsed, parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
    }

    private Option<string> Data { get; } = new("--data") { Description = "The data folder (else $POCKETCODER_DATA, else $XDG_DATA_HOME/pocketcoder)." };

    protected abstract Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error);

    /// <summary>Declares the verb's own options and arguments, in the order help lists them.</summary>
    protected void Declare(params ReadOnlySpan<Symbol> symbols)
    {
        foreach (var symbol in symbols)
        {
            if (symbol is Option option)
            {
                Options.Add(option);
            }
            else
            {
                Arguments.Add((Argument)symbol);
            }
        }
    }

    /// <summary>The --data value as given (serve's hint repeats it), null when not given.</summary>
    protected string? GivenData(ParseResult parsed) => parsed.GetValue(Data);

    protected string DataDirectory(ParseResult parsed) =>
        GivenData(parsed) is { } data ? Path.GetFullPath(data) : Server.PocketCoderOptions.DefaultDataDirectory();

    protected static Option<bool> Json() => new("--json") { Description = "Print JSON instead of text." };

    /// <summary>An option that takes a value, shown in help as <paramref name="helpName"/>.</summary>
    protected static Option<string> Named(string name, string helpName, string description) => new(name) { Description = description, HelpName = helpName };

    /// <summary>What <paramref name="read"/> returns; a file or setting it finds unusable (<see cref="InvalidDataException"/>) is a usage mistake.</summary>
    internal static T Usable<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException exception)
        {
            throw new CliException(exception.Message);
        }
    }

    /// <summary>The file an option names; one that cannot be read is a usage mistake, said as <c>OPTION: why</c>.</summary>
    protected static async Task<string> ReadGivenAsync(string option, string path)
    {
        try
        {
            return await File.ReadAllTextAsync(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option}: {exception.Message}");
        }
    }

    /// <summary>A string property of the agent's own JSON (a tool's input), which no record of the server's describes; null when absent.</summary>
    protected static string? StringIn(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A secret typed unseen after its prompt, or the next line of standard input when that is not a terminal; null at its end.</summary>
    protected static string? ReadSecret(TextWriter output, string prompt)
    {
        if (Console.IsInputRedirected)
        {
            return Console.In.ReadLine();
        }

        output.Write($"{prompt} (not shown): ");
        var typed = ReadHidden();
        output.WriteLine();
        return typed;
    }

    /// <summary>A line typed without echo at a terminal (read as it comes when input is a pipe); null at end of input.</summary>
    protected static string? ReadHidden()
    {
        if (Console.IsInputRedirected)
        {
            return Console.In.ReadLine();
        }

        var typed = new StringBuilder();
        while (Console.ReadKey(intercept: true) is var key && key.Key != ConsoleKey.Enter)
        {
            if (key.Key == ConsoleKey.Backspace && typed.Length > 0)
            {
                typed.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }

        return typed.ToString();
    }
}

/// <summary>Verbs under one name (<c>hub join</c>, <c>service install</c>): the group only lists them.</summary>
internal abstract class VerbGroup : Command
{
    protected VerbGroup(string name, string description, params ReadOnlySpan<Verb> verbs) : base(name, description)
    {
        foreach (var verb in verbs)
        {
            Subcommands.Add(verb);
        }
    }
}

/// <summary>A verb that asks the running server, as a device of its own (see <see cref="ServerClient"/>).</summary>
internal abstract class ServerVerb : Verb
{
    protected ServerVerb(string name, string description) : base(name, description) => Add(Url);

    private Option<string> Url { get; } = new("--url") { Description = "The running server (else $POCKETCODER_URL, else http://127.0.0.1:7420)." };

    protected HttpClient Connect(ParseResult parsed) => ServerClient.Create(parsed.GetValue(Url), DataDirectory(parsed));

    /// <summary><see cref="Connect"/> as a new terminal device (<see cref="ServerClient.CreateAfresh"/>).</summary>
    protected HttpClient ConnectAfresh(ParseResult parsed) => ServerClient.CreateAfresh(parsed.GetValue(Url), DataDirectory(parsed));
}

/// <summary>The <c>pocketcoder</c> executable: its verbs, one class each, and how a mistake in calling them is said.</summary>
public static class CommandLine
{
    private const string Epilog = """
        serve also reads pocketcoder.json in the data folder and POCKETCODER_* variables (LISTEN, PUBLIC_URL, CERT, KEY, ACME,
        ACME_CA, STALL_SECONDS, SUSPEND_IDLE_MINUTES, ALLOWED_HOSTS, GEMINI_MODEL, CLAUDE_PATH, ...); flags win over variables,
        variables over the file. A value that is not valid stops it, naming the problem (exit 2); so does, in one line with
        the fix (exit 1), a port in use, a data folder it cannot write or certificate files that cannot serve.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        // No @response files: "@bob fix this" is a message, and --message @file must not send a file's contents.
        var parsed = Root().Parse(args.Length == 0 ? ["--help"] : args, new ParserConfiguration { ResponseFileTokenReplacer = null });
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

    /// <summary>Every verb, in the order help lists them.</summary>
    internal static RootCommand Root() => new($"PocketCoder {Health.HealthApi.Version}: run coding agents on this machine and steer them from a phone.\n\n{Epilog}")
    {
        new ServeCommand(), new PairCommand(), new LedgerCommand(), new ApprovalsCommand(), new ApproveCommand(), new DenyCommand(),
        new QuestionCommand(), new StatusCommand(), new LockdownCommand(), new DoctorCommand(), new SessionsCommand(), new SendCommand(), new GoalCommand(), new WatchCommand(),
        new HandoffCommand(), new ServiceCommand(), new HubCommand(), new BridgeCommand(), new CompletionCommand(), new VersionCommand(),
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
}

/// <summary><c>pocketcoder version</c>.</summary>
internal sealed class VersionCommand() : Verb("version", "Print the version.", data: false)
{
    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        await output.WriteLineAsync($"pocketcoder {Health.HealthApi.Version}");
        return 0;
    }
}
