namespace PocketCoder.Teams;

/// <summary>What a person may do, lowest first: each role can do everything the ones below it can.</summary>
public enum Role
{
    /// <summary>Reads sessions, files and the ledger; decides nothing.</summary>
    Viewer,

    /// <summary>Starts and steers sessions; decides only what the project's policy lets operators decide.</summary>
    Operator,

    /// <summary>Decides approvals and questions, and starts and steers sessions.</summary>
    Approver,

    /// <summary>Everything, including people, rules, MCP servers, the sandbox and bridges.</summary>
    Owner,
}

public static class Roles
{
    public const string Owner = "owner";
    public const string Approver = "approver";
    public const string Operator = "operator";
    public const string Viewer = "viewer";

    public static string ToWire(this Role role) => role switch
    {
        Role.Owner => Owner,
        Role.Approver => Approver,
        Role.Operator => Operator,
        _ => Viewer,
    };

    public static Role? FromWire(string? role) => role switch
    {
        Owner => Role.Owner,
        Approver => Role.Approver,
        Operator => Role.Operator,
        Viewer => Role.Viewer,
        _ => null,
    };

    /// <summary>A role and the ones above it, as people read it ("approvers and owners").</summary>
    public static string AndAbove(this Role role) => role switch
    {
        Role.Owner => "owners",
        Role.Approver => "approvers and owners",
        Role.Operator => "operators, approvers and owners",
        _ => "everyone",
    };
}
