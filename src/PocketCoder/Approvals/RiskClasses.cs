namespace PocketCoder.Approvals;

/// <summary>The kinds of call a project's team policy routes, in the rule vocabulary (<see cref="RuleTools.KindWords"/>) plus three.</summary>
public static class RiskClasses
{
    public const string Read = "read";
    public const string Edit = "edit";
    public const string Shell = "shell";
    public const string Fetch = "fetch";
    public const string Mcp = "mcp";

    /// <summary>A connection out of a sandbox to a host nobody allowed (docs/security.md, "The network").</summary>
    public const string Network = "network";

    /// <summary>An edit of, or a command naming, git, agent or CI configuration (<see cref="Policy.ProtectedPatterns"/>).</summary>
    public const string Protected = "protected";
    public const string Question = "question";
    public const string Other = "other";

    /// <summary>Not a tool call: the agent reached its budget, and going on needs an owner's or approver's raise.</summary>
    public const string Budget = "budget";

    public static readonly IReadOnlyList<string> Routed = [Read, Edit, Shell, Fetch, Mcp, Protected, Question, Other, Network];
}
