using System.Diagnostics;
using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>
/// What an approval asks, a closed set read once from its stored word (<see cref="FromWire"/>): an agent's tool call, by its
/// tool kind; a question the agent puts to the owner; "raise the budget?"; or a connection out of a sandbox, asked by its
/// proxy. Stored and sent as its word (<see cref="ToWire"/>): the call's kind (read, edit, execute, fetch, mcp, other),
/// question, budget or network, as before. Code asks which it is by type (<c>approval.Kind is ApprovalKind.Question</c>),
/// never by word.
/// </summary>
public abstract record ApprovalKind
{
    private const string BudgetWord = "budget";

    // Private: the four nested below are all the kinds there are.
    private ApprovalKind()
    {
    }

    /// <summary>An agent's tool call, allowed or denied (by a person, a rule, the session's mode or a grant).</summary>
    public sealed record ToolCall : ApprovalKind
    {
        internal ToolCall(ToolKind tool) => Tool = tool is ToolKind.Question or ToolKind.Network or ToolKind.Bookkeeping
            ? throw new ArgumentOutOfRangeException(nameof(tool), tool, "Questions and connections are kinds of their own; bookkeeping is asked as other.")
            : tool;

        public ToolKind Tool { get; }
    }

    /// <summary>A question the agent puts to the owner (Claude's <c>AskUserQuestion</c>): answered or dismissed, never allowed.</summary>
    public sealed record Question : ApprovalKind;

    /// <summary>A spent cap holds a call, or a message, until a decider raises it (its input is a <see cref="Teams.BudgetAsk"/>).</summary>
    public sealed record Budget : ApprovalKind;

    /// <summary>A connection out of a sandbox to a host nobody allowed yet (the tool is <c>network:HOST:PORT</c>).</summary>
    public sealed record Network : ApprovalKind;

    /// <summary>Every word a kind is stored and sent as.</summary>
    public static IReadOnlyList<string> Words { get; } =
        [.. Enum.GetValues<ToolKind>().Select(kind => kind.ToWire()).Append(BudgetWord).Distinct(StringComparer.Ordinal)];

    /// <summary>The kind an agent's (or the sandbox proxy's) permission request is asked as.</summary>
    public static ApprovalKind Of(ToolKind kind) => kind switch
    {
        ToolKind.Question => new Question(),
        ToolKind.Network => new Network(),
        // The agent's notes to itself are "other" on the wire, as they always were.
        ToolKind.Bookkeeping => new ToolCall(ToolKind.Other),
        _ => new ToolCall(kind),
    };

    /// <summary>The kind a stored or sent word names, or null for a word that names none.</summary>
    public static ApprovalKind? TryFromWire(string? word) => word switch
    {
        null => null,
        BudgetWord => new Budget(),
        _ => Words.Contains(word, StringComparer.Ordinal) ? Of(ToolKinds.FromWire(word)) : null,
    };

    /// <exception cref="FormatException">The word names no kind (a database written by something else).</exception>
    public static ApprovalKind FromWire(string word) => TryFromWire(word)
        ?? throw new FormatException($"'{word}' is not a kind of approval ({string.Join(", ", Words)}).");

    public string ToWire() => this switch
    {
        ToolCall call => call.Tool.ToWire(),
        Question => ToolKind.Question.ToWire(),
        Network => ToolKind.Network.ToWire(),
        Budget => BudgetWord,
        _ => throw new UnreachableException(),
    };

    /// <summary>What a rule reads it as (<see cref="Policy.RuleMatches"/>): a call's own tool kind; a budget is no tool's, so other.</summary>
    public ToolKind AsToolKind => this switch
    {
        ToolCall call => call.Tool,
        Question => ToolKind.Question,
        Network => ToolKind.Network,
        _ => ToolKind.Other,
    };

    public sealed override string ToString() => ToWire();
}
