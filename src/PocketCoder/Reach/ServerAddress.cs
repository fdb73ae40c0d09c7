using System.Text.Json;
using System.Text.Json.Serialization;
using PocketCoder.Data;

namespace PocketCoder.Reach;

/// <summary>
/// Where the server last served, written to the data folder when it starts, so that <c>pocketcoder pair</c> prints a
/// link a phone can open (the public URL, or the port <c>--listen</c> really named) without being told again.
/// </summary>
/// <param name="Url">The address the server bound (e.g. <c>http://127.0.0.1:7420</c>).</param>
/// <param name="PublicUrl">The address phones use: <c>--public-url</c>, else <paramref name="Url"/>.</param>
public sealed record ServerAddress(string Url, string PublicUrl)
{
    public const string FileName = "server.json";

    public void Write(string dataDirectory) =>
        DataFolder.WritePrivateFile(Path.Combine(dataDirectory, FileName), JsonSerializer.Serialize(this, ReachJson.Default.ServerAddress));

    /// <summary>The last recorded address, or null when the server never ran here or the file is unreadable.</summary>
    public static ServerAddress? Read(string dataDirectory)
    {
        try
        {
            var recorded = JsonSerializer.Deserialize(File.ReadAllText(Path.Combine(dataDirectory, FileName)), ReachJson.Default.ServerAddress);
            return recorded is { Url.Length: > 0, PublicUrl.Length: > 0 } ? recorded : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ServerAddress))]
[JsonSerializable(typeof(Hub.HubMembership))]
internal sealed partial class ReachJson : JsonSerializerContext;
