using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using PocketCoder.Data;

namespace PocketCoder.Bridges;

/// <summary>One chat bridge the owner configured: which platform, its bot's secret, and where its API is.</summary>
/// <param name="Id">The owner's name for it (<c>telegram</c>, <c>team-slack</c>): devices and bound chats refer to it.</param>
/// <param name="Secret">The bot token; never logged, never sent back by the API.</param>
/// <param name="ApiBase">The platform's API address; configurable so tests (and proxies) can stand in for the real one.</param>
/// <param name="AppSecret">A second secret where the platform has one: Slack's app-level token (<c>xapp-</c>), which opens the socket.</param>
/// <param name="AppId">The app's id where the platform pairs it with the secret: Feishu's App ID (<c>cli_…</c>).</param>
public sealed record BridgeDefinition(string Id, string Platform, string Secret, Uri ApiBase, string? AppSecret = null, string? AppId = null);

/// <summary>
/// <c>bridges.json</c> in the data folder: the bridges and their secrets, 0600, written by <c>pocketcoder bridge add</c>
/// and read by the server (which picks up a change while it runs). Secrets stay out of the database, so a copy of the
/// database made for support carries none.
/// </summary>
public static partial class BridgesFile
{
    public const string FileName = "bridges.json";

    /// <summary>Platforms a bridge can be made for, with the API address each uses unless told otherwise.</summary>
    public static readonly IReadOnlyDictionary<string, Uri> Platforms = new Dictionary<string, Uri>(StringComparer.Ordinal)
    {
        [TelegramPlatformName] = new("https://api.telegram.org/"),
        [SlackPlatformName] = new("https://slack.com/api/"),
        // Lark, Feishu's international edition, is the same API at https://open.larksuite.com/ (--api-base).
        [FeishuPlatformName] = new("https://open.feishu.cn/"),
    };

    public const string TelegramPlatformName = "telegram";
    public const string SlackPlatformName = "slack";
    public const string FeishuPlatformName = "feishu";

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$")]
    private static partial Regex IdPattern();

    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>The configured bridges; none when the file does not exist. A broken file says where, as InvalidDataException.</summary>
    public static IReadOnlyList<BridgeDefinition> Load(string dataDirectory)
    {
        var path = PathIn(dataDirectory);
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            return Parse(path, File.ReadAllText(path));
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            // A hand-edited file (an array at the top, a number for a name, a key twice) must say what is wrong, not stop the server.
            throw new InvalidDataException($"{path} is not a valid bridges file: {exception.Message}");
        }
    }

    private static List<BridgeDefinition> Parse(string path, string json)
    {
        if (JsonSerializer.Deserialize(json, BridgesFileJson.Default.BridgesFileContent)?.Bridges is not { } entries)
        {
            throw new InvalidDataException($"{path} must be an object with a \"bridges\" array.");
        }

        var bridges = new List<BridgeDefinition>();
        foreach (var (id, platform, secret, appSecret, appId, apiBase) in entries.Select(e => e ?? new BridgeEntry(null, null, null, null, null, null)))
        {
            if (Check(id ?? "", platform ?? "", secret ?? "", apiBase, appSecret, appId) is { } problem)
            {
                throw new InvalidDataException($"{path}: bridge '{id}': {problem}");
            }

            if (bridges.Any(b => b.Id == id))
            {
                throw new InvalidDataException($"{path}: two bridges are named '{id}'.");
            }

            bridges.Add(new BridgeDefinition(id!, platform!, secret!, apiBase is null ? Platforms[platform!] : new Uri(apiBase), appSecret, appId));
        }

        return bridges;
    }

    /// <summary>Who sets a bridge's API address: the owner at the machine, who alone writes the bridges file.</summary>
    private static readonly Teams.Decider MachineOwner = new(null, "the machine's owner", Teams.Role.Owner, Active: true);

    /// <summary>What is wrong with a bridge's settings, or null.</summary>

    public static string? Check(string id, string platform, string secret, string? apiBase, string? appSecret = null, string? appId = null)
    {
        if (!IdPattern().IsMatch(id))
        {
            return "the name must be 1 to 32 lower-case letters, digits and dashes.";
        }

        if (!Platforms.ContainsKey(platform))
        {
            return $"unknown platform '{platform}' (known: {string.Join(", ", Platforms.Keys)}).";
        }

        if (!IsToken(secret))
        {
            return "the token must be 1 to 500 letters, digits and : _ - . (as the platform gave it).";
        }

        if (platform == SlackPlatformName && (appSecret is null || !IsToken(appSecret) || !appSecret.StartsWith("xapp-", StringComparison.Ordinal)
            || !secret.StartsWith("xoxb-", StringComparison.Ordinal)))
        {
            return "Slack needs the bot token (xoxb-…) and the app-level token (xapp-…, with connections:write), in that order.";
        }

        if (platform == FeishuPlatformName && (appId is null || !IsToken(appId) || !appId.StartsWith("cli_", StringComparison.Ordinal)))
        {
            return "Feishu needs the App ID (cli_…), then the App Secret, in that order.";
        }

        if (apiBase is not null && (!Uri.TryCreate(apiBase, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
            || !string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Query)))
        {
            return "the API address must be an http(s) URL without credentials or a query.";
        }

        // The token travels with every call (in Telegram's URL path, in Slack's header): never in the clear over a network.
        // Only the machine's owner writes this file (its command line), so the policy lets it name any address.
        if (apiBase is not null && !Notifications.OutboundPolicy.Check(
            new Notifications.OutboundRequest(Notifications.Sender.ChatApi, new Uri(apiBase), MachineOwner), Notifications.OutboundRules.None).Allowed)
        {
            return "a plain http API address is allowed only on this machine (a test stand-in or a local proxy); use https.";
        }

        return null;
    }

    // Tokens may go into a URL path (Telegram's design): nothing that could end the path or escape from it.
    private static bool IsToken(string secret) =>
        secret.Length is > 0 and <= 500 && secret.All(c => char.IsAsciiLetterOrDigit(c) || c is ':' or '_' or '-' or '.');

    /// <summary>Adds a bridge (or replaces the one with its name), written whole and 0600.</summary>
    public static void Save(string dataDirectory, IReadOnlyList<BridgeDefinition> bridges)
    {
        // The API address only where it is not the platform's own.
        var entries = bridges.Select(b => new BridgeEntry(b.Id, b.Platform, b.Secret, b.AppSecret, b.AppId,
            b.ApiBase == Platforms[b.Platform] ? null : b.ApiBase.ToString()));
        Directory.CreateDirectory(dataDirectory);
        DataFolder.WritePrivateFile(PathIn(dataDirectory),
            JsonSerializer.Serialize(new BridgesFileContent([.. entries]), BridgesFileJson.Default.BridgesFileContent) + "\n");
    }
}

internal sealed record BridgeEntry(string? Id, string? Platform, string? Secret, string? AppSecret, string? AppId, string? ApiBase);

internal sealed record BridgesFileContent(IReadOnlyList<BridgeEntry?>? Bridges);

/// <summary>bridges.json as written and read: camelCase names matched exactly, a key given twice refused.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, AllowDuplicateProperties = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BridgesFileContent))]
internal sealed partial class BridgesFileJson : JsonSerializerContext;
