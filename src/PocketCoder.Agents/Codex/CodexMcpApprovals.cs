using System.Text.RegularExpressions;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Codex runs some MCP tools without asking: those a server marks read-only (<c>readOnlyHint</c>), and those set to
/// <c>approval_mode = "approve"</c> (which Codex's own "don't ask again" writes into config.toml). Nothing of theirs would
/// reach the gatekeeper. So for every MCP server (and every tool section) of the owner's config.toml, Codex is started
/// with overrides that make it ask: <c>-c mcp_servers.NAME.default_tools_approval_mode="prompt"</c>, and the same for
/// each <c>[mcp_servers.NAME.tools.TOOL]</c>.
/// </summary>
internal static partial class CodexMcpApprovals
{
    /// <summary>The <c>-c</c> arguments and the servers' names; an error message instead when a name cannot be overridden that way.</summary>
    public static (IReadOnlyList<string> Arguments, IReadOnlyList<string> Servers, string? Problem) For(string configPath)
    {
        string text;
        try
        {
            text = File.Exists(configPath) ? File.ReadAllText(configPath) : "";
        }
        catch (IOException)
        {
            return ([], [], null); // Unreadable here is unreadable to Codex too.
        }

        var arguments = new List<string>();
        var servers = new List<string>();
        foreach (Match header in Header().Matches(text))
        {
            var path = header.Groups["path"].Value.Trim();
            if (!path.StartsWith("mcp_servers", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = path.Split('.', StringSplitOptions.TrimEntries);
            if (parts.Any(p => !BareKey().IsMatch(p)))
            {
                return ([], [], $"Codex's config.toml has an MCP server section [{path}] whose name is not plain (letters, digits, - and _): "
                    + "PocketCoder cannot make Codex ask before its tools run. Rename it.");
            }

            if (parts.Length == 2)
            {
                arguments.AddRange(["-c", $"{path}.default_tools_approval_mode=\"prompt\""]);
                servers.Add(parts[1]);
            }
            else if (parts.Length == 4 && parts[2] == "tools")
            {
                arguments.AddRange(["-c", $"{path}.approval_mode=\"prompt\""]);
            }
        }

        // An inline server table (mcp_servers = { … } or mcp_servers.NAME = { … }) has no header to find.
        if (InlineServers().IsMatch(text))
        {
            return ([], [], "Codex's config.toml declares MCP servers inline (mcp_servers… = { … }): PocketCoder cannot make Codex ask before "
                + "their tools run. Write each as a [mcp_servers.NAME] section.");
        }

        return (arguments, servers, null);
    }

    [GeneratedRegex(@"^\s*\[\s*(?<path>[^\[\]\r\n]+?)\s*\]\s*(#.*)?$", RegexOptions.Multiline)]
    private static partial Regex Header();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+$")]
    private static partial Regex BareKey();

    [GeneratedRegex(@"^\s*mcp_servers(\.[A-Za-z0-9_-]+)?\s*=", RegexOptions.Multiline)]
    private static partial Regex InlineServers();
}
