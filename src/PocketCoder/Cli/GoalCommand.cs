using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Display;
using PocketCoder.Goals;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder goal SESSION</c>: the session's goal (docs/goals.md), or with <c>--set</c> a goal to set (or the open one's
/// change: <c>--check</c>, <c>--max-turns</c>, <c>--max-minutes</c>, <c>--max-tokens</c>), or one of <c>--pause</c>,
/// <c>--resume</c>, <c>--continue</c>, <c>--stop</c>, <c>--clear</c>, as the phone does them.
/// </summary>
internal sealed class GoalCommand : SessionVerb
{
    private readonly Option<string> _set = new("--set") { Description = "Set the goal (what the agent should reach), or change the open one's." };
    private readonly Option<string> _check = new("--check") { Description = "A command run in the session's folder after each turn: exit 0 = met (\"\" removes it)." };
    private readonly Option<int?> _turns = new("--max-turns") { Description = "Turns it may take (default 20)." };
    private readonly Option<int?> _minutes = new("--max-minutes") { Description = "Wall time it may run while active (default 120)." };
    private readonly Option<long?> _tokens = new("--max-tokens") { Description = "Tokens it may spend (default: the project's session budget, else 2,000,000)." };
    private readonly Option<string> _action = new("--do") { Description = "pause, resume, continue (when it asks), stop or clear." };
    private readonly Option<bool> _json = Json();

    public GoalCommand() : base("goal", "Show, set, pause, resume, go on with, stop or clear a session's goal.") =>
        Declare(_set, _check, _turns, _minutes, _tokens, _action, _json);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        using var http = Connect(parsed);
        if (await ResolveAsync(parsed, http, error) is not { } id)
        {
            return 1;
        }

        var path = $"/api/sessions/{id}/goal";
        var action = parsed.GetValue(_action);
        var changes = parsed.GetValue(_set) is not null || parsed.GetValue(_check) is not null || parsed.GetValue(_turns) is not null
            || parsed.GetValue(_minutes) is not null || parsed.GetValue(_tokens) is not null;
        if (action is not null && (changes || action is not ("pause" or "resume" or "continue" or "stop" or "clear")))
        {
            throw new CliException("--do is one of pause, resume, continue, stop, clear, given alone.");
        }

        var response = await ServerClient.SendAsync(http, () => action switch
        {
            null when changes => http.PutAsJsonAsync(path, new SetGoalRequest(parsed.GetValue(_set), parsed.GetValue(_check),
                new GoalCapsRequest(parsed.GetValue(_tokens), parsed.GetValue(_minutes), parsed.GetValue(_turns))), WireJson.Default.SetGoalRequest),
            null => http.GetAsync(path),
            "clear" => http.DeleteAsync(path),
            _ => http.PostAsync($"{path}/{action}", null),
        }, error);
        if (response is null)
        {
            return 1;
        }

        if (action == "clear")
        {
            await output.WriteLineAsync($"The goal of {id[..8]} is cleared.");
            return 0;
        }

        var goal = (await response.Content.ReadFromJsonAsync(WireJson.Default.GoalResponse))!;
        await output.WriteLineAsync(parsed.GetValue(_json) ? JsonSerializer.Serialize(goal, WireJson.Default.GoalResponse) : Describe(goal));
        return 0;
    }

    private static string Describe(GoalResponse goal) => string.Create(CultureInfo.InvariantCulture, $"""
        {goal.Status}: {TerminalText.Clean(goal.Text)}
          spent {goal.Turns}/{goal.Caps.Turns} turns, {goal.ElapsedSeconds / 60}/{goal.Caps.Minutes} min, {goal.Tokens:N0}/{goal.Caps.Tokens:N0} tokens (${goal.CostUsd:0.00})
        """) + (goal.Check is { } check ? $"\n  check: {TerminalText.Clean(check)}" : "")
        + (goal.Reason is { } reason ? $"\n  {TerminalText.Clean(reason)}" : "");
}
