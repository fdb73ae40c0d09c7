namespace PocketCoder.Agents.Acp;

/// <summary>
/// Qwen Code's gate: a system settings file of PocketCoder's (<c>QWEN_CODE_SYSTEM_SETTINGS_PATH</c>), which Qwen Code 0.24 puts
/// above the user's and the repository's settings, and a trusted-folders file of its own that trusts nothing
/// (<c>QWEN_CODE_TRUSTED_FOLDERS_PATH</c>), so that every project is an untrusted workspace: its <c>.qwen/settings.json</c>
/// and <c>.env</c> are not read. Its safe mode would do more of this but drops every permission rule, and with it the one
/// rule that makes Qwen Code ask about the commands it deems read-only (<c>ls</c>, <c>git status</c>), which it otherwise
/// runs unasked. Verified against the real CLI in Gate/QwenBypassTests.
/// </summary>
public static class QwenGate
{
    /// <summary>
    /// Ask about every kind of call, whatever rule allows it (Qwen Code's "ask" wins over "allow"); its own approval mode the one
    /// that asks; no hooks; no MCP server of anyone's settings (PocketCoder's too: Qwen Code gives none a way apart); no
    /// background memory or skill agents (they run the model's tool calls unasked); no follow-up suggestions (after every turn
    /// they ask the model, at the owner's cost, for a next prompt sent as an extension PocketCoder does not show); folder trust
    /// on, so the trusted-folders file below decides. And no usage statistics: at every start 0.24 sends them to its own host
    /// (<c>*.rum.aliyuncs.com</c>), which the sandbox refuses, each refusal a line in the ledger and the session's timeline.
    /// </summary>
    public const string SystemSettings = """
        {
          "permissions": { "ask": ["Bash", "Read", "Edit", "Write", "WebFetch", "WebSearch", "Agent", "Skill", "NotebookEdit", "ListFiles"] },
          "tools": { "approvalMode": "default" },
          "disableAllHooks": true,
          "ui": { "enableFollowupSuggestions": false },
          "mcp": { "excluded": ["*"] },
          "memory": { "enableManagedAutoMemory": false, "enableManagedAutoDream": false, "enableAutoSkill": false, "enableTeamMemory": false },
          "security": { "folderTrust": { "enabled": true } },
          "privacy": { "usageStatisticsEnabled": false }
        }
        """;

    /// <summary>
    /// Where the owner's Qwen Code keeps its settings, logins, extensions and conversations: <c>QWEN_HOME</c> (<c>~</c> as home), else
    /// the <c>QWEN_HOME</c> of <c>~/.qwen/.env</c> or <c>~/.env</c> (Qwen Code 0.24 reads it there when the environment has none), else
    /// <c>~/.qwen</c>. The agent is started with <c>QWEN_HOME</c> set to it, so that it, its sandbox and this gate agree.
    /// </summary>
    public static string Home(Processes.AgentCommand command) =>
        command.Setting("QWEN_HOME") is { Length: > 0 } ? command.Folder("QWEN_HOME", ".qwen")
        : new[] { Path.Combine(command.Home, ".qwen", ".env"), Path.Combine(command.Home, ".env") }.Select(file => DotEnvValue(file, "QWEN_HOME"))
            .FirstOrDefault(value => value is { Length: > 0 }) is { } fromFile ? command.InHome(fromFile)
        : Path.Combine(command.Home, ".qwen");

    /// <summary>
    /// A variable's value in a dotenv file as Qwen Code reads one (<c>KEY=value</c>, <c>export KEY=value</c>, its own <c>KEY: value</c>;
    /// quotes taken off, a comment after an unquoted value left out); null when the file or the variable is not there.
    /// </summary>
    internal static string? DotEnvValue(string file, string key)
    {
        string[] lines;
        try
        {
            lines = File.Exists(file) ? File.ReadAllLines(file) : [];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        string? found = null;
        foreach (var line in lines)
        {
            var match = System.Text.RegularExpressions.Regex.Match(line, $@"^\s*(?:export\s+)?{key}\s*[=:]\s*(.*)$");
            if (!match.Success)
            {
                continue;
            }

            var value = match.Groups[1].Value.Trim();
            // The last one wins, as dotenv parses them.
            found = value.Length >= 2 && value[0] is '"' or '\'' or '`' && value.IndexOf(value[0], 1) is > 0 and var end ? value[1..end]
                : value.Split(" #")[0].Trim();
        }

        return found;
    }

    /// <summary>The two files' paths in <paramref name="folder"/> (the data folder's <c>agents/qwen</c>).</summary>
    public static (string Settings, string TrustedFolders) Paths(string folder) =>
        (Path.Combine(folder, "system-settings.json"), Path.Combine(folder, "trusted-folders.json"));

    /// <summary>Writes both files afresh (before every start: what an earlier version or anyone else left there does not count).</summary>
    public static void Write(string folder)
    {
        var (settings, trustedFolders) = Paths(folder);
        Processes.AgentHome.WritePrivate(settings, SystemSettings);
        Processes.AgentHome.WritePrivate(trustedFolders, "{}\n");
    }
}
