using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// The terminal as a device of the running server: verbs that act on sessions and approvals go through its API, exactly
/// as a phone does (a decision or a message must reach the live agent), with the terminal's own device token.
/// </summary>
public static class ServerClient
{
    public const string TokenFileName = "terminal.token";

    /// <summary>Sends, and on failure prints what the server said (or that it is not running). Null on failure.</summary>
    public static async Task<HttpResponseMessage?> SendAsync(HttpClient http, Func<Task<HttpResponseMessage>> send, TextWriter error)
    {
        try
        {
            var response = await send();
            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            var body = await response.Content.ReadAsStringAsync();
            await error.WriteLineAsync($"pocketcoder: {Detail(body) ?? $"{(int)response.StatusCode} {response.ReasonPhrase}"}");
            return null;
        }
        catch (TaskCanceledException)
        {
            await error.WriteLineAsync($"pocketcoder: {http.BaseAddress} did not answer within {http.Timeout.TotalSeconds:0} s.");
            return null;
        }
        catch (HttpRequestException)
        {
            await error.WriteLineAsync($"pocketcoder: PocketCoder is not running at {http.BaseAddress}. Start it with `pocketcoder serve`, or name it with --url.");
            return null;
        }
    }

    /// <summary>GETs JSON; null (with what went wrong said on <paramref name="error"/>) when it failed.</summary>
    public static async Task<JsonElement?> GetJsonAsync(HttpClient http, string path, TextWriter error) =>
        await SendAsync(http, () => http.GetAsync(path), error) is { } response
            ? JsonElement.Parse(await response.Content.ReadAsStringAsync())
            : null;

    /// <summary>POSTs <paramref name="body"/> as JSON; false (with what went wrong said on <paramref name="error"/>) when it failed.</summary>
    public static async Task<bool> PostJsonAsync<T>(HttpClient http, string path, T body, JsonTypeInfo<T> type, TextWriter error) =>
        await SendAsync(http, () => http.PostAsJsonAsync(path, body, type), error) is not null;

    /// <summary>The problem's detail, whatever the body holds (a proxy's HTML page too).</summary>
    private static string? Detail(string body)
    {
        try
        {
            return JsonElement.Parse(body) is { ValueKind: JsonValueKind.Object } problem && problem.TryGetProperty("detail", out var detail)
                ? detail.GetString()
                : null;
        }
        catch (JsonException)
        {
            return body.Length is > 0 and < 300 ? body : null;
        }
    }

    public static HttpClient Create(CliArguments arguments)
    {
        // Where the running server said it listens (server.json in the data folder) unless told otherwise.
        var url = arguments.Value("url") ?? Environment.GetEnvironmentVariable("POCKETCODER_URL")
            ?? Reach.ServerAddress.Read(CommandLine.DataDirectory(arguments))?.Url ?? PocketCoderOptions.DefaultListen;
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TerminalToken(CommandLine.DataDirectory(arguments)));
        return http;
    }

    /// <summary>The terminal's own device token, kept (owner-only) in the data folder; minted again if revoked.</summary>
    private static string TerminalToken(string dataDirectory)
    {
        using var database = new Database(dataDirectory);
        database.Migrate();
        var clock = TimeProvider.System;
        var devices = new Devices(database, new Ledger.LedgerStore(database, clock), clock);
        var path = Path.Combine(dataDirectory, TokenFileName);
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } saved && devices.Authenticate(saved) is not null)
        {
            return saved;
        }

        var (_, token) = devices.CreateLocalDevice($"terminal on {Environment.MachineName}");
        // Created owner-only from the first byte: the token never sits in a world-readable file.
        DataFolder.WritePrivateFile(path, token + Environment.NewLine);
        return token;
    }
}
