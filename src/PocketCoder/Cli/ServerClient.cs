using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Mvc;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// The terminal as a device of the running server: verbs that act on sessions and approvals go through its API, exactly
/// as a phone does (a decision or a message must reach the live agent), with the terminal's own device token.
/// </summary>
internal static class ServerClient
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
        catch (HttpRequestException exception) when (exception.HttpRequestError == HttpRequestError.SecureConnectionError)
        {
            // Something answers: telling the owner to start the server would send them the wrong way. Most often it is their
            // own server with a certificate of their own (self-signed, mkcert) that this machine does not trust; but any TLS
            // failure lands here, so trusting is offered for their own server only, never as the fix.
            await error.WriteLineAsync($"pocketcoder: {http.BaseAddress} answered, but https with it could not be established " +
                $"({Innermost(exception).Message}). If it is your server with a certificate of your own that this machine " +
                "does not trust, trust that certificate's CA here (or point SSL_CERT_FILE at it); otherwise something else " +
                "answers at that address.");
            return null;
        }
        catch (HttpRequestException exception) when (exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            await error.WriteLineAsync($"pocketcoder: PocketCoder is not running at {http.BaseAddress}. Start it with `{SelfCommand.For("serve")}`, or name it with --url.");
            return null;
        }
        catch (HttpRequestException exception)
        {
            await error.WriteLineAsync($"pocketcoder: {http.BaseAddress} could not be asked: {Innermost(exception).Message}");
            return null;
        }
    }

    private static Exception Innermost(Exception exception) => exception.InnerException is { } inner ? Innermost(inner) : exception;

    /// <summary>
    /// GETs a reply as the server's own wire record (a renamed field breaks the build, not the terminal); null (with what
    /// went wrong said on <paramref name="error"/>) when it failed.
    /// </summary>
    public static async Task<T?> GetAsync<T>(HttpClient http, string path, JsonTypeInfo<T> type, TextWriter error) where T : class =>
        await SendAsync(http, () => http.GetAsync(path), error) is { } response ? await response.Content.ReadFromJsonAsync(type) : null;

    /// <summary>POSTs <paramref name="body"/> as JSON; false (with what went wrong said on <paramref name="error"/>) when it failed.</summary>
    public static async Task<bool> PostJsonAsync<T>(HttpClient http, string path, T body, JsonTypeInfo<T> type, TextWriter error) =>
        await SendAsync(http, () => http.PostAsJsonAsync(path, body, type), error) is not null;

    /// <summary>What a refusal said (its problem's detail), or null when it said nothing readable.</summary>
    public static async Task<string?> ProblemDetailAsync(HttpResponseMessage response) => Detail(await response.Content.ReadAsStringAsync());

    /// <summary>The problem's detail, whatever the body holds (a proxy's HTML page too).</summary>
    private static string? Detail(string body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, CliJson.Default.ProblemDetails)?.Detail;
        }
        catch (JsonException)
        {
            return body.Length is > 0 and < 300 ? body : null;
        }
    }

    /// <param name="url">--url, when given.</param>
    public static HttpClient Create(string? url, string dataDirectory)
    {
        // Where the running server said it listens (server.json in the data folder) unless told otherwise.
        url ??= Environment.GetEnvironmentVariable("POCKETCODER_URL") ?? Reach.ServerAddress.Read(dataDirectory)?.Url ?? PocketCoderOptions.DefaultListen;
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TerminalToken(dataDirectory));
        return http;
    }

    /// <summary>
    /// A client as a new terminal device, its token replacing the one kept in the data folder: for a lockdown, which keeps
    /// only the caller's device, so that a copy of the old token (read by a shell a phone opened) is revoked with the rest.
    /// </summary>
    public static HttpClient CreateAfresh(string? url, string dataDirectory)
    {
        using (var database = new Database(dataDirectory))
        {
            database.Migrate();
            var clock = TimeProvider.System;
            var (_, token) = new Devices(database, new Ledger.LedgerStore(database, clock), clock).CreateLocalDevice($"terminal on {Environment.MachineName}");
            DataFolder.WritePrivateFile(Path.Combine(dataDirectory, TokenFileName), token + Environment.NewLine);
        }

        return Create(url, dataDirectory);
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

/// <summary>What the terminal writes or reads that is not a server reply record in <see cref="WireJson"/>.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(PairingCodeOutput))]
[JsonSerializable(typeof(Approvals.AnswerRequest))]
[JsonSerializable(typeof(ProblemDetails))]
internal sealed partial class CliJson : JsonSerializerContext;
