using System.Text.RegularExpressions;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Codex's command rules (<c>*.rules</c> in <c>$CODEX_HOME/rules</c> and in a project's <c>.codex/rules</c>):
/// a <c>prefix_rule</c> whose decision is "allow" (the default) runs matching commands without asking anyone, and the
/// app-server offers no way to switch them off. Such a rule would bypass the gatekeeper, so Codex is not started while
/// one exists; the error names the file. Rules that only prompt or forbid are harmless and left alone.
/// </summary>
internal static partial class CodexRules
{
    /// <summary>The first file holding a rule that allows, with a sentence saying what to do; null when there is none.</summary>
    public static string? FindAllowingRule(string projectDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        foreach (var directory in RuleDirectories(projectDirectory, environment))
        {
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(directory, "*.rules"))
            {
                string text;
                try
                {
                    text = File.ReadAllText(file);
                }
                catch (IOException)
                {
                    continue;
                }

                foreach (Match rule in PrefixRule().Matches(text))
                {
                    var decision = Decision().Match(rule.Value);
                    if (!decision.Success || decision.Groups[1].Value == "allow")
                    {
                        return $"{file} has a Codex command rule that runs commands without asking (prefix_rule with decision \"allow\"), " +
                            "which would bypass PocketCoder's gatekeeper. Change its decision to \"prompt\" (PocketCoder then asks the owner) " +
                            "or remove it, then start the session again.";
                    }
                }
            }
        }

        return null;
    }

    private static IEnumerable<string> RuleDirectories(string projectDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        var codex = new Processes.AgentCommand("codex", environment);
        yield return Path.Combine(codex.Setting("CODEX_HOME") is { Length: > 0 } codexHome ? codexHome : Path.Combine(codex.Home, ".codex"), "rules");

        // The project and every folder above it: Codex looks for .codex folders up the tree.
        for (var directory = new DirectoryInfo(projectDirectory); directory is not null; directory = directory.Parent)
        {
            yield return Path.Combine(directory.FullName, ".codex", "rules");
        }
    }

    [GeneratedRegex(@"prefix_rule\s*\((?:[^()]|\((?:[^()])*\))*\)", RegexOptions.Singleline)]
    private static partial Regex PrefixRule();

    [GeneratedRegex(@"decision\s*=\s*[""']([a-z_]+)[""']")]
    private static partial Regex Decision();
}
