using System.Globalization;
using System.Text.Json;
using PocketCoder.Display;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder approvals</c>, <c>approve ID</c> and <c>deny ID</c>: decide from the terminal through the
/// running server, exactly as a phone does (the decision must reach the waiting agent, so it cannot
/// be written to the database behind the server's back). The terminal is a device of its own.
/// </summary>
public static class ApprovalCommands
{
    public static async Task<int> ListAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        using var http = ServerClient.Create(arguments);
        var response = await ServerClient.SendAsync(http, () => http.GetAsync("/api/approvals?status=pending"), error);
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
                $"{approval.GetProperty("id").GetString()}  {TerminalText.Clean(approval.GetProperty("tool").GetString()),-10} {TerminalText.Clean(approval.GetProperty("title").GetString())}  (session {approval.GetProperty("sessionId").GetString()?[..8]}, {Age(created)} ago)"));
            if (approval.TryGetProperty("plan", out var plan) && plan.ValueKind == JsonValueKind.String)
            {
                await output.WriteLineAsync(TerminalText.Clean(plan.GetString()));
            }

            if (approval.GetProperty("kind").GetString() == "question")
            {
                await output.WriteAsync(QuestionCommand.ShowAll(QuestionCommand.Read(approval.GetProperty("input"))));
                await output.WriteLineAsync($"  answer it: pocketcoder answer {approval.GetProperty("id").GetString()}");
            }
        }

        return 0;
    }

    public static Task<int> ApproveAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        var decision = arguments.Flag("always") ? "allow_always" : arguments.Flag("session") ? "allow_session" : "allow_once";
        return DecideAsync(arguments, decision, null, output, error);
    }

    public static Task<int> DenyAsync(CliArguments arguments, TextWriter output, TextWriter error) =>
        DecideAsync(arguments, "deny", arguments.Value("message"), output, error);

    private static async Task<int> DecideAsync(CliArguments arguments, string decision, string? message, TextWriter output, TextWriter error)
    {
        if (arguments.Positional is not [var id])
        {
            throw new CliException("Name exactly one approval id (see `pocketcoder approvals`).");
        }

        using var http = ServerClient.Create(arguments);
        if (!await ServerClient.PostJsonAsync(http, $"/api/approvals/{Uri.EscapeDataString(id)}/decision", new DecisionBody(decision, message),
                CliJson.Default.DecisionBody, error))
        {
            return 1;
        }

        await output.WriteLineAsync($"{decision.Replace('_', ' ')}: {id}");
        return 0;
    }

    internal static string Age(DateTimeOffset created)
    {
        var age = DateTimeOffset.UtcNow - created;
        return age.TotalMinutes < 1 ? $"{(int)age.TotalSeconds}s" : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m" : $"{(int)age.TotalHours}h";
    }
}

public sealed record DecisionBody(string Decision, string? Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(DecisionBody))]
[System.Text.Json.Serialization.JsonSerializable(typeof(PairingCodeOutput))]
[System.Text.Json.Serialization.JsonSerializable(typeof(SendBody))]
internal sealed partial class CliJson : System.Text.Json.Serialization.JsonSerializerContext;
