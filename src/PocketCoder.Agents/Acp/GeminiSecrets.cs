using System.Text.RegularExpressions;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// Sandboxed Gemini CLI's keys as placeholders (docs/security.md, "Secrets"): its Gemini API key (its environment's, else the one in
/// <c>~/.gemini/.env</c>) a placeholder in its environment, its base URL the model endpoint (<see cref="ModelHosts.GeminiKey"/>);
/// and the <c>.env</c> the sandbox sees (read-only, where the owner's would be) a copy the server writes, each key in it a
/// placeholder. Gemini 0.61 in an untrusted workspace (as it runs here) reads no <c>.gemini/.env</c> itself, so the copy changes
/// nothing it does; it keeps the file's keys from whatever else runs in the sandbox.
/// </summary>
internal static partial class GeminiSecrets
{
    /// <summary>A <c>KEY=value</c> line of a key Gemini takes (its Gemini API key, or a Vertex AI express key), quotes and all.</summary>
    [GeneratedRegex(@"^(?<head>\s*(export\s+)?(GEMINI_API_KEY|GOOGLE_API_KEY)\s*=\s*[""']?)(?<value>[^""'\s#]+)(?<tail>.*)$")]
    private static partial Regex KeyLine();

    /// <param name="geminiFolder">Its <c>.gemini</c> folder.</param>
    /// <param name="folder">Where the sandbox's <c>.env</c> is written (the data folder's <c>agents/gemini</c>).</param>
    public static AgentState Hold(Func<string, string?> setting, string geminiFolder, string folder, Dictionary<string, string?> environment,
        AgentState state)
    {
        state = state with { Forwards = ModelHosts.GeminiKey(setting, geminiFolder, environment) };
        var dotEnv = Path.Combine(geminiFolder, ".env");
        if (ModelHosts.ReadText(dotEnv) is not { } text)
        {
            return state;
        }

        var lines = text.Split('\n').Select(line => KeyLine().Match(line) is { Success: true } key
            ? key.Groups["head"].Value + Placeholders.For(key.Groups["value"].Value) + key.Groups["tail"].Value
            : line);
        var written = Path.Combine(folder, "gemini.env");
        AgentHome.WritePrivate(written, string.Join('\n', lines));
        return state with { Config = [.. state.Config.Select(config => config.Path == dotEnv ? config with { Source = written } : config)] };
    }
}
