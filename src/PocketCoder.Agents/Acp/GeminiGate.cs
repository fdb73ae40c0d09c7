namespace PocketCoder.Agents.Acp;

/// <summary>
/// Gemini CLI's own policy engine decides, before anything reaches the client, whether a call is asked at all: the owner's
/// <c>tools.allowed</c> and <c>tools.core</c>, policy files (<c>~/.gemini/policies</c>, <c>policyPaths</c>,
/// <c>adminPolicyPaths</c>), its built-in allow-list of reads, searches and subagents, and a heuristic that runs "safe"
/// commands (<c>echo</c>, <c>ls</c>, <c>cat</c>) unasked; each ran a call with no session/request_permission (0.61,
/// <c>GeminiBypassTests</c>). PocketCoder hands it one admin policy (<c>--admin-policy</c>), the highest tier Gemini has,
/// that answers "ask" for every tool, so that every call comes to the gatekeeper, which applies the owner's rules itself.
/// </summary>
internal static class GeminiGate
{
    /// <summary>
    /// Two rules for every tool in every mode. Admin tier (5 + priority/1000) outranks anything the owner's user, workspace,
    /// extension or default policies and settings can say (at most 4.999). The first has an argument pattern that every call's
    /// arguments match: Gemini applies its shell heuristics (a "safe" command's ask turned into an allow) only under a rule
    /// without one. The second catches a call with no arguments at all, which no argument pattern matches.
    /// </summary>
    public const string Policy = """
        # Written by PocketCoder at every start of Gemini CLI: every tool call is put to PocketCoder's gatekeeper.
        [[rule]]
        toolName = "*"
        argsPattern = ".*"
        decision = "ask_user"
        priority = 999

        [[rule]]
        toolName = "*"
        decision = "ask_user"
        priority = 998

        """;

    /// <summary>
    /// Where Gemini CLI reads the machine's own policies: when this folder holds a <c>.toml</c> entry, Gemini ignores every
    /// <c>--admin-policy</c> (0.61, <c>createPolicyEngineConfig</c>), and PocketCoder's gate with it.
    /// </summary>
    public static string SystemPolicies { get; } =
        OperatingSystem.IsMacOS() ? "/Library/Application Support/GeminiCli/policies" : "/etc/gemini-cli/policies";

    /// <summary>
    /// Writes the policy to <paramref name="path"/> (whole, readable by its owner only) and returns the arguments that hand it
    /// to Gemini CLI; refuses, naming the reason, where Gemini would not take it.
    /// </summary>
    /// <param name="systemPolicies">The machine's policy folder (<see cref="SystemPolicies"/>; another in tests).</param>
    /// <exception cref="AgentUnavailableException">Gemini would ignore the policy.</exception>
    public static IReadOnlyList<string> Arguments(string agentId, string path, string systemPolicies)
    {
        if (MachinePolicy(systemPolicies) is { } machine)
        {
            throw new AgentUnavailableException(agentId,
                $"Gemini CLI cannot be gated here: the machine's own Gemini policy '{machine}' makes Gemini CLI ignore the policy through " +
                "which PocketCoder sees every tool call (--admin-policy), so that a rule there or in your own settings could run tools without asking. " +
                $"Move the files out of '{systemPolicies}' to use Gemini CLI with PocketCoder.");
        }

        // Gemini splits the option's value at commas.
        if (path.Contains(',', StringComparison.Ordinal))
        {
            throw new AgentUnavailableException(agentId,
                $"Gemini CLI cannot be gated here: its gate policy would be '{path}', and Gemini CLI cuts a policy path at its commas. " +
                "Use a data folder whose path has no comma.");
        }

        // Rewritten at every start: whatever was put there since (an allowed command of an unsandboxed session) is gone.
        Processes.AgentHome.WritePrivate(path, Policy);
        return ["--admin-policy", path];
    }

    /// <summary>The first policy file (or anything named like one: Gemini counts it) in the machine's folder, or null.</summary>
    private static string? MachinePolicy(string systemPolicies)
    {
        try
        {
            return Directory.Exists(systemPolicies)
                ? Directory.EnumerateFileSystemEntries(systemPolicies).FirstOrDefault(entry => entry.EndsWith(".toml", StringComparison.Ordinal))
                : null;
        }
        catch (UnauthorizedAccessException)
        {
            // Gemini CLI cannot list it either, and then loads the admin policy.
            return null;
        }
    }
}
