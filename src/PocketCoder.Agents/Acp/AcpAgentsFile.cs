using System.Text.Json;
using System.Text.RegularExpressions;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// The owner's own ACP agents, registered in <c>agents.json</c> in the data folder:
/// <code>[{"id":"claude-acp","command":"claude-agent-acp","args":[]}]</code>
/// Optional per entry: <c>name</c>, <c>modelArg</c> (e.g. <c>"--model"</c>), <c>versionArgs</c> (e.g. <c>["--version"]</c>) and
/// <c>state</c>: the folders outside the project the agent writes to (e.g. <c>[".claude"]</c>, relative to home), given from the
/// agent's home of PocketCoder's own when it runs sandboxed (claude-agent-acp gets Claude Code's when it names none); <c>config</c>: what inside them decides what it may do or run
/// (e.g. <c>[".claude/settings.json", ".claude/plugins/"]</c>), read-only there, the owner's own or an empty stand-in;
/// <c>logins</c>: its login files there, copied in from the owner's; <c>read</c>: absolute paths under /tmp it reads (its
/// install), which the sandbox's private /tmp would otherwise hide.
/// Read once at start and checked strictly: a mistake stops the server with a message naming it, rather than
/// leaving an agent silently missing. Only the owner can write the data folder, and commands run without a shell.
/// </summary>
public static partial class AcpAgentsFile
{
    public const string FileName = "agents.json";

    private static readonly HashSet<string> KnownFields = new(StringComparer.Ordinal) { "id", "name", "command", "args", "modelArg", "versionArgs", "state", "config", "logins", "read", "hosts" };

    /// <summary>The registered agents, or none when the file does not exist.</summary>
    /// <param name="environment">Variables the agents see over the server's own (none for a real server, which they inherit).</param>
    /// <exception cref="InvalidDataException">The file is not a valid registration; the message says what to fix.</exception>
    public static IReadOnlyList<AcpAgentDefinition> Load(string dataDirectory, IReadOnlyCollection<string> builtInIds,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            return [];
        }

        JsonElement root;
        try
        {
            root = JsonElement.Parse(File.ReadAllText(path));
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {exception.Message}", exception);
        }

        return Parse(root, path, builtInIds, environment);
    }

    internal static List<AcpAgentDefinition> Parse(JsonElement root, string source, IReadOnlyCollection<string> builtInIds,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(source, "the file must hold a JSON array of agents, e.g. [{\"id\":\"claude-acp\",\"command\":\"claude-agent-acp\",\"args\":[]}]");
        }

        var agents = new List<AcpAgentDefinition>();
        var index = 0;
        foreach (var entry in root.EnumerateArray())
        {
            var where = $"entry {index++}";
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(source, $"{where} is not an object");
            }

            // A misspelt field would otherwise be ignored without a word.
            foreach (var property in entry.EnumerateObject().Where(p => !KnownFields.Contains(p.Name)))
            {
                throw Invalid(source, $"{where} has an unknown field '{property.Name}' (known: {string.Join(", ", KnownFields)})");
            }

            var id = String(entry, "id", source, where, required: true)!;
            if (!IdPattern().IsMatch(id))
            {
                throw Invalid(source, $"{where}: id '{id}' must be 2-40 characters of a-z, 0-9 and '-', starting with a letter");
            }

            if (builtInIds.Contains(id) || agents.Any(a => a.Id == id))
            {
                throw Invalid(source, $"{where}: the agent id '{id}' is already taken");
            }

            agents.Add(Define(entry, id, source, environment ?? new Dictionary<string, string?>()));
        }

        return agents;
    }

    /// <summary>The agent an entry (its fields checked, its id free) registers.</summary>
    private static AcpAgentDefinition Define(JsonElement entry, string id, string source, IReadOnlyDictionary<string, string?> environment)
    {
        var where = $"agent '{id}'";
        var command = String(entry, "command", source, where, required: true)!;
        if (command.Contains('\0', StringComparison.Ordinal) || command.Trim().Length == 0)
        {
            throw Invalid(source, $"{where}: 'command' must name an executable");
        }

        var arguments = Strings(entry, "args", source, where) ?? [];
        var agentCommand = new AgentCommand(command, new Dictionary<string, string?>(environment));
        var runsClaude = IsClaudeAgentAcp(agentCommand, arguments);
        if (runsClaude && agentCommand.Setting(Claude.ClaudeCodeAdapter.NonessentialTraffic) is null)
        {
            // Claude Code's own switch for its update checks, telemetry and error reports (docs/agents-acp.md): from a sandbox
            // each is a connection refused, and a line in the ledger and the session's timeline, at every start. A value the
            // owner set (in the server's environment) stands.
            agentCommand = agentCommand with
            {
                Environment = new Dictionary<string, string?>(environment) { [Claude.ClaudeCodeAdapter.NonessentialTraffic] = "1" },
            };
        }

        var state = Strings(entry, "state", source, where);
        // Read-only in its sandbox: a folder (ending in /) stands empty where the owner has none, a JSON file as {}, others empty.
        var config = Strings(entry, "config", source, where)?.Select(path => new AgentConfig(path.TrimEnd('/'),
            path.EndsWith('/') ? Placeholder.Folder : path.EndsWith(".json", StringComparison.Ordinal) ? Placeholder.JsonObject : Placeholder.Empty));
        var logins = Strings(entry, "logins", source, where);
        // claude-agent-acp runs Claude Code, whose places PocketCoder knows: its conversations must be in its sandbox's state or it
        // cannot load one again ("Resource not found"), and its settings, hooks and plugins must not be its own to widen.
        var claude = runsClaude
            ? Claude.ClaudeCodeAdapter.StateIn(state?.FirstOrDefault() is { } folder
                ? Path.Combine(agentCommand.Home, folder)
                : Claude.ClaudeCodeAdapter.ConfigFolder(agentCommand))
            : null;
        return new AcpAgentDefinition(
            id,
            String(entry, "name", source, where, required: false) ?? id,
            agentCommand,
            arguments,
            String(entry, "modelArg", source, where, required: false),
            DefaultModel: null,
            Strings(entry, "versionArgs", source, where),
            MissingFileReadsEmpty: false,
            $"Check the command of '{id}' in {source}.")
        {
            StateFolders = state ?? claude?.Folders ?? [],
            Config = [.. config ?? claude?.Config ?? []],
            Logins = logins ?? claude?.Logins ?? [],
            SandboxedEnvironment = claude is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["CLAUDE_CONFIG_DIR"] = claude.Folders[0] },
            ReadPaths = Strings(entry, "read", source, where) ?? [],
            ModelEndpoints = claude is null ? null : agent => Processes.Network.ModelHosts.Claude(agent.Setting, claude.Folders[0]),
            // Its keys as Claude Code's: placeholders inside, the real ones put in by the model endpoint (docs/agents.md). A key in its
            // environment logs it in: the owner's subscription login (a refresh token) then stays out, as for Claude Code.
            HoldSecrets = claude is null ? null
                : (agent, environment, state) => state with { Forwards = Claude.ClaudeCodeAdapter.HoldKeys(agent, claude.Folders[0], environment) },
            NeedsLogins = claude is null || logins is not null ? _ => true : agent => !Claude.ClaudeCodeAdapter.KeyedByEnvironment(agent),
            Hosts = Hosts(Strings(entry, "hosts", source, where), source, where),
            // claude-agent-acp 0.101 replays the history, awaited, before it answers session/load.
            ReplaysAfterLoad = claude is null,
        };
    }

    /// <summary>
    /// claude-agent-acp (or claude-code-acp, its former name), known by its command, the file that resolves to, or an argument
    /// (<c>npx @agentclientprotocol/claude-agent-acp</c>, <c>node …/claude-agent-acp/dist/index.js</c>).
    /// </summary>
    internal static bool IsClaudeAgentAcp(AgentCommand command, IEnumerable<string> arguments) =>
        new[] { command.Command, command.Resolve() is { } found ? FileSystem.RealPath.Resolve(found) : null }.Concat(arguments).OfType<string>()
            .Any(part => part.Contains("claude-agent-acp", StringComparison.Ordinal) || part.Contains("claude-code-acp", StringComparison.Ordinal));

    private static string? String(JsonElement entry, string field, string source, string where, bool required)
    {
        if (!entry.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw Invalid(source, $"{where} has no '{field}'") : null;
        }

        return value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw Invalid(source, $"{where}: '{field}' must be a non-empty string");
    }

    private static List<string>? Strings(JsonElement entry, string field, string source, string where)
    {
        if (!entry.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
        {
            throw Invalid(source, $"{where}: '{field}' must be an array of strings");
        }

        return [.. value.EnumerateArray().Select(a => a.GetString()!)];
    }

    /// <summary>
    /// <c>hosts</c>: where the agent's model is when its own configuration does not say (a launcher that sets a base URL), each
    /// <c>host:port</c> or a URL; a sandbox reaches them without asking.
    /// </summary>
    private static IReadOnlyList<Processes.Network.NetworkEndpoint> Hosts(List<string>? hosts, string source, string where) =>
    [
        .. (hosts ?? []).Select(host => Processes.Network.NetworkEndpoint.FromUrl(host) ?? Processes.Network.NetworkEndpoint.Parse(host)
            ?? throw Invalid(source, $"{where}: '{host}' in 'hosts' is neither host:port nor an http(s) URL")),
    ];

    private static InvalidDataException Invalid(string source, string problem) => new($"{source}: {problem}.");

    [GeneratedRegex("^[a-z][a-z0-9-]{1,39}$")]
    private static partial Regex IdPattern();
}
