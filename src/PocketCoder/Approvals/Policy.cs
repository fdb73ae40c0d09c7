using PocketCoder.Agents;

namespace PocketCoder.Approvals;

public enum Outcome
{
    Allow,
    Deny,
    Ask,
}

public sealed record Verdict(Outcome Outcome, string Reason, Rule? Rule = null);

/// <summary>
/// Decides what the gatekeeper does with a tool call before any human is asked. In order:
/// a deny rule; plan mode refusing edits and execution; trusted mode; an ask rule; an allow rule;
/// an "allow for this session" grant; accept_edits for edits inside the project; reads inside the
/// project; and otherwise, ask. Deny always beats allow.
/// </summary>
public static class Policy
{
    public static Verdict Evaluate(PermissionRequest request, string mode, IReadOnlyList<Rule> rules, IReadOnlySet<string> sessionGrants, string projectRoot)
    {
        var subjectPath = RelativeToProject(request.Path, projectRoot);
        bool Matches(Rule rule) =>
            (rule.Tool == "*" || string.Equals(rule.Tool, request.Tool, StringComparison.OrdinalIgnoreCase))
            && (rule.Pattern == "*"
                || (request.Kind == ToolKind.Execute && request.Command is { } command && Glob.MatchesCommand(rule.Pattern, command))
                || (subjectPath is { } path && Glob.MatchesPath(rule.Pattern, path)));

        if (rules.FirstOrDefault(r => r.Action == RuleActions.Deny && Matches(r)) is { } deny)
        {
            return new Verdict(Outcome.Deny, $"Denied by the project rule '{deny.Tool} {deny.Pattern}'.", deny);
        }

        if (mode == SessionModes.Plan && request.Kind is ToolKind.Edit or ToolKind.Execute)
        {
            return new Verdict(Outcome.Deny,
                "This session is in plan mode: edits and commands are not allowed. Propose a plan instead; the owner can switch the mode.");
        }

        if (mode == SessionModes.Trusted)
        {
            return new Verdict(Outcome.Allow, "The session is trusted.");
        }

        if (rules.FirstOrDefault(r => r.Action == RuleActions.Ask && Matches(r)) is { } ask)
        {
            return new Verdict(Outcome.Ask, $"The project rule '{ask.Tool} {ask.Pattern}' asks.", ask);
        }

        if (rules.FirstOrDefault(r => r.Action == RuleActions.Allow && Matches(r)) is { } allow)
        {
            return new Verdict(Outcome.Allow, $"Allowed by the project rule '{allow.Tool} {allow.Pattern}'.", allow);
        }

        if (sessionGrants.Contains(request.Tool))
        {
            return new Verdict(Outcome.Allow, $"{request.Tool} was allowed for this session.");
        }

        var insideProject = request.Path is null || subjectPath is not null;
        if (mode == SessionModes.AcceptEdits && request.Kind == ToolKind.Edit && request.Path is not null && insideProject)
        {
            return new Verdict(Outcome.Allow, "The session accepts edits inside the project.");
        }

        if (request.Kind == ToolKind.Read && insideProject)
        {
            return new Verdict(Outcome.Allow, "Reading inside the project is allowed.");
        }

        return new Verdict(Outcome.Ask, "Needs the owner's decision.");
    }

    /// <summary>The path relative to the project root, or null when it lies outside it (or there is none).</summary>
    public static string? RelativeToProject(string? path, string projectRoot)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var full = Path.GetFullPath(path, projectRoot);
        var root = projectRoot.TrimEnd('/') + "/";
        if (full == projectRoot.TrimEnd('/'))
        {
            return ".";
        }

        return full.StartsWith(root, StringComparison.Ordinal) ? full[root.Length..] : null;
    }
}
