using System.CommandLine;
using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using PocketCoder.Agents.Processes;
using PocketCoder.Display;
using PocketCoder.Server;
using PocketCoder.Sessions;

namespace PocketCoder.Cli;

/// <summary><c>pocketcoder sessions</c>: the running server's sessions, newest activity first.</summary>
internal sealed class SessionsCommand : ServerVerb
{
    private readonly Option<bool> _json = Json();
    private readonly Option<bool> _all = new("--all") { Description = "Archived ones too." };

    public SessionsCommand() : base("sessions", "List the sessions, newest activity first, with how many approvals wait in each.") => Declare(_json, _all);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        using var http = Connect(parsed);
        if (await ServerClient.GetAsync(http, "/api/sessions", WireJson.Default.IEnumerableSessionResponse, error) is not { } sessions
            || await ServerClient.GetAsync(http, "/api/approvals?status=pending", WireJson.Default.IEnumerableApprovalResponse, error) is not { } approvals
            || await ServerClient.GetAsync(http, "/api/projects", WireJson.Default.IEnumerableProjectResponse, error) is not { } projects)
        {
            return 1;
        }

        var waiting = approvals.CountBy(a => a.SessionId).ToDictionary();
        var names = projects.ToDictionary(p => p.Id, p => p.Name);
        var shown = sessions.Where(s => parsed.GetValue(_all) || s.ArchivedAt is null).OrderByDescending(s => s.UpdatedAt).ToList();
        if (parsed.GetValue(_json))
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(shown, WireJson.Default.IEnumerableSessionResponse));
            return 0;
        }

        if (shown.Count == 0)
        {
            await output.WriteLineAsync("No sessions yet: start one from the phone.");
            return 0;
        }

        foreach (var session in shown)
        {
            var asks = waiting.GetValueOrDefault(session.Id);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{session.Id[..8]}  {session.Status,-16} {TerminalText.Clean(names.GetValueOrDefault(session.ProjectId)) ?? "?",-16} " +
                // A title is someone's words (a chat's, an agent transcript's): no escape sequence of theirs reaches the terminal.
                $"{ApprovalsCommand.Age(session.UpdatedAt),4} ago  {(asks > 0 ? $"[{asks} waiting] " : "")}{TerminalText.Clean(session.Title) ?? "(untitled)"}"));
        }

        return 0;
    }
}

/// <summary>A verb on one session, named by its id or any unambiguous start of it (as `sessions` prints it).</summary>
internal abstract class SessionVerb : ServerVerb
{
    private readonly Argument<string> _session = new("session") { Description = "The session's id, or the start of it that `pocketcoder sessions` prints." };

    protected SessionVerb(string name, string description) : base(name, description) => Declare(_session);

    /// <summary>The full id of the session named; null (with why said on <paramref name="error"/>) when none or several match.</summary>
    protected async Task<string?> ResolveAsync(ParseResult parsed, HttpClient http, TextWriter error)
    {
        var given = parsed.GetValue(_session)!.Trim();
        if (given.Length == 0)
        {
            throw new CliException("Name the session: its id, or the start of it that `pocketcoder sessions` prints.");
        }

        if (await ServerClient.GetAsync(http, "/api/sessions", WireJson.Default.IEnumerableSessionResponse, error) is not { } sessions)
        {
            return null;
        }

        var matches = sessions.Select(s => s.Id).Where(id => id.StartsWith(given, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches is [var id])
        {
            return id;
        }

        await error.WriteLineAsync(matches.Count == 0
            ? $"pocketcoder: no session '{given}' (see `pocketcoder sessions`)."
            : $"pocketcoder: '{given}' starts {matches.Count} sessions' ids; give more of it.");
        return null;
    }
}

/// <summary><c>pocketcoder send SESSION TEXT</c>: a message to the session's agent, as the phone sends it.</summary>
internal sealed class SendCommand : SessionVerb
{
    private readonly Argument<string> _text = new("text") { Description = "The message." };

    public SendCommand() : base("send", "Send the session's agent a message, as the phone would.") => Declare(_text);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        using var http = Connect(parsed);
        if (await ResolveAsync(parsed, http, error) is not { } id)
        {
            return 1;
        }

        var text = parsed.GetValue(_text);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliException("Say what to send: pocketcoder send SESSION \"text\".");
        }

        if (!await ServerClient.PostJsonAsync(http, $"/api/sessions/{id}/messages", new SendMessageRequest(text), WireJson.Default.SendMessageRequest, error))
        {
            return 1;
        }

        await output.WriteLineAsync($"Sent to {id[..8]}.");
        return 0;
    }
}

/// <summary>
/// <c>pocketcoder handoff SESSION</c>: hands the session back to the terminal: the server stops its agent between turns,
/// and the agent's own resume runs here.
/// </summary>
internal sealed class HandoffCommand : SessionVerb
{
    private readonly Option<bool> _print = new("--print") { Description = "Only print the command, do not run it." };

    public HandoffCommand() : base("handoff", "Carry the session on in this terminal: the server stops its agent between turns, then the agent's own resume runs here.") =>
        Declare(_print);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        using var http = Connect(parsed);
        if (await ResolveAsync(parsed, http, error) is not { } id
            || await ServerClient.SendAsync(http, () => http.PostAsync($"/api/sessions/{id}/handoff", null), error) is not { } response)
        {
            return 1;
        }

        var handoff = (await response.Content.ReadFromJsonAsync(WireJson.Default.HandoffResponse))!;
        await output.WriteLineAsync($"Handed back. To carry on: {handoff.Shell}");
        if (parsed.GetValue(_print))
        {
            return 0;
        }

        await output.FlushAsync();
        try
        {
            return await ChildProcess.RunAttachedAsync(handoff.Command[0], handoff.Command.Skip(1).ToList(), handoff.WorkingDirectory, CancellationToken.None);
        }
        catch (Win32Exception exception)
        {
            await error.WriteLineAsync($"pocketcoder: could not run {handoff.Command[0]} ({exception.Message}); run the command above yourself.");
            return 1;
        }
    }
}
