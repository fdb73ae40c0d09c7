using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PocketCoder.Approvals;
using PocketCoder.Display;
using PocketCoder.Server;

namespace PocketCoder.Cli;

// approvals, approve ID and deny ID decide from the terminal through the running server, exactly as a phone does (the
// decision must reach the waiting agent, so it cannot be written to the database behind the server's back).

/// <summary><c>pocketcoder approvals</c>: what waits for a decision.</summary>
internal sealed class ApprovalsCommand : ServerVerb
{
    private readonly Option<bool> _json = Json();

    public ApprovalsCommand() : base("approvals", "List what waits for a decision (asks the running server).") => Declare(_json);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        using var http = Connect(parsed);
        if (await ServerClient.GetAsync(http, "/api/approvals?status=pending", WireJson.Default.IEnumerableApprovalResponse, error) is not { } approvals)
        {
            return 1;
        }

        if (parsed.GetValue(_json))
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(approvals, WireJson.Default.IEnumerableApprovalResponse));
            return 0;
        }

        if (!approvals.Any())
        {
            await output.WriteLineAsync("Nothing is waiting for you.");
            return 0;
        }

        foreach (var approval in approvals)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{approval.Id}  {TerminalText.Clean(approval.Tool),-10} {TerminalText.Clean(approval.Title)}  (session {approval.SessionId[..8]}, {Age(approval.CreatedAt)} ago)"));
            if (approval.Plan is not null)
            {
                await output.WriteLineAsync(TerminalText.Clean(approval.Plan));
            }

            if (ApprovalKind.TryFromWire(approval.Kind) is ApprovalKind.Question)
            {
                await output.WriteAsync(QuestionCommand.ShowAll(QuestionCommand.Read(approval.Input)));
                await output.WriteLineAsync($"  answer it: {SelfCommand.For("answer")} {approval.Id}");
            }
        }

        return 0;
    }

    internal static string Age(DateTimeOffset created)
    {
        var age = DateTimeOffset.UtcNow - created;
        return age.TotalMinutes < 1 ? $"{(int)age.TotalSeconds}s" : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m" : $"{(int)age.TotalHours}h";
    }
}

/// <summary><c>pocketcoder approve ID</c> and <c>deny ID</c>: one decision, posted as the phone posts it.</summary>
internal abstract class DecisionCommand : ServerVerb
{
    private readonly Argument<string> _id;

    protected DecisionCommand(string name, string description, string idHelp) : base(name, description) =>
        Declare(_id = new Argument<string>("id") { Description = idHelp });

    protected abstract DecisionRequest Decision(ParseResult parsed);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        var id = parsed.GetValue(_id)!;
        var decision = Decision(parsed);
        using var http = Connect(parsed);
        if (await ServerClient.SendAsync(http, () => http.PostAsJsonAsync($"/api/approvals/{Uri.EscapeDataString(id)}/decision", decision,
                WireJson.Default.DecisionRequest), error) is not { } response
            || await response.Content.ReadFromJsonAsync(WireJson.Default.DecisionResponse) is not { } decided)
        {
            return 1;
        }

        await output.WriteLineAsync(Said(decided, id));
        return 0;
    }

    /// <summary>What the decision did, as the server says: one of two people's allows is not an allow.</summary>
    internal static string Said(DecisionResponse decided, string id) => decided.Status == ApprovalStatus.Pending.ToWire() && decided.Needed > 1
        ? $"{decided.AllowedBy?.Count ?? 1} of {decided.Needed} allows: {id} still waits for {(decided.Needed - (decided.AllowedBy?.Count ?? 1) == 1 ? "a second person" : "more people")} to allow it."
        : $"{decided.Decision.Replace('_', ' ')}: {id}";
}

internal sealed class ApproveCommand : DecisionCommand
{
    private readonly Option<bool> _session = new("--session") { Description = "Allow it for the rest of the session." };
    private readonly Option<bool> _always = new("--always") { Description = "Allow it always in this project (adds a rule)." };

    public ApproveCommand() : base("approve", "Allow a waiting call once (or for the session, or always for the project).",
        "The approval's id (see `pocketcoder approvals`).") => Declare(_session, _always);

    protected override DecisionRequest Decision(ParseResult parsed) => new(
        parsed.GetValue(_always) ? Decisions.AllowAlways : parsed.GetValue(_session) ? Decisions.AllowSession : Decisions.AllowOnce, null, null);
}

internal sealed class DenyCommand : DecisionCommand
{
    private readonly Option<string> _message = new("--message") { Description = "Why, for the agent." };

    public DenyCommand() : base("deny", "Deny a waiting call; the agent sees the message.", "The approval's id.") => Declare(_message);

    protected override DecisionRequest Decision(ParseResult parsed) => new(Decisions.Deny, parsed.GetValue(_message), null);
}
