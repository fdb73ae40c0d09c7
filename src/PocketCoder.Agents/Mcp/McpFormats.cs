using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Agents.Mcp;

/// <summary>
/// The enabled MCP servers in each agent's own format. A command line is readable by every user of the machine
/// (<c>/proc/PID/cmdline</c>), an environment only by its owner: so a variable's or a header's value never goes on the
/// command line. It goes into the agent's environment under a name of ours, and the config only names that variable.
/// </summary>
public static class McpFormats
{
    /// <summary>The prefix of the variables that carry servers' secrets to the agent.</summary>
    public const string SecretPrefix = "POCKETCODER_MCP_";

    // TOML takes a JSON string or array of strings as its own, provided non-ASCII text stays as it is (a \u escape of a
    // surrogate pair is valid JSON, not valid TOML).
    private static PlainJson TomlStrings => PlainJson.Readable;

    /// <summary>
    /// Claude Code's <c>--mcp-config</c> JSON (its <c>.mcp.json</c> format) and the variables it needs: Claude expands
    /// <c>${NAME}</c> in a server's env and headers.
    /// </summary>
    public static (string Json, IReadOnlyDictionary<string, string> Environment) Claude(IReadOnlyList<McpServer> servers)
    {
        var (referenced, environment) = ByReference(servers, _ => true);
        var entries = new JsonObject();
        foreach (var server in referenced)
        {
            entries[server.Name] = server.IsStdio
                ? new JsonObject
                {
                    ["type"] = "stdio",
                    ["command"] = server.Command,
                    ["args"] = new JsonArray(server.Args.Select(a => (JsonNode?)a).ToArray()),
                    ["env"] = ToJson(server.Env),
                }
                : new JsonObject { ["type"] = "http", ["url"] = server.Url, ["headers"] = ToJson(server.Headers) };
        }

        return (new JsonObject { ["mcpServers"] = entries }.ToJsonString(), environment);
    }

    /// <summary>
    /// The servers with the values of those <paramref name="which"/> picks replaced by references to variables
    /// <c>POCKETCODER_MCP_i_Ej</c> (<c>${NAME}</c> unless <paramref name="reference"/> says how the agent names one), and
    /// those values (as <paramref name="stored"/> makes them) as variables for the agent's environment. (A server holding
    /// <c>${</c> or the like of its own is never passed on: <see cref="McpServer.Problem"/>.)
    /// </summary>
    public static (IReadOnlyList<McpServer> Servers, IReadOnlyDictionary<string, string> Environment) ByReference(IReadOnlyList<McpServer> servers,
        Func<McpServer, bool> which, Func<string, string>? reference = null, Func<string, string>? stored = null)
    {
        reference ??= variable => $"${{{variable}}}";
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var referenced = servers.Select((server, i) =>
        {
            if (!which(server))
            {
                return server;
            }

            Dictionary<string, string> Refer(IReadOnlyDictionary<string, string> values, string kind) => values.Select((pair, j) =>
            {
                var variable = $"{SecretPrefix}{i}_{kind}{j}";
                environment[variable] = stored is null ? pair.Value : stored(pair.Value);
                return KeyValuePair.Create(pair.Key, reference(variable));
            }).ToDictionary(StringComparer.Ordinal);

            return server with { Env = Refer(server.Env, "E"), Headers = Refer(server.Headers, "H") };
        }).ToList();
        return (referenced, environment);
    }

    private static JsonObject ToJson(IReadOnlyDictionary<string, string> values) =>
        new(values.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)pair.Value)));

    /// <summary>
    /// Codex's <c>-c</c> overrides and the variables they need. A repository's values are public, and go as they are
    /// (<c>env={…}</c>). A secret cannot: Codex passes a stdio server the variables named in its <c>env_vars</c> from its
    /// own environment, under the same names. So a secret variable goes into Codex's environment, which is why one that
    /// Codex (or what it runs) reads, or already has with another value, is refused (<see cref="ReachesTheAgent"/>), and
    /// two servers cannot give one variable two values. A header's value is named by <c>env_http_headers</c>. Every server's tools ask first
    /// (<c>prompt</c>), as the owner's own do (<see cref="Agents.Codex.CodexMcpApprovals"/>); the owner's servers they
    /// turned off get <c>enabled=false</c>.
    /// </summary>
    /// <param name="own">The servers of Codex's own config.toml: none of ours may take one's name (its settings would merge).</param>
    /// <param name="current">A variable's value in Codex's environment, if it has it (the same value may be passed on as it is).</param>
    /// <exception cref="AgentUnavailableException">A variable that would change Codex itself, one given two values, a name taken.</exception>
    public static (IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment) Codex(AgentMcp mcp, IReadOnlyCollection<string> own,
        Func<string, string?> current)
    {
        var arguments = new List<string>();
        // A header's value goes by reference; Codex takes the variable's bare name (env_http_headers).
        var (servers, headerVariables) = ByReference(mcp.Servers, server => !server.IsStdio, variable => variable);
        var environment = new Dictionary<string, string>(headerVariables, StringComparer.Ordinal);
        void Set(string key, string tomlValue) => arguments.AddRange(["-c", $"{key}={tomlValue}"]);

        foreach (var server in servers)
        {
            if (own.Contains(server.Name))
            {
                throw new AgentUnavailableException(Agents.Codex.CodexAdapter.AgentId,
                    $"The MCP server \"{server.Name}\" is both in Codex's config.toml and enabled in PocketCoder: turn one off, or rename one.");
            }

            var table = $"mcp_servers.{server.Name}";
            if (server.IsStdio)
            {
                Set($"{table}.command", Toml(server.Command!));
                Set($"{table}.args", JsonSerializer.Serialize(server.Args, TomlStrings.IReadOnlyListString));
                if (server.ValuesArePublic)
                {
                    Set($"{table}.env", TomlTable(server.Env));
                }
                else
                {
                    PassByName(server, environment, current);
                    Set($"{table}.env_vars", JsonSerializer.Serialize(server.Env.Keys, TomlStrings.IEnumerableString));
                }
            }
            else
            {
                Set($"{table}.url", Toml(server.Url!));
                Set($"{table}.env_http_headers", TomlTable(server.Headers));
            }

            // A node or npx server can take more than Codex's default 10 s to start on a busy machine; its tools would be missing.
            Set($"{table}.startup_timeout_sec", "60");
            Set($"{table}.default_tools_approval_mode", Toml("prompt"));
        }

        foreach (var name in mcp.Disabled.Where(own.Contains))
        {
            Set($"mcp_servers.{name}.enabled", "false");
        }

        return (arguments, environment);
    }

    /// <summary>A server's secret variables into Codex's environment, where Codex finds them by name.</summary>
    private static void PassByName(McpServer server, Dictionary<string, string> environment, Func<string, string?> current)
    {
        foreach (var (name, value) in server.Env)
        {
            if (ReachesTheAgent(name) || current(name) is { } already && already != value)
            {
                throw new AgentUnavailableException(Agents.Codex.CodexAdapter.AgentId,
                    $"The MCP server \"{server.Name}\" sets {name}, which Codex would take for itself: Codex passes a server its " +
                    "secret variables from its own environment. Give that server another variable, or turn it off for Codex sessions.");
            }

            if (environment.TryGetValue(name, out var taken) && taken != value)
            {
                throw new AgentUnavailableException(Agents.Codex.CodexAdapter.AgentId,
                    $"Two enabled MCP servers set {name} to different values, and Codex passes a server its variables by name: " +
                    "turn one of them off for Codex sessions.");
            }

            environment[name] = value;
        }
    }

    /// <summary>
    /// OpenCode's config (<c>OPENCODE_CONFIG_CONTENT</c>, merged over the owner's): an <c>mcp</c> entry per server, a local
    /// one's command and arguments as one list. Every value goes as <c>{env:POCKETCODER_MCP_i_Ej}</c>, which OpenCode
    /// replaces in the config's TEXT, before it parses it, with the variable's content as it is. So the variable holds the
    /// value as the inside of a JSON string (quotes and backslashes escaped), and its braces escaped too (<c>\u007b</c>):
    /// a value must never close its string and write config of its own (a repository's header did, an attacker review
    /// found), nor make a <c>{file:…}</c> for the next substitution.
    /// </summary>
    public static (string Config, IReadOnlyDictionary<string, string> Environment) OpenCode(IReadOnlyList<McpServer> servers)
    {
        var (referenced, environment) = ByReference(servers, _ => true, variable => $"{{env:{variable}}}", InsideAJsonString);
        var entries = new JsonObject();
        foreach (var server in referenced)
        {
            entries[server.Name] = server.IsStdio
                ? new JsonObject
                {
                    ["type"] = "local",
                    ["command"] = new JsonArray(new[] { server.Command! }.Concat(server.Args).Select(a => (JsonNode?)a).ToArray()),
                    ["environment"] = ToJson(server.Env),
                    ["enabled"] = true,
                }
                : new JsonObject { ["type"] = "remote", ["url"] = server.Url, ["headers"] = ToJson(server.Headers), ["enabled"] = true };
        }

        return (new JsonObject { ["mcp"] = entries }.ToJsonString(), environment);
    }

    /// <summary>
    /// ACP's <c>mcpServers</c> of <c>session/new</c>, over the agent's stdin. What the agent does with them is its own:
    /// claude-agent-acp puts them on Claude's command line (<c>--mcp-config</c>). So the adapter first makes secrets
    /// references (<see cref="ByReference"/>, which Claude expands); a repository's public values go as they are.
    /// </summary>
    /// <param name="takesHttp">Did the agent say (<c>mcpCapabilities.http</c>) it can reach a server by URL? Else only stdio ones go.</param>
    public static JsonArray Acp(IReadOnlyList<McpServer> servers, bool takesHttp)
    {
        static JsonArray Pairs(IReadOnlyDictionary<string, string> values) =>
            new(values.Select(pair => (JsonNode?)new JsonObject { ["name"] = pair.Key, ["value"] = pair.Value }).ToArray());

        return new JsonArray(servers.Where(s => s.IsStdio || takesHttp).Select(server => (JsonNode?)(server.IsStdio
            ? new JsonObject
            {
                ["name"] = server.Name,
                ["command"] = server.Command,
                ["args"] = new JsonArray(server.Args.Select(a => (JsonNode?)a).ToArray()),
                ["env"] = Pairs(server.Env),
            }
            : new JsonObject { ["type"] = "http", ["name"] = server.Name, ["url"] = server.Url, ["headers"] = Pairs(server.Headers) })).ToArray());
    }

    private static string Toml(string value) => JsonSerializer.Serialize(value, TomlStrings.String);

    /// <summary>An inline TOML table of strings: <c>{"KEY"="value",…}</c>.</summary>
    private static string TomlTable(IReadOnlyDictionary<string, string> values) =>
        $"{{{string.Join(",", values.Select(pair => $"{Toml(pair.Key)}={Toml(pair.Value)}"))}}}";

    /// <summary>A value as the inside of a JSON string literal, with no brace left as it is (see <see cref="OpenCode"/>).</summary>
    internal static string InsideAJsonString(string value) =>
        JsonSerializer.Serialize(value, PlainJson.Default.String)[1..^1].Replace("{", "\\u007b", StringComparison.Ordinal).Replace("}", "\\u007d", StringComparison.Ordinal);

    /// <summary>
    /// A variable that changes how a program runs (what it loads, where it looks, which shell), whoever sets it: in Codex's
    /// environment it would change Codex and every command it runs, not only the server it was meant for.
    /// </summary>
    private static bool ReachesTheAgent(string name) =>
        name is "PATH" or "HOME" or "SHELL" or "USER" or "LOGNAME" or "TMPDIR" or "PWD" or "IFS" or "ENV" or "BASH_ENV" or "NODE_OPTIONS"
            or "NODE_PATH" or "PYTHONPATH" or "PYTHONSTARTUP" or "PYTHONHOME" or "PERL5OPT" or "PERL5LIB" or "RUBYOPT" or "RUBYLIB"
            or "GIT_DIR" or "GIT_CONFIG" or "GIT_SSH" or "GIT_SSH_COMMAND" or "SSL_CERT_FILE" or "HTTPS_PROXY" or "HTTP_PROXY" or "ALL_PROXY"
        || name.StartsWith("LD_", StringComparison.Ordinal) || name.StartsWith("DYLD_", StringComparison.Ordinal)
        || name.StartsWith("CODEX_", StringComparison.Ordinal) || name.StartsWith("OPENAI_", StringComparison.Ordinal)
        || name.StartsWith("XDG_", StringComparison.Ordinal) || name.StartsWith("GIT_CONFIG", StringComparison.Ordinal)
        || name.StartsWith("RUST_", StringComparison.Ordinal) || name.StartsWith(SecretPrefix, StringComparison.Ordinal)
        || !name.Equals(name.ToUpperInvariant(), StringComparison.Ordinal) && ReachesTheAgent(name.ToUpperInvariant());
}
