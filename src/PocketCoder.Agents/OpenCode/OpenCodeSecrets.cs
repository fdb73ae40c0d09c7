using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// Sandboxed OpenCode's (and Kilo Code's) keys as placeholders (docs/security.md, "Secrets"): each provider it has a key for, in
/// its <c>auth.json</c> (<c>"type": "api"</c>) or in its environment (<c>ANTHROPIC_API_KEY</c> …, or a variable its config's
/// <c>env</c> names), whose base URL is known (its config's <c>baseURL</c>, else the provider's own API), gets a model endpoint of
/// PocketCoder's inside; the provider's <c>baseURL</c> is pointed there through the inline config variable (which OpenCode merges
/// over its config files, so the owner's files stay as written), and the agent's copy of <c>auth.json</c> and its environment hold
/// placeholders. OAuth logins, and providers whose base URL is not known here, keep their real values.
/// </summary>
internal static class OpenCodeSecrets
{
    /// <summary>Where the providers OpenCode knows by name send their requests (the base URL their AI SDK package uses).</summary>
    private static readonly Dictionary<string, string> KnownBaseUrls = new(StringComparer.Ordinal)
    {
        ["anthropic"] = "https://api.anthropic.com/v1",
        ["openai"] = "https://api.openai.com/v1",
        ["google"] = "https://generativelanguage.googleapis.com/v1beta",
        ["openrouter"] = "https://openrouter.ai/api/v1",
        ["groq"] = "https://api.groq.com/openai/v1",
        ["xai"] = "https://api.x.ai/v1",
        ["mistral"] = "https://api.mistral.ai/v1",
        ["deepseek"] = "https://api.deepseek.com/v1",
    };

    /// <summary>The variables OpenCode reads a built-in provider's key from.</summary>
    private static readonly (string Variable, string Provider)[] KeyVariables =
    [
        ("ANTHROPIC_API_KEY", "anthropic"), ("OPENAI_API_KEY", "openai"), ("GEMINI_API_KEY", "google"), ("GOOGLE_GENERATIVE_AI_API_KEY", "google"),
        ("OPENROUTER_API_KEY", "openrouter"), ("GROQ_API_KEY", "groq"), ("XAI_API_KEY", "xai"), ("MISTRAL_API_KEY", "mistral"),
        ("DEEPSEEK_API_KEY", "deepseek"),
    ];

    /// <summary>
    /// Writes the agent's <c>auth.json</c> (the owner's where it is newer than the agent's copy, else the agent's own, each held
    /// key a placeholder), puts placeholders for the key variables into <paramref name="environment"/> with the providers' base
    /// URLs pointed at the model endpoints in its inline config, and returns the forwards to lay out.
    /// </summary>
    public static IReadOnlyList<ModelForward> Hold(AgentCommand command, OpenCodeFlavor flavor, string configFolder, string dataFolder,
        AgentHome home, IReadOnlyList<NetworkEndpoint> model, Dictionary<string, string?> environment)
    {
        var configs = Configs(command, flavor, configFolder);
        var held = new Dictionary<string, List<HeldSecret>>(StringComparer.Ordinal);
        var upstreams = new Dictionary<string, Uri>(StringComparer.Ordinal);
        bool Holds(string provider)
        {
            if (upstreams.ContainsKey(provider))
            {
                return true;
            }

            if (Upstream(configs, provider) is not { } upstream)
            {
                return false;
            }

            upstreams[provider] = upstream;
            held[provider] = [];
            return true;
        }

        var authFile = Path.Combine(dataFolder, "auth.json");
        if (ModelHosts.ReadJson(authFile) is { } owners)
        {
            var agents = home.JsonLoginCopy(authFile, owners, out var modifiedAt);
            foreach (var (provider, entry) in owners)
            {
                if (entry is JsonObject { } login && Text(login["type"]) == "api" && Text(login["key"]) is { Length: > 0 } real && Holds(provider))
                {
                    var secret = HeldSecret.Of($"{provider} (auth.json)", real);
                    var copy = (JsonObject)login.DeepClone();
                    copy["key"] = secret.Placeholder;
                    agents[provider] = copy;
                    held[provider].Add(secret);
                }
            }

            home.Write(authFile, agents.ToJsonString(), modifiedAt);
        }

        var variables = KeyVariables.Concat(configs.SelectMany(config => Providers(config))
            .SelectMany(p => (p.Value["env"] as JsonArray ?? []).Select(Text).OfType<string>().Select(variable => (variable, p.Key))));
        foreach (var (variable, provider) in variables.Distinct())
        {
            if (command.Setting(variable) is { Length: > 0 } real && Holds(provider))
            {
                var secret = HeldSecret.Of(variable, real);
                environment[variable] = secret.Placeholder;
                held[provider].Add(secret);
            }
        }

        var pointed = held.Where(p => p.Value.Count > 0).ToList();
        var forwards = pointed.Select(p => new ModelForward(null, upstreams[p.Key], p.Value)).ToList();
        if (forwards.Count == 0)
        {
            return [];
        }

        // Each provider's baseURL set to its endpoint in the inline config, merged over whatever inline config there is already.
        var contentVariable = flavor.Variable("CONFIG_CONTENT");
        var inline = environment.TryGetValue(contentVariable, out var set) ? set : command.Setting(contentVariable);
        var merged = inline is { Length: > 0 } && ModelHosts.ParseJson(inline) is { } theirs ? theirs : [];
        var providers = merged["provider"] as JsonObject ?? [];
        for (var i = 0; i < pointed.Count; i++)
        {
            var provider = providers[pointed[i].Key] as JsonObject ?? [];
            var options = provider["options"] as JsonObject ?? [];
            options["baseURL"] = EgressLayout.ForwardUrl(model, forwards, i);
            provider["options"] = options;
            providers[pointed[i].Key] = provider;
        }

        merged["provider"] = providers;
        environment[contentVariable] = merged.ToJsonString();
        return forwards;
    }

    /// <summary>The provider's real base URL: its config's <c>baseURL</c> (the last config that sets it), else the provider's own API; null when not known.</summary>
    private static Uri? Upstream(IReadOnlyList<JsonObject> configs, string provider)
    {
        var given = configs.Select(config => Providers(config).FirstOrDefault(p => p.Key == provider).Value?["options"]?["baseURL"])
            .Select(Text).LastOrDefault(url => url is { Length: > 0 });
        var url = given ?? KnownBaseUrls.GetValueOrDefault(provider);
        return Uri.TryCreate(url?.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && !uri.Query.Contains('{') ? uri : null;
    }

    /// <summary>The config files OpenCode reads for the owner, in the order it merges them (a later one wins).</summary>
    private static List<JsonObject> Configs(AgentCommand command, OpenCodeFlavor flavor, string configFolder) =>
    [
        .. flavor.ConfigFiles.Append("config.json").Select(file => Path.Combine(configFolder, file))
            .Append(command.Setting(flavor.Variable("CONFIG"))).OfType<string>().Select(ModelHosts.ReadJson).OfType<JsonObject>(),
        .. command.Setting(flavor.Variable("CONFIG_CONTENT")) is { Length: > 0 } content && ModelHosts.ParseJson(content) is { } inline ? [inline] : Array.Empty<JsonObject>(),
    ];

    private static IEnumerable<KeyValuePair<string, JsonObject>> Providers(JsonObject config) =>
        (config["provider"] as JsonObject ?? []).Where(p => p.Value is JsonObject).Select(p => KeyValuePair.Create(p.Key, (JsonObject)p.Value!));

    private static string? Text(JsonNode? node) =>
        node?.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : null;
}
