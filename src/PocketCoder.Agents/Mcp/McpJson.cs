using System.Text.Json;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Mcp;

/// <summary>
/// Reads the <c>mcpServers</c> object of Claude Code's files (a repository's <c>.mcp.json</c>, the owner's
/// <c>~/.claude.json</c>), the format most tools and repositories declare their servers in. Values are taken as written;
/// one holding <c>${</c> is unusable (<see cref="McpServer.Problem"/>): agents would expand it from their own variables.
/// </summary>
public static class McpJson
{
    /// <summary>What a file's <c>mcpServers</c> declares; an entry that cannot be used is returned with the reason instead.</summary>
    public static IReadOnlyList<(string Name, McpServer? Server, string? Problem)> Read(JsonElement mcpServers)
    {
        var found = new List<(string, McpServer?, string?)>();
        if (mcpServers.ValueKind != JsonValueKind.Object)
        {
            return found;
        }

        foreach (var entry in mcpServers.EnumerateObject())
        {
            var server = Server(entry.Name, entry.Value);
            found.Add(server is { Problem: null } ? (entry.Name, server, null) : (entry.Name, null, server?.Problem ?? Problem(entry.Name, entry.Value)));
        }

        return found;
    }

    /// <summary>A file's servers, or nothing where it is missing or not JSON (the reason, for the owner, in <paramref name="problem"/>).</summary>
    /// <param name="select">Its <c>mcpServers</c> objects (a file may hold several: <c>~/.claude.json</c>'s user and project scopes).</param>
    /// <param name="maxBytes">Larger, it is not read (a repository's is small; the owner's <c>~/.claude.json</c> grows with its history).</param>
    public static IReadOnlyList<(string Name, McpServer? Server, string? Problem)> ReadFile(string path, Func<JsonElement, IEnumerable<JsonElement?>> select,
        out string? problem, long maxBytes = 4 * 1024 * 1024)
    {
        problem = null;
        try
        {
            // Only a regular file (through links, for the owner's own): a FIFO would hold the reader until someone writes.
            var real = FileSystem.RealPath.Resolve(path) ?? path;
            if (FileSystem.UnixFiles.Stat(real) is not { IsRegularFile: true })
            {
                return [];
            }

            if (new FileInfo(real).Length > maxBytes)
            {
                problem = $"{path} is larger than {maxBytes / (1024 * 1024)} MB: it is not read.";
                return [];
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(real), new JsonDocumentOptions
            {
                AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip,
            });
            return [.. select(document.RootElement).OfType<JsonElement>().SelectMany(Read)];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
        {
            problem = $"{path} could not be read: {exception.Message}";
            return [];
        }
    }

    /// <summary>The value of <paramref name="name"/> when <paramref name="element"/> is an object that has it.</summary>
    public static JsonElement? Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : null;

    private static McpServer? Server(string name, JsonElement value)
    {
        if (!McpServer.IsName(name) || value.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var type = Text(value, "type");
        var command = Text(value, "command");
        var url = Text(value, "url");
        if (command is { Length: > 0 } && type is null or "stdio" && Strings(value, "args") is { Count: <= MaxArguments } args && Pairs(value, "env") is { } env)
        {
            return new McpServer(name, command, args, env, null, new Dictionary<string, string>());
        }

        if (url is { Length: > 0 } && type is null or "http" && IsHttp(url) && Pairs(value, "headers") is { } headers)
        {
            return new McpServer(name, null, [], new Dictionary<string, string>(), url, headers);
        }

        return null;
    }

    /// <summary>As many as the API takes: more would only make the fingerprint (which reads the files they name) slow.</summary>
    public const int MaxArguments = 100;

    private static string Problem(string name, JsonElement value) =>
        !McpServer.IsName(name) ? $"Its name is not {McpServer.NameRule}."
        : Property(value, "args") is { ValueKind: JsonValueKind.Array } many && many.GetArrayLength() > MaxArguments ? $"It has more than {MaxArguments} arguments."
        : Text(value, "type") is "sse" ? "It uses the SSE transport, which PocketCoder does not pass on: only stdio and streamable HTTP."
        : "It is neither a command (with string args and env) nor an http(s) URL (with string headers).";

    /// <summary>An absolute http or https URL.</summary>
    public static bool IsHttp(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.UserInfo);

    private static IReadOnlyList<string>? Strings(JsonElement value, string name)
    {
        if (Property(value, name) is not { } array)
        {
            return [];
        }

        return array.ValueKind == JsonValueKind.Array && array.EnumerateArray().All(a => a.ValueKind == JsonValueKind.String)
            ? array.EnumerateArray().Select(a => a.GetString()!).ToList()
            : null;
    }

    private static IReadOnlyDictionary<string, string>? Pairs(JsonElement value, string name)
    {
        if (Property(value, name) is not { } pairs)
        {
            return new Dictionary<string, string>();
        }

        return pairs.ValueKind == JsonValueKind.Object && pairs.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.String && McpServer.IsKey(p.Name))
            ? pairs.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
            : null;
    }
}
