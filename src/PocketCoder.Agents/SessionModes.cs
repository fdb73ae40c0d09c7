namespace PocketCoder.Agents;

/// <summary>
/// Session modes: how much the owner trusts this session, stored on the server so every device sees
/// the same. The gatekeeper enforces them; adapters map them onto the agent's own permission mode
/// where that changes how the agent behaves (Claude's plan mode makes it propose instead of act).
/// </summary>
public static class SessionModes
{
    public const string Ask = "ask";
    public const string Plan = "plan";
    public const string AcceptEdits = "accept_edits";
    public const string Trusted = "trusted";

    public static bool IsValid(string? mode) => mode is Ask or Plan or AcceptEdits or Trusted;
}
