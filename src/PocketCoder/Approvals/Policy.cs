using System.Text.RegularExpressions;
using PocketCoder.Agents;
using PocketCoder.Agents.FileSystem;

namespace PocketCoder.Approvals;

public enum Outcome
{
    Allow,
    Deny,
    Ask,
}

/// <summary>What the policy does with a call, why, and on whose word.</summary>
/// <param name="Rule">The rule that decided it (an owner's word), if one did.</param>
/// <param name="Standing">An allow that stands on the session's mode or an "allow for this session" grant: one person's word.</param>
public sealed record Verdict(Outcome Outcome, string Reason, Rule? Rule = null, Standing Standing = Standing.None);

/// <summary>A session's standing allow an allow verdict rests on.</summary>
public enum Standing
{
    None,
    Mode,
    Grant,
}

/// <summary>
/// Decides what the gatekeeper does with a tool call before any human is asked. In order:
/// a deny rule; plan mode refusing edits and execution; an edit of a protected path or through a symlink
/// leading out of the project (asks, unless a rule naming the path says otherwise); trusted mode (bar a shell command
/// naming a protected path); an ask
/// rule; an allow rule; an "allow for this session" grant; accept_edits for edits inside the project;
/// reads inside the project; and otherwise, ask. Deny always beats allow. Every path is judged by where
/// it really leads (<see cref="RealPath"/>), never by how it is spelled.
/// </summary>
public static class Policy
{
    /// <summary>
    /// Where an edit changes what runs rather than what the project says: git's own configuration and hooks,
    /// the agents' settings (hooks, MCP servers, permissions), direnv, attribute-driven filters and CI.
    /// Instruction files (AGENTS.md, CLAUDE.md, GEMINI.md) are not here: they are content the agent reads,
    /// and the owner sees their diff like any other file.
    /// </summary>
    public static readonly IReadOnlyList<string> ProtectedPatterns =
    [
        ".git", ".git/**",
        ".claude/**", ".codex/**", ".opencode/**", ".gemini/**", ".qwen/**",
        // pi's: its project settings (a shell, a prefix for every command, packages to install) and extensions.
        ".pi/**",
        // Kilo Code's (an OpenCode fork): its config, plugins, tools and agents.
        ".kilo/**", ".kilocode/**", "kilo.json", "kilo.jsonc",
        // Copilot CLI's: its repository settings, hooks (it runs them unasked), MCP servers, and extensions (Node programs it
        // forks in a trusted folder).
        ".github/copilot/**", ".github/hooks/**", ".github/mcp.json", ".vscode/mcp.json", ".github/extensions/**",
        "opencode.json", "opencode.jsonc", ".mcp.json",
        ".envrc", ".gitattributes", "**/.gitattributes",
        ".github/workflows/**",
    ];

    public static Verdict Evaluate(PermissionRequest request, string mode, IReadOnlyList<Rule> rules, IReadOnlySet<string> sessionGrants, string projectRoot)
    {
        var subjectPath = RelativeToProject(request.Path, projectRoot);
        // Every file an edit touches: a multi-file patch names its first file as the path, and the rest must
        // not ride along unjudged.
        var editPaths = request.Kind == ToolKind.Edit ? EditPaths(request) : [];
        bool Matches(Rule rule) => RuleMatches(rule, request, subjectPath);
        var insideProject = (request.Path is null || subjectPath is not null) && editPaths.All(p => RelativeToProject(p, projectRoot) is not null);
        return Firm(request, mode, rules, Matches)
            ?? ByPath(request, rules, editPaths, projectRoot)
            ?? Trusted(request, mode, rules, Matches)
            ?? ByRulesAndGrants(request, rules, sessionGrants, Matches)
            ?? ByDefault(request, mode, insideProject);
    }

    /// <summary>What no mode, grant or allow rule changes: questions, deny rules, the agent's own notes, plan mode.</summary>
    private static Verdict? Firm(PermissionRequest request, string mode, IReadOnlyList<Rule> rules, Func<Rule, bool> matches)
    {
        if (request.Kind == ToolKind.Question)
        {
            // Only the owner knows the answer: no rule, grant or mode answers (or dismisses) a question.
            return new Verdict(Outcome.Ask, "A question for the owner: no rule or mode answers it.");
        }

        if (rules.FirstOrDefault(r => r.Action == RuleActions.Deny && matches(r)) is { } deny)
        {
            return new Verdict(Outcome.Deny, $"Denied by the project rule '{deny.Tool} {deny.Pattern}'.", deny);
        }

        if (request.Kind == ToolKind.Bookkeeping)
        {
            return new Verdict(Outcome.Allow, "The agent's own to-do list changes nothing outside it.");
        }

        return mode == SessionModes.Plan && request.Kind is ToolKind.Edit or ToolKind.Execute
            ? new Verdict(Outcome.Deny, "This session is in plan mode: edits and commands are not allowed. Propose a plan instead; the owner can switch the mode.")
            : null;
    }

    /// <summary>An edit whose path leads out through a link, or into git, agent or CI configuration: only a rule naming the path decides.</summary>
    private static Verdict? ByPath(PermissionRequest request, IReadOnlyList<Rule> rules, IReadOnlyList<string> editPaths, string projectRoot)
    {
        if (editPaths.Any(p => RelativeToProject(p, projectRoot) is null && LooksInside(p, projectRoot)))
        {
            // Spelled inside, leads outside: a symlink (or a dangling one) that trusted or accept_edits was never meant to cover.
            return new Verdict(Outcome.Ask, "This path is inside the project by name but leads outside it (a symlink): the owner decides.");
        }

        var protectedPaths = editPaths.Select(p => (Spelled: p, Real: RelativeToProject(p, projectRoot)))
            .Where(p => IsProtected(p.Spelled, p.Real, projectRoot)).ToList();
        if (protectedPaths.Count == 0)
        {
            return null;
        }

        // Only a rule that names the path decides here: "* *" or a session grant for the tool must not silently cover a
        // write that changes what runs next. With several protected files, each needs its rule.
        var named = protectedPaths
            .Select(p => rules.FirstOrDefault(r => r.Action != RuleActions.Deny && RuleMatches(r, request, p.Real) && NamesPath(r.Pattern)))
            .ToList();
        if (named.All(r => r is { Action: RuleActions.Allow }))
        {
            var rule = named[0]!;
            return new Verdict(Outcome.Allow, $"Allowed by the project rule '{rule.Tool} {rule.Pattern}'.", rule);
        }

        if (named.FirstOrDefault(r => r is { Action: RuleActions.Ask }) is { } asking)
        {
            return new Verdict(Outcome.Ask, $"The project rule '{asking.Tool} {asking.Pattern}' asks.", asking);
        }

        var first = protectedPaths[0];
        return new Verdict(Outcome.Ask,
            $"'{first.Real ?? first.Spelled}' is protected (git, agent or CI configuration): an edit there changes what runs next, so the owner decides in every mode.");
    }

    /// <summary>A trusted session allows everything left, bar a command naming git, agent or CI configuration.</summary>
    private static Verdict? Trusted(PermissionRequest request, string mode, IReadOnlyList<Rule> rules, Func<Rule, bool> matches)
    {
        // A mode is about what the agent does in the project; a connection out of the sandbox is not covered by one (only by a
        // rule, a grant or the owner): an allowed command must not carry what it can read to a host nobody named.
        if (mode != SessionModes.Trusted || request.Kind == ToolKind.Network)
        {
            return null;
        }

        if (request.Kind == ToolKind.Execute && request.Command is { } command && ProtectedInCommand(command) is { } named)
        {
            // A rule that spells out the command decides; "shell *" is the trusted mode itself and does not.
            return rules.FirstOrDefault(r => r.Action == RuleActions.Allow && r.Pattern != "*" && matches(r)) is { } spelled
                ? new Verdict(Outcome.Allow, $"Allowed by the project rule '{spelled.Tool} {spelled.Pattern}'.", spelled)
                : new Verdict(Outcome.Ask, $"The command touches '{named}' (git, agent or CI configuration), which changes what runs next: the owner decides even in a trusted session.");
        }

        return new Verdict(Outcome.Allow, "The session is trusted.", Standing: Standing.Mode);
    }

    private static Verdict? ByRulesAndGrants(PermissionRequest request, IReadOnlyList<Rule> rules, IReadOnlySet<string> sessionGrants, Func<Rule, bool> matches)
    {
        if (rules.FirstOrDefault(r => r.Action == RuleActions.Ask && matches(r)) is { } ask)
        {
            return new Verdict(Outcome.Ask, $"The project rule '{ask.Tool} {ask.Pattern}' asks.", ask);
        }

        if (rules.FirstOrDefault(r => r.Action == RuleActions.Allow && matches(r)) is { } allow)
        {
            return new Verdict(Outcome.Allow, $"Allowed by the project rule '{allow.Tool} {allow.Pattern}'.", allow);
        }

        if (!sessionGrants.Contains(request.Tool))
        {
            return null;
        }

        // A grant is a standing allow like the trusted mode, and stops where it does: at a command naming git, agent or CI configuration.
        return request.Kind == ToolKind.Execute && request.Command is { } granted && ProtectedInCommand(granted) is { } touched
            ? new Verdict(Outcome.Ask, $"The command touches '{touched}' (git, agent or CI configuration), which changes what runs next: the owner decides, whatever was allowed for this session.")
            : new Verdict(Outcome.Allow, $"{request.Tool} was allowed for this session.", Standing: Standing.Grant);
    }

    private static Verdict ByDefault(PermissionRequest request, string mode, bool insideProject)
    {
        if (mode == SessionModes.AcceptEdits && request.Kind == ToolKind.Edit && request.Path is not null && insideProject)
        {
            return new Verdict(Outcome.Allow, "The session accepts edits inside the project.", Standing: Standing.Mode);
        }

        return request.Kind == ToolKind.Read && insideProject
            ? new Verdict(Outcome.Allow, "Reading inside the project is allowed.")
            : new Verdict(Outcome.Ask, "Needs the owner's decision.");
    }

    // A protected location named in a command line: a word that is, or starts a path with, one of them. ".gitignore"
    // and ".github/ISSUE_TEMPLATE" are not; "git config" writes .git/config without naming it. The character after a name
    // is matched rather than looked ahead at (only the name is read), so the expression runs in time linear in the
    // command's length with no time-out: whether a command is protected depends on it alone, never on how busy the machine
    // is (a time-out called any command protected; "git -c" repeated made one time out on any machine, #67).
    private static readonly Regex ProtectedWord = new(
        @"(?:^|[\s'""=:;|&<>()`/])(?:(?<name>\.git)(?:$|[\s'""/;|&<>)`])"
        + @"|(?<name>\.claude|\.codex|\.opencode|\.gemini|\.qwen|\.pi|\.kilo|\.kilocode|kilo\.jsonc?|opencode\.jsonc?|\.mcp\.json|\.envrc|\.gitattributes|\.github/(?:workflows|copilot|hooks|extensions|mcp\.json)|\.vscode/mcp\.json)(?:$|[^\w.-]))"
        + @"|(?<name>\bgit(?:\s+-[cC]\s+\S+)*\s+config\b)",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture | RegexOptions.NonBacktracking);

    /// <summary>
    /// The protected location a shell command names, or null. Defence in depth for trusted sessions, not a boundary:
    /// a command that builds the name (variables, eval, a script) is not caught; confinement of the shell itself is
    /// the isolation work (docs/security.md).
    /// </summary>
    public static string? ProtectedInCommand(string command) => ProtectedWord.Match(command) is { Success: true } match ? match.Groups["name"].Value : null;

    /// <summary>
    /// Whether a rule covers the request: its tool does, and its pattern is <c>*</c>, matches the command, or matches the
    /// path relative to the project (<paramref name="relativePath"/>; null when outside it or there is none).
    /// </summary>
    /// <summary>
    /// The call's risk class, as a project's team policy routes it (<see cref="TeamPolicy"/>): its kind, except that an edit of
    /// a protected path, or a command naming one, is <c>protected</c> whatever its kind.
    /// </summary>
    public static string RiskOf(PermissionRequest request, string projectRoot) => request.Kind switch
    {
        ToolKind.Question => RiskClasses.Question,
        ToolKind.Edit when EditPaths(request).Any(p => IsProtected(p, RelativeToProject(p, projectRoot), projectRoot)) => RiskClasses.Protected,
        ToolKind.Execute when request.Command is { } command && ProtectedInCommand(command) is not null => RiskClasses.Protected,
        ToolKind.Read => RiskClasses.Read,
        ToolKind.Edit => RiskClasses.Edit,
        ToolKind.Execute => RiskClasses.Shell,
        ToolKind.Fetch => RiskClasses.Fetch,
        ToolKind.Mcp => RiskClasses.Mcp,
        ToolKind.Network => RiskClasses.Network,
        _ => RiskClasses.Other,
    };

    public static bool RuleMatches(Rule rule, PermissionRequest request, string? relativePath) =>
        ToolMatches(rule.Tool, request)
        && (rule.Pattern == "*"
            || (request.Kind == ToolKind.Execute && request.Command is { } command
                && (rule.Action == RuleActions.Allow ? Glob.AllowsCommand(rule.Pattern, command) : Glob.MatchesCommand(rule.Pattern, command)))
            || (request.Kind == ToolKind.Mcp && McpMatches(rule.Pattern, request.Tool))
            || (request.Kind == ToolKind.Network && request.Command is { } target && Network.HostPattern.Matches(rule.Pattern, target))
            || (relativePath is not null && Glob.MatchesPath(rule.Pattern, relativePath)));

    /// <summary>
    /// An MCP rule's pattern <c>SERVER/TOOL</c> against the tool <c>mcp__SERVER__TOOL</c>: the server part matched as one
    /// name, the tool part with <c>*</c> matching anything (a tool's name may hold a <c>/</c>, which must not slip past
    /// <c>deny mcp probe/*</c>).
    /// </summary>
    public static bool McpMatches(string pattern, string tool)
    {
        var slash = pattern.IndexOf('/');
        if (slash <= 0 || McpSubject(tool) is not { } subject)
        {
            return false;
        }

        var split = subject.IndexOf('/');
        return Glob.MatchesPath(pattern[..slash], subject[..split]) && Glob.MatchesCommand(pattern[(slash + 1)..], subject[(split + 1)..]);
    }

    /// <summary>
    /// What an MCP rule's pattern matches: <c>SERVER/TOOL</c> from the tool's name <c>mcp__SERVER__TOOL</c> (how Claude names
    /// them, and Codex's are named here), so <c>mcp probe/*</c> covers every tool of the server "probe". Null for other names.
    /// </summary>
    public static string? McpSubject(string tool)
    {
        const string Prefix = "mcp__";
        if (!tool.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var split = tool.IndexOf("__", Prefix.Length, StringComparison.Ordinal);
        return split <= Prefix.Length || split + 2 >= tool.Length ? null : $"{tool[Prefix.Length..split]}/{tool[(split + 2)..]}";
    }

    /// <summary>
    /// Whether a rule's tool covers the request: <c>*</c>; a kind word (<see cref="RuleTools"/>), matched by
    /// the request's kind whatever the agent calls the tool; or the agent's own tool name.
    /// </summary>
    public static bool ToolMatches(string ruleTool, PermissionRequest request) =>
        ruleTool == "*"
        || (RuleTools.KindOf(ruleTool) is { } kind ? kind == request.Kind : string.Equals(ruleTool, request.Tool, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The real path (every symlink resolved) relative to the project root, or null when it leads outside it
    /// (or there is none). Rules and protected paths are matched against this, so a link cannot disguise a path.
    /// </summary>
    public static string? RelativeToProject(string? path, string projectRoot)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var root = RealPath.Resolve(projectRoot) ?? projectRoot;
        if (RealPath.InsideRoot(root, Path.GetFullPath(path, projectRoot)) is not { } real)
        {
            return null;
        }

        return real == root.TrimEnd('/') ? "." : real[(root.TrimEnd('/').Length + 1)..];
    }

    /// <summary>True when <paramref name="relativePath"/> (relative to the project) is git, agent or CI configuration.</summary>
    public static bool IsProtected(string relativePath) =>
        ProtectedPatterns.Any(p => Glob.MatchesPath(p, relativePath));

    // The path as written is checked too: writing through a link named .claude/settings.json still changes
    // what Claude reads as its settings, wherever the link points.
    private static bool IsProtected(string? path, string? realRelative, string projectRoot) =>
        (realRelative is not null && IsProtected(realRelative))
        || (TextualRelative(path, projectRoot) is { } spelled && IsProtected(spelled));

    internal static List<string> EditPaths(PermissionRequest request)
    {
        var paths = new List<string>();
        if (request.Path is { Length: > 0 } path)
        {
            paths.Add(path);
        }

        // Codex's fileChange input: {"changes": [{"path": ...}, ...]}.
        if (request.Input.ValueKind == System.Text.Json.JsonValueKind.Object
            && request.Input.TryGetProperty("changes", out var changes) && changes.ValueKind == System.Text.Json.JsonValueKind.Array)
        {
            foreach (var change in changes.EnumerateArray())
            {
                if (change.ValueKind == System.Text.Json.JsonValueKind.Object && change.TryGetProperty("path", out var p)
                    && p.ValueKind == System.Text.Json.JsonValueKind.String && p.GetString() is { Length: > 0 } changed && !paths.Contains(changed))
                {
                    paths.Add(changed);
                }
            }
        }

        return paths;
    }

    private static bool LooksInside(string path, string projectRoot) => TextualRelative(path, projectRoot) is not null;

    private static string? TextualRelative(string? path, string projectRoot)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var full = Path.GetFullPath(path, projectRoot);
        var root = projectRoot.TrimEnd('/');
        return full == root ? "." : full.StartsWith(root + "/", StringComparison.Ordinal) ? full[(root.Length + 1)..] : null;
    }

    // A rule names a path when its first segment is literal: ".git/**" names .git, "*" or "**/*.json" do not.
    private static bool NamesPath(string pattern)
    {
        var first = pattern.Split('/')[0];
        return first.Length > 0 && first.IndexOfAny(['*', '?']) < 0;
    }
}

/// <summary>
/// The words a rule's tool may be besides an agent's own tool name: one vocabulary across agents, matched
/// by the kind the adapter gave the call (<c>shell</c> is Claude's Bash, Codex exec, OpenCode bash, Gemini
/// run_shell_command).
/// </summary>
public static class RuleTools
{
    public static readonly IReadOnlyList<string> KindWords = ["shell", "read", "edit", "write", "fetch", "mcp", "network"];

    // Lower case only: Claude's "Edit", "Read" and "Write" stay its own tool names, so an existing rule for
    // them keeps its exact meaning.
    public static ToolKind? KindOf(string tool) => tool switch
    {
        "shell" => ToolKind.Execute,
        "read" => ToolKind.Read,
        "edit" or "write" => ToolKind.Edit,
        "fetch" => ToolKind.Fetch,
        "mcp" => ToolKind.Mcp,
        "network" => ToolKind.Network,
        _ => null,
    };

    /// <summary>
    /// A rule as written <c>mcp:SERVER/TOOL</c> (a glob: <c>mcp:probe/*</c>) is the kind word <c>mcp</c> with that pattern;
    /// any other tool and pattern stay as given.
    /// </summary>
    public static (string Tool, string Pattern) Normalize(string tool, string pattern) =>
        tool.StartsWith("mcp:", StringComparison.Ordinal) && tool.Length > 4 && pattern == "*"
            ? ("mcp", tool[4..])
            : (tool, pattern);

    /// <summary>
    /// <c>*</c>, a kind word, or something shaped like a tool name (letters, digits, <c>_ - . :</c>, as in
    /// <c>mcp__github__create_issue</c>); anything else can never match and is refused.
    /// </summary>
    public static bool IsValid(string tool) =>
        tool == "*" || (tool.Length is > 0 and <= 100 && char.IsAsciiLetter(tool[0])
                        && tool.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'));
}
