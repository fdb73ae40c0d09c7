using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder sessions</c>, <c>send SESSION TEXT</c> and <c>handoff SESSION</c>: the running server's sessions from
/// a terminal, as a device of its own. A session is named by its id or any unambiguous start of it.
/// </summary>
public static class SessionCommands
{
    public static async Task<int> ListAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        using var http = ServerClient.Create(arguments);
        if (await ServerClient.GetJsonAsync(http, "/api/sessions", error) is not { } sessions
            || await ServerClient.GetJsonAsync(http, "/api/approvals?status=pending", error) is not { } approvals
            || await ServerClient.GetJsonAsync(http, "/api/projects", error) is not { } projects)
        {
            return 1;
        }

        var waiting = approvals.EnumerateArray().GroupBy(a => a.GetProperty("sessionId").GetString()).ToDictionary(g => g.Key ?? "", g => g.Count());
        var names = projects.EnumerateArray().ToDictionary(p => p.GetProperty("id").GetString() ?? "", p => p.GetProperty("name").GetString());
        var shown = sessions.EnumerateArray()
            .Where(s => arguments.Flag("all") || s.GetProperty("archivedAt").ValueKind == JsonValueKind.Null)
            .OrderByDescending(s => s.GetProperty("updatedAt").GetDateTimeOffset()).ToList();
        if (arguments.Flag("json"))
        {
            await output.WriteLineAsync("[" + string.Join(',', shown.Select(s => s.GetRawText())) + "]");
            return 0;
        }

        if (shown.Count == 0)
        {
            await output.WriteLineAsync("No sessions yet: start one from the phone.");
            return 0;
        }

        foreach (var session in shown)
        {
            var id = session.GetProperty("id").GetString()!;
            var asks = waiting.GetValueOrDefault(id);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{id[..8]}  {session.GetProperty("status").GetString(),-16} {names.GetValueOrDefault(session.GetProperty("projectId").GetString() ?? "") ?? "?",-16} " +
                $"{ApprovalCommands.Age(session.GetProperty("updatedAt").GetDateTimeOffset()),4} ago  {(asks > 0 ? $"[{asks} waiting] " : "")}{session.GetProperty("title").GetString() ?? "(untitled)"}"));
        }

        return 0;
    }

    public static async Task<int> SendAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        using var http = ServerClient.Create(arguments);
        if (await ResolveAsync(http, arguments, error) is not { } id)
        {
            return 1;
        }

        var text = arguments.Positional[1];
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliException("Say what to send: pocketcoder send SESSION \"text\".");
        }

        if (!await ServerClient.PostJsonAsync(http, $"/api/sessions/{id}/messages", new SendBody(text), CliJson.Default.SendBody, error))
        {
            return 1;
        }

        await output.WriteLineAsync($"Sent to {id[..8]}.");
        return 0;
    }

    /// <summary>Hands the session back to the terminal: the server stops its agent between turns, and the agent's own resume runs here.</summary>
    public static async Task<int> HandoffAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        using var http = ServerClient.Create(arguments);
        if (await ResolveAsync(http, arguments, error) is not { } id)
        {
            return 1;
        }

        var response = await ServerClient.SendAsync(http, () => http.PostAsync($"/api/sessions/{id}/handoff", null), error);
        if (response is null)
        {
            return 1;
        }

        var handoff = JsonElement.Parse(await response.Content.ReadAsStringAsync());
        var command = handoff.GetProperty("command").EnumerateArray().Select(a => a.GetString()!).ToList();
        var folder = handoff.GetProperty("workingDirectory").GetString()!;
        await output.WriteLineAsync($"Handed back. To carry on: {handoff.GetProperty("shell").GetString()}");
        if (arguments.Flag("print"))
        {
            return 0;
        }

        await output.FlushAsync();
        try
        {
            return await ChildProcess.RunAttachedAsync(command[0], command[1..], folder, CancellationToken.None);
        }
        catch (Win32Exception exception)
        {
            await error.WriteLineAsync($"pocketcoder: could not run {command[0]} ({exception.Message}); run the command above yourself.");
            return 1;
        }
    }

    /// <summary>The full id of the session named by an id or the start of one (as `sessions` prints it).</summary>
    internal static async Task<string?> ResolveAsync(HttpClient http, CliArguments arguments, TextWriter error)
    {
        var given = arguments.Positional[0].Trim();
        if (given.Length == 0)
        {
            throw new CliException("Name the session: its id, or the start of it that `pocketcoder sessions` prints.");
        }

        if (await ServerClient.GetJsonAsync(http, "/api/sessions", error) is not { } sessions)
        {
            return null;
        }

        var matches = sessions.EnumerateArray().Select(s => s.GetProperty("id").GetString()!)
            .Where(id => id.StartsWith(given, StringComparison.OrdinalIgnoreCase)).ToList();
        switch (matches.Count)
        {
            case 1:
                return matches[0];
            case 0:
                await error.WriteLineAsync($"pocketcoder: no session '{given}' (see `pocketcoder sessions`).");
                return null;
            default:
                await error.WriteLineAsync($"pocketcoder: '{given}' starts {matches.Count} sessions' ids; give more of it.");
                return null;
        }
    }
}

public sealed record SendBody(string Text);
