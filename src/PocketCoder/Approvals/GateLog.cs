namespace PocketCoder.Approvals;

/// <summary>
/// Every gate decision, for the operator's log (the ledger stays the record of truth). Names the tool and ids, never the
/// tool's input: a command line or a file body may hold a secret.
/// </summary>
internal static partial class GateLog
{
    /// <remarks>
    /// Not the verdict's reason: it can quote a rule's pattern, and "always allow" makes the pattern the exact command
    /// (a token in a curl header, say). The rule id and the ledger entry say the rest.
    /// </remarks>
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Gate {Outcome} {Tool} call {ToolCallId} of session {SessionId} by policy (mode {Mode}, rule {RuleId})")]
    public static partial void ByPolicy(ILogger logger, string outcome, string tool, string toolCallId, string sessionId, string mode, string? ruleId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Gate asks the owner: approval {ApprovalId} for {Tool} call {ToolCallId} of session {SessionId}")]
    public static partial void Asked(ILogger logger, string approvalId, string tool, string toolCallId, string sessionId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Approval {ApprovalId} ({Tool}, session {SessionId}) decided {Decision} by {Actor}")]
    public static partial void Decided(ILogger logger, string approvalId, string tool, string sessionId, string decision, string actor);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Approval {ApprovalId} ({Tool}, session {SessionId}) {Status}: {Reason}")]
    public static partial void Settled(ILogger logger, string approvalId, string tool, string sessionId, string status, string reason);
}
