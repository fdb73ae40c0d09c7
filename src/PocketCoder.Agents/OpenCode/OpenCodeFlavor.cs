namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// OpenCode, or a fork of it that keeps its server (<c>serve</c>: the same HTTP API, events and permission questions): what
/// differs between them is names. Kilo Code 7.7 is such a fork (its variables <c>KILO_*</c>, its folders <c>kilo</c> and
/// <c>.kilo</c>/<c>.kilocode</c>, its build agent <c>code</c>), verified against the real CLI (docs/agents.md, Kilo Code).
/// </summary>
/// <param name="Variables">The prefix of its variables: <c>OPENCODE_</c> (<c>OPENCODE_PERMISSION</c> …).</param>
/// <param name="Folder">The name of its folder in each XDG base folder (config, data, state, cache).</param>
/// <param name="ServerUser">The user of its server's basic auth.</param>
/// <param name="BuildAgent">Its agent that acts (the one every mode but plan prompts).</param>
/// <param name="ConfigFiles">Its config files' names (in its config folders and, up from the project, in the repository).</param>
/// <param name="ProjectFolders">The folders of a repository (and of home) it reads config, plugins and tools from.</param>
/// <param name="Hardening">More of its variables, each turning off something that would run or send without asking.</param>
public sealed record OpenCodeFlavor(string AgentId, string Name, string Executable, string InstallHint, string Variables, string Folder, string ServerUser,
    string BuildAgent, IReadOnlyList<string> ConfigFiles, IReadOnlyList<string> ProjectFolders, IReadOnlyDictionary<string, string> Hardening)
{
    /// <summary>
    /// Files in its config folder that say a one-time rewrite of its config files was done. Sandboxed, its config files are
    /// read-only, and Kilo Code 7.7 exits at start when its "bash permission migration" cannot rewrite them (EROFS): there the
    /// marker is made first, so it is never tried. The owner's own CLI migrates the owner's files as it will.
    /// </summary>
    public IReadOnlyList<string> MigrationMarkers { get; init; } = [];

    /// <summary>
    /// Files of a repository its older loaders read whatever <c>DISABLE_PROJECT_CONFIG</c> says, each with the setting that makes it
    /// run or allow something (null: any content does). Kilo Code 7.7.7's "legacy" loaders (read in its source: its config's
    /// <c>loadLegacyConfigs</c>, run on every start in the session's folder) take MCP servers from <c>.kilocode/mcp.json</c> and
    /// <c>.kilo/mcp.json</c> (<c>mcpServers</c>, started at once) and modes from <c>.kilocodemodes</c> (YAML: agents with permissions of
    /// the file's choosing). A project that has one is refused, naming the file (<see cref="OpenCodeProjectCheck"/>).
    /// </summary>
    public IReadOnlyList<(string File, string? Setting)> LegacyFiles { get; init; } = [];

    /// <summary>More folders of its state in XDG_STATE_HOME (Kilo Code keeps its own command sandbox's policies beside its folder).</summary>
    public IReadOnlyList<string> MoreStateFolders { get; init; } = [];

    public static OpenCodeFlavor OpenCode { get; } = new(OpenCodeAdapter.AgentId, "OpenCode", "opencode",
        "Install it with `npm install -g opencode-ai`, or point POCKETCODER_OPENCODE_PATH at the opencode executable.",
        "OPENCODE_", "opencode", "opencode", "build", ["opencode.json", "opencode.jsonc"], [".opencode"], new Dictionary<string, string>());

    public const string KiloId = "kilo";

    public static OpenCodeFlavor Kilo { get; } = new(KiloId, "Kilo Code", "kilo",
        "Install it with `npm install -g @kilocode/cli`, or point POCKETCODER_KILO_PATH at the kilo executable.",
        "KILO_", "kilo", "kilo", "code", ["kilo.json", "kilo.jsonc", "opencode.json", "opencode.jsonc"], [".kilo", ".kilocode", ".opencode"],
        new Dictionary<string, string>
        {
            // It would read Claude Code's configuration too (its commands, skills and instructions).
            ["KILO_DISABLE_CLAUDE_CODE"] = "1",
            ["KILO_DISABLE_CLAUDE_CODE_SKILLS"] = "1",
            ["KILO_DISABLE_CLAUDE_CODE_PROMPT"] = "1",
            ["KILO_DISABLE_EXTERNAL_SKILLS"] = "1",
            // Its sessions would be sent to Kilo's cloud.
            ["KILO_DISABLE_SESSION_INGEST"] = "1",
            // Language servers it would download and run.
            ["KILO_DISABLE_LSP_DOWNLOAD"] = "1",
            // Its usage analytics: the sandbox refuses their host anyway, and each refused send held a turn back (anything but
            // "all" turns them off, read once at its start).
            ["KILO_TELEMETRY_LEVEL"] = "off",
        })
    {
        MigrationMarkers = [".bash-permission-migrated"],
        MoreStateFolders = ["kilo-sandbox-policy"],
        LegacyFiles = [(".kilocode/mcp.json", "mcpServers"), (".kilo/mcp.json", "mcpServers"), (".kilocodemodes", null)],
    };

    /// <summary>One of its variables by the name OpenCode gives it (<c>PERMISSION</c> → <c>KILO_PERMISSION</c>).</summary>
    public string Variable(string name) => Variables + name;
}
