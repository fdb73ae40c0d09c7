using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PocketCoder.Agents.Mcp;

/// <summary>
/// An MCP server given to an agent: a program it starts (<see cref="Command"/> and <see cref="Args"/>, speaking stdio) or
/// one it reaches at <see cref="Url"/> (streamable HTTP). <see cref="Env"/> and <see cref="Headers"/> may hold secrets:
/// each agent's format keeps them out of its command line (see <see cref="McpFormats"/>).
/// </summary>
public sealed partial record McpServer(string Name, string? Command, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Env,
    string? Url, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>
    /// What a name may be: agents call its tools <c>mcp__NAME__TOOL</c> and Codex takes it as a bare TOML key, so letters,
    /// digits, <c>-</c> and <c>_</c>, never two <c>_</c> in a row (the separator), nor one at either end: <c>probe_</c> would
    /// make <c>mcp__probe___tool</c>, which reads as server <c>probe</c>, and borrow its rules.
    /// </summary>
    public const string NameRule = "1 to 64 letters, digits, '-' and '_' (never '__', nor '_' first or last)";

    /// <summary><see cref="NameRule"/> as a pattern (the API's validation uses it too).</summary>
    public const string NamePatternText = @"^(?!_)(?!.*__)(?!.*_\z)[A-Za-z0-9_-]{1,64}\z";

    public static bool IsName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>What may name a variable or a header: letters, digits, <c>_</c> and <c>-</c>, not starting with a digit.</summary>
    public static bool IsKey(string? key) => key is not null && KeyPattern().IsMatch(key);

    public bool IsStdio => Command is not null;

    /// <summary>Are its values public (a repository's: anyone can read them there), so that they may go on a command line?</summary>
    public bool ValuesArePublic { get; init; }

    /// <summary>
    /// Why it cannot be passed on, or null. Claude Code (and claude-agent-acp, which hands the servers to it) expands
    /// <c>${VAR}</c> in every string of a server (command, args, env, URL, headers) from its own environment: a definition
    /// holding one would hand the server whichever of the agent's variables (an API key) it names, which is not what the
    /// owner sees when they enable it.
    /// </summary>
    public string? Problem => new[] { Command, Url }.Concat(Args).Concat(Env.Values).Concat(Headers.Values)
        .Any(text => text is not null && Substituted.Any(marker => text.Contains(marker, StringComparison.Ordinal)))
        ? "It holds \"${\", \"{env:\" or \"{file:\" (in its command, arguments, variables, URL or headers), which an agent would replace " +
          "with one of its own variables or files: PocketCoder does not pass it on."
        : null;

    // Claude Code expands ${VAR}; OpenCode substitutes {env:VAR} and {file:PATH} anywhere in its config.
    private static readonly string[] Substituted = ["${", "{env:", "{file:"];

    /// <summary>
    /// What an owner approves of a server declared in a file: its whole definition, values included, and the content of
    /// every file its command and arguments name (a script beside the <c>.mcp.json</c>: rewritten, it is another server), so
    /// that any change needs their approval again. Keyed (HMAC) with this install's key: it shows nothing of a hidden value,
    /// not even whether a guess is right.
    /// </summary>
    /// <param name="workingDirectory">Where the agent starts the server: relative paths are its.</param>
    public string Fingerprint(byte[] key, string workingDirectory)
    {
        var canonical = new JsonObject
        {
            ["command"] = Command,
            ["args"] = new JsonArray(Args.Select(a => (JsonNode?)a).ToArray()),
            ["env"] = Sorted(Env),
            ["url"] = Url,
            ["headers"] = Sorted(Headers),
            ["files"] = new JsonArray(new[] { Command }.Concat(Args).OfType<string>().Select(path => (JsonNode?)FileDigest(path, workingDirectory)).ToArray()),
        };
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical.ToJsonString())));
    }

    private const long MaxDigestedFile = 16L * 1024 * 1024;

    // A file's digest by where it is, its size, its inode and its ctime (which no one can set back, as touch can the
    // modification time): a listing or a start reads each file once until it changes.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, long Length, (ulong, long, uint) Changed), string> Digests = new();

    /// <summary>The SHA-256 of the regular file an argument names (absolute, or from the working directory), else null.</summary>
    private static string? FileDigest(string argument, string workingDirectory)
    {
        if (argument.Length == 0 || argument.Contains('\0', StringComparison.Ordinal) || !(argument.Contains('/') || argument.Contains('.')))
        {
            return null;
        }

        try
        {
            var path = Path.GetFullPath(argument, workingDirectory);
            // Followed through links, as the agent would; only a regular file is read (a FIFO would wait for ever).
            var real = FileSystem.RealPath.Resolve(path) ?? path;
            if (FileSystem.UnixFiles.Stat(real) is not { IsRegularFile: true } regular)
            {
                return null;
            }

            var length = new FileInfo(real).Length;
            if (length > MaxDigestedFile)
            {
                // Too large to read at every listing: its inode and status-change time stand for it (any write moves the
                // time, and nothing sets it back), which errs towards asking again.
                return $"large:{length}:{regular.Changed}";
            }

            if (Digests.Count > 10_000)
            {
                Digests.Clear();
            }

            return Digests.GetOrAdd((real, length, regular.Changed), _ =>
            {
                using var stream = File.OpenRead(real);
                return Convert.ToHexStringLower(SHA256.HashData(stream));
            });
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return "unreadable";
        }
    }

    /// <summary>Files the server's command names by absolute path (its program, a script): they must be in sight of a sandboxed agent.</summary>
    public IEnumerable<string> Files =>
        new[] { Command }.Concat(Args).OfType<string>().Where(path => Path.IsPathFullyQualified(path) && File.Exists(path));

    private static JsonObject Sorted(IReadOnlyDictionary<string, string> values) =>
        new(values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value)));

    [GeneratedRegex(NamePatternText)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_-]{0,127}\z")]
    private static partial Regex KeyPattern();
}

/// <summary>
/// The MCP servers a session's agent gets: <see cref="Servers"/> to add, and <see cref="Disabled"/>, the names of servers
/// of the agent's own config the owner turned off (only Codex loads any of its own; see docs/agents.md).
/// </summary>
public sealed record AgentMcp(IReadOnlyList<McpServer> Servers, IReadOnlyList<string> Disabled)
{
    public static readonly AgentMcp None = new([], []);
}

/// <summary>An MCP server as an agent's own config declares it, for the owner to see (and turn off where the agent allows).</summary>
/// <param name="Definition">What it runs, where the file says so; null where only its name is read (Codex's TOML).</param>
/// <param name="Source">The file it is declared in.</param>
/// <param name="Problem">Why it cannot be passed on (a transport PocketCoder does not pass, a <c>${VAR}</c>), or null.</param>
public sealed record OwnMcpServer(string Name, McpServer? Definition, string Source, string? Problem = null);

/// <summary>An agent whose own config declares MCP servers PocketCoder can list (and pass on or turn off).</summary>
public interface IAgentMcpConfig
{
    /// <summary>The servers its config declares for a project, in the order found.</summary>
    IReadOnlyList<OwnMcpServer> OwnMcpServers(string projectPath);

    /// <summary>
    /// Does the agent load them itself (Codex: they can only be turned off), or never (Claude Code under
    /// <c>--strict-mcp-config</c>: one the owner enables is passed like any other)?
    /// </summary>
    bool LoadsOwnMcpServers { get; }
}
