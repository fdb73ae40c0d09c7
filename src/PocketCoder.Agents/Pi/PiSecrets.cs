using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Pi;

/// <summary>
/// Sandboxed pi's keys as placeholders (docs/security.md, "Secrets"): every key pi can read for a provider whose base URL is known
/// (the owner's <c>models.json</c> <c>baseUrl</c>, else a built-in provider's own API) — a key of its <c>auth.json</c>
/// (<c>"type": "api_key"</c>), the variable pi reads for a built-in provider (<c>ANTHROPIC_API_KEY</c> …), a <c>models.json</c>
/// <c>apiKey</c>, each the key itself or a variable holding it, as pi resolves them — is a placeholder inside, and that provider
/// gets a model endpoint of its own. The sandbox sees a <c>models.json</c> the server writes (read-only, where the owner's would
/// be): the owner's, with those providers' <c>baseUrl</c> the endpoint (for a built-in provider an override pi applies to all its
/// models) and a literal key its placeholder; and a copy of <c>auth.json</c> in the agent's home with its held keys placeholders.
/// The owner's files are never written. OAuth logins, a key made by a command (<c>!…</c>) and providers with no known base URL
/// keep what they have.
/// </summary>
internal static class PiSecrets
{
    /// <summary>Where pi's built-in providers send their requests (pi 0.73's model list: one base URL for all of a provider's models).</summary>
    private static readonly Dictionary<string, string> BuiltInBaseUrls = new(StringComparer.Ordinal)
    {
        ["anthropic"] = "https://api.anthropic.com",
        ["openai"] = "https://api.openai.com/v1",
        ["google"] = "https://generativelanguage.googleapis.com/v1beta",
        ["groq"] = "https://api.groq.com/openai/v1",
        ["cerebras"] = "https://api.cerebras.ai/v1",
        ["xai"] = "https://api.x.ai/v1",
        ["openrouter"] = "https://openrouter.ai/api/v1",
        ["mistral"] = "https://api.mistral.ai",
        ["deepseek"] = "https://api.deepseek.com",
        ["huggingface"] = "https://router.huggingface.co/v1",
        ["zai"] = "https://api.z.ai/api/coding/paas/v4",
        ["moonshotai"] = "https://api.moonshot.ai/v1",
        ["moonshotai-cn"] = "https://api.moonshot.cn/v1",
        ["minimax"] = "https://api.minimax.io/anthropic",
        ["minimax-cn"] = "https://api.minimaxi.com/anthropic",
        ["fireworks"] = "https://api.fireworks.ai/inference",
        ["kimi-coding"] = "https://api.kimi.com/coding",
        ["vercel-ai-gateway"] = "https://ai-gateway.vercel.sh",
    };

    /// <summary>The variables pi reads a built-in provider's key from (pi-ai's <c>getApiKeyEnvVars</c>), for those of <see cref="BuiltInBaseUrls"/>.</summary>
    private static readonly Dictionary<string, string[]> KeyVariables = new(StringComparer.Ordinal)
    {
        ["anthropic"] = ["ANTHROPIC_OAUTH_TOKEN", "ANTHROPIC_API_KEY"], ["openai"] = ["OPENAI_API_KEY"], ["google"] = ["GEMINI_API_KEY"],
        ["groq"] = ["GROQ_API_KEY"], ["cerebras"] = ["CEREBRAS_API_KEY"], ["xai"] = ["XAI_API_KEY"], ["openrouter"] = ["OPENROUTER_API_KEY"],
        ["mistral"] = ["MISTRAL_API_KEY"], ["deepseek"] = ["DEEPSEEK_API_KEY"], ["huggingface"] = ["HF_TOKEN"], ["zai"] = ["ZAI_API_KEY"],
        ["moonshotai"] = ["MOONSHOT_API_KEY"], ["moonshotai-cn"] = ["MOONSHOT_API_KEY"], ["minimax"] = ["MINIMAX_API_KEY"],
        ["minimax-cn"] = ["MINIMAX_CN_API_KEY"], ["fireworks"] = ["FIREWORKS_API_KEY"], ["kimi-coding"] = ["KIMI_API_KEY"],
        ["vercel-ai-gateway"] = ["AI_GATEWAY_API_KEY"],
    };

    /// <summary>The forwards to lay out and the <c>models.json</c> config that stands for the owner's; none where no key is held.</summary>
    /// <param name="agentFolder">pi's folder (its <c>models.json</c>, <c>auth.json</c>).</param>
    /// <param name="folder">Where the sandbox's <c>models.json</c> is written (the data folder's <c>agents/pi</c>).</param>
    /// <param name="home">The agent's home, where its copy of <c>auth.json</c> is written (in place of copying the owner's in).</param>
    /// <param name="model">The sandbox's model endpoints (the forwards' ports depend on them).</param>
    public static (IReadOnlyList<ModelForward> Forwards, AgentConfig? ModelsJson) Hold(AgentCommand command, string agentFolder, string folder,
        AgentHome home, IReadOnlyList<NetworkEndpoint> model, Dictionary<string, string?> environment)
    {
        var owners = Path.Combine(agentFolder, "models.json");
        var models = ModelHosts.ReadJson(owners) ?? [];
        // A models.json pi cannot read as providers is left to pi (it keeps its built-in models): nothing of it is rewritten.
        var providers = models["providers"] is { } node ? node as JsonObject : (JsonObject)(models["providers"] = new JsonObject());
        var held = new Keys(providers);

        HoldAuthJson(command, Path.Combine(agentFolder, "auth.json"), home, held, environment);
        foreach (var (provider, variables) in KeyVariables)
        {
            foreach (var variable in variables)
            {
                if (command.Setting(variable) is { Length: > 0 } real && held.Add(provider, variable, real))
                {
                    environment[variable] = Placeholders.For(real);
                }
            }
        }

        foreach (var (name, entry) in providers ?? [])
        {
            if (entry is JsonObject provider && Text(provider["apiKey"]) is { Length: > 0 } apiKey && !apiKey.StartsWith('!'))
            {
                // As pi resolves it: a variable of that name when one is set, else the value itself.
                if (command.Setting(apiKey) is { Length: > 0 } real)
                {
                    if (held.Add(name, apiKey, real))
                    {
                        environment[apiKey] = Placeholders.For(real);
                    }
                }
                else if (held.Add(name, $"{name}.apiKey (models.json)", apiKey))
                {
                    provider["apiKey"] = Placeholders.For(apiKey);
                }
            }
        }

        if (providers is null || held.Count == 0)
        {
            return ([], null);
        }

        var forwards = held.Forwards();
        for (var i = 0; i < forwards.Count; i++)
        {
            // A built-in provider the owner's file does not name gets an override of its base URL alone.
            if (providers[held.Provider(i)] is not JsonObject provider)
            {
                providers[held.Provider(i)] = provider = [];
            }

            provider["baseUrl"] = EgressLayout.ForwardUrl(model, forwards, i);
        }

        var written = Path.Combine(folder, "models.json");
        AgentHome.WritePrivate(written, models.ToJsonString());
        return (forwards, new AgentConfig(owners, Placeholder.JsonObject) { Source = written });
    }

    /// <summary>
    /// Writes the agent's copy of <c>auth.json</c> (the owner's where it is newer, else the agent's own) with each held key of the
    /// owner's a placeholder; a key that names a variable leaves the name there and holds the variable.
    /// </summary>
    private static void HoldAuthJson(AgentCommand command, string authFile, AgentHome home, Keys held, Dictionary<string, string?> environment)
    {
        if (ModelHosts.ReadJson(authFile) is not { } owners)
        {
            return;
        }

        var agents = home.JsonLoginCopy(authFile, owners, out var modifiedAt);
        foreach (var (provider, entry) in owners)
        {
            if (entry is not JsonObject login || Text(login["type"]) != "api_key" || Text(login["key"]) is not { Length: > 0 } key || key.StartsWith('!'))
            {
                continue;
            }

            if (command.Setting(key) is { Length: > 0 } real)
            {
                if (held.Add(provider, key, real))
                {
                    environment[key] = Placeholders.For(real);
                    agents[provider] = login.DeepClone();
                }
            }
            else if (held.Add(provider, $"{provider} (auth.json)", key))
            {
                var copy = (JsonObject)login.DeepClone();
                copy["key"] = Placeholders.For(key);
                agents[provider] = copy;
            }
        }

        home.Write(authFile, agents.ToJsonString(), modifiedAt);
    }

    private static string? Text(JsonNode? node) =>
        node?.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : null;

    /// <summary>The keys held so far, by provider, each provider with the one base URL its requests go to.</summary>
    private sealed class Keys(JsonObject? providers)
    {
        private readonly List<(string Provider, Uri Upstream, List<HeldSecret> Secrets)> _held = [];

        public int Count => _held.Count;

        /// <summary>Holds a key of <paramref name="provider"/>; false where its base URL is not known (it keeps the real value).</summary>
        public bool Add(string provider, string name, string real)
        {
            var index = _held.FindIndex(h => h.Provider == provider);
            if (index < 0)
            {
                if (Upstream(provider) is not { } upstream)
                {
                    return false;
                }

                _held.Add((provider, upstream, []));
                index = _held.Count - 1;
            }

            if (!_held[index].Secrets.Any(s => s.Name == name))
            {
                _held[index].Secrets.Add(HeldSecret.Of(name, real));
            }

            return true;
        }

        public string Provider(int index) => _held[index].Provider;

        public List<ModelForward> Forwards() => [.. _held.Select(h => new ModelForward(null, h.Upstream, h.Secrets))];

        /// <summary>
        /// Where a provider's requests go: its <c>models.json</c> <c>baseUrl</c>, else a built-in provider's own; null where that is no
        /// http(s) URL, or where a model of it has a base URL of its own (its requests would pass the endpoint by).
        /// </summary>
        private Uri? Upstream(string name)
        {
            if (providers is null)
            {
                return null;
            }

            var provider = providers[name] as JsonObject;
            var overrides = (provider?["modelOverrides"] as JsonObject ?? []).Select(o => o.Value);
            if ((provider?["models"] as JsonArray ?? []).Concat(overrides).Any(m => (m as JsonObject)?["baseUrl"] is not null))
            {
                return null;
            }

            var url = provider?["baseUrl"] is { } given ? Text(given) : BuiltInBaseUrls.GetValueOrDefault(name);
            return Uri.TryCreate(url, UriKind.Absolute, out var upstream) && upstream.Scheme is "http" or "https" ? upstream : null;
        }
    }
}
