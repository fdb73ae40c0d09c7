using System.Text.RegularExpressions;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Sandboxed Codex's key as a placeholder (docs/security.md, "Secrets"): the key variable of the provider it uses (OpenAI's
/// <c>OPENAI_API_KEY</c>, or a provider's <c>env_key</c> in config.toml) holds a placeholder of the same shape, and its base URL is
/// PocketCoder's model endpoint inside (<c>OPENAI_BASE_URL</c> for OpenAI's own provider; the provider's <c>base_url</c> given on
/// the command line for one of the owner's, whose config.toml stays as the owner wrote it), which puts the real key back on the
/// way to the real base URL.
/// </summary>
internal static class CodexSecrets
{
    /// <summary>The forwards to lay out and the arguments that point Codex at them; the key in <paramref name="environment"/> replaced.</summary>
    public static (IReadOnlyList<ModelForward> Forwards, IReadOnlyList<string> Arguments) Hold(AgentCommand command, string codexHome,
        IReadOnlyList<NetworkEndpoint> model, Dictionary<string, string?> environment)
    {
        var config = ModelHosts.ReadText(Path.Combine(codexHome, "config.toml")) ?? "";
        var provider = ModelHosts.CodexProvider(config) ?? "openai";
        string? variable, keyVariable, baseUrl;
        if (provider == "openai")
        {
            (variable, keyVariable, baseUrl) = ("OPENAI_BASE_URL", "OPENAI_API_KEY", command.Setting("OPENAI_BASE_URL") is { Length: > 0 } set ? set : "https://api.openai.com/v1");
        }
        else if (Regex.IsMatch(provider, "^[A-Za-z0-9_-]{1,64}$", RegexOptions.None, TimeSpan.FromSeconds(1)) && Table(config, provider) is { } table)
        {
            (variable, keyVariable, baseUrl) = (null, ModelHosts.TomlStrings(table, "env_key").FirstOrDefault(), ModelHosts.TomlStrings(table, "base_url").FirstOrDefault());
        }
        else
        {
            return ([], []);
        }

        if (keyVariable is null || command.Setting(keyVariable) is not { Length: > 0 } real
            || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https"))
        {
            return ([], []);
        }

        var secret = HeldSecret.Of(keyVariable, real);
        environment[keyVariable] = secret.Placeholder;
        ModelForward[] forwards = [new ModelForward(variable, upstream, [secret])];
        return variable is not null ? (forwards, [])
            : (forwards, ["-c", $"model_providers.{provider}.base_url=\"{EgressLayout.ForwardUrl(model, forwards, 0)}\""]);
    }

    /// <summary>The lines of config.toml's <c>[model_providers.ID]</c> table, or null.</summary>
    private static string? Table(string config, string provider)
    {
        var match = Regex.Match(config, $@"(?m)^\s*\[\s*model_providers\.""?{Regex.Escape(provider)}""?\s*\]\s*$", RegexOptions.None, TimeSpan.FromSeconds(1));
        if (!match.Success)
        {
            return null;
        }

        var rest = config[(match.Index + match.Length)..];
        var next = Regex.Match(rest, @"(?m)^\s*\[", RegexOptions.None, TimeSpan.FromSeconds(1));
        return next.Success ? rest[..next.Index] : rest;
    }
}
