using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder approvals</c>, <c>approve ID</c> and <c>deny ID</c>: decide from the terminal through the
/// running server, exactly as a phone does (the decision must reach the waiting agent, so it cannot
/// be written to the database behind the server's back). The terminal is a device of its own.
/// </summary>
public static class ApprovalCommands
{
    public const string TokenFileName = "terminal.token";

    public static async Task<int> ListAsync(string[] args, TextWriter output, TextWriter error)
    {
        var arguments = CliArguments.Parse(args, new HashSet<string> { "data", "url" }, new HashSet<string> { "json" });
        using var http = Client(arguments);
        var response = await SendAsync(http, () => http.GetAsync("/api/approvals?status=pending"), arguments, error);
        if (response is null)
        {
            return 1;
        }

        var text = await response.Content.ReadAsStringAsync();
        if (arguments.Flag("json"))
        {
            await output.WriteLineAsync(text);
            return 0;
        }

        var approvals = JsonElement.Parse(text).EnumerateArray().ToList();
        if (approvals.Count == 0)
        {
            await output.WriteLineAsync("Nothing is waiting for you.");
            return 0;
        }

        foreach (var approval in approvals)
        {
            var created = approval.GetProperty("createdAt").GetDateTimeOffset();
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{approval.GetProperty("id").GetString()}  {approval.GetProperty("tool").GetString(),-10} {approval.GetProperty("title").GetString()}  (session {approval.GetProperty("sessionId").GetString()?[..8]}, {Age(created)} ago)"));
            if (approval.TryGetProperty("plan", out var plan) && plan.ValueKind == JsonValueKind.String)
            {
                await output.WriteLineAsync(plan.GetString());
            }
        }

        return 0;
    }

    public static Task<int> ApproveAsync(string[] args, TextWriter output, TextWriter error)
    {
        var arguments = CliArguments.Parse(args, new HashSet<string> { "data", "url" }, new HashSet<string> { "session", "always" });
        var decision = arguments.Flag("always") ? "allow_always" : arguments.Flag("session") ? "allow_session" : "allow_once";
        return DecideAsync(arguments, decision, null, output, error);
    }

    public static Task<int> DenyAsync(string[] args, TextWriter output, TextWriter error)
    {
        var arguments = CliArguments.Parse(args, new HashSet<string> { "data", "url", "message" }, new HashSet<string>());
        return DecideAsync(arguments, "deny", arguments.Value("message"), output, error);
    }

    private static async Task<int> DecideAsync(CliArguments arguments, string decision, string? message, TextWriter output, TextWriter error)
    {
        if (arguments.Positional is not [var id])
        {
            throw new CliException("Name exactly one approval id (see `pocketcoder approvals`).");
        }

        using var http = Client(arguments);
        var response = await SendAsync(http,
            () => http.PostAsJsonAsync($"/api/approvals/{Uri.EscapeDataString(id)}/decision", new DecisionBody(decision, message), CliJson.Default.DecisionBody),
            arguments, error);
        if (response is null)
        {
            return 1;
        }

        await output.WriteLineAsync($"{decision.Replace('_', ' ')}: {id}");
        return 0;
    }

    /// <summary>Sends, and on failure prints what the server said (or that it is not running). Null on failure.</summary>
    private static async Task<HttpResponseMessage?> SendAsync(HttpClient http, Func<Task<HttpResponseMessage>> send, CliArguments arguments, TextWriter error)
    {
        try
        {
            var response = await send();
            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            var body = await response.Content.ReadAsStringAsync();
            var detail = body.Length > 0 && JsonElement.Parse(body) is { ValueKind: JsonValueKind.Object } problem
                && problem.TryGetProperty("detail", out var d) ? d.GetString() : body;
            await error.WriteLineAsync($"pocketcoder: {detail}");
            return null;
        }
        catch (HttpRequestException)
        {
            await error.WriteLineAsync($"pocketcoder: PocketCoder is not running at {http.BaseAddress}. Start it with `pocketcoder serve`, or name it with --url.");
            return null;
        }
    }

    private static HttpClient Client(CliArguments arguments)
    {
        var url = arguments.Value("url") ?? Environment.GetEnvironmentVariable("POCKETCODER_URL") ?? PocketCoderOptions.DefaultListen;
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
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(path, new System.Text.UTF8Encoding(false), options))
        {
            writer.WriteLine(token);
        }

        return token;
    }

    private static string Age(DateTimeOffset created)
    {
        var age = DateTimeOffset.UtcNow - created;
        return age.TotalMinutes < 1 ? $"{(int)age.TotalSeconds}s" : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m" : $"{(int)age.TotalHours}h";
    }
}

public sealed record DecisionBody(string Decision, string? Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(DecisionBody))]
[System.Text.Json.Serialization.JsonSerializable(typeof(PairingCodeOutput))]
internal sealed partial class CliJson : System.Text.Json.Serialization.JsonSerializerContext;
