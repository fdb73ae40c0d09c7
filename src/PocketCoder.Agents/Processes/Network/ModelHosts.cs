using System.Text.Json.Nodes;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// Where each agent's model is, read as the agent reads it (docs/agents.md, "Where each agent's model is"): a base URL the owner
/// set (a variable, or the agent's own settings) replaces the provider's hosts; otherwise the provider's API, and the host its
/// login refreshes its token at. A sandbox passes connections to these and asks about any other; a host missing here is
/// therefore asked about, never silently reached.
/// </summary>
public static class ModelHosts
{
    private static NetworkEndpoint Https(string host) => new(host, 443);

    /// <summary>
    /// Claude Code (and claude-agent-acp, which runs it): <c>ANTHROPIC_BASE_URL</c> from its environment or the owner's
    /// <c>settings.json</c> <c>env</c>; Bedrock or Vertex when chosen; else the API and the OAuth token's refresh.
    /// </summary>
    public static IReadOnlyList<NetworkEndpoint> Claude(Func<string, string?> setting, string configFolder)
    {
        var settings = ReadJson(Path.Combine(configFolder, "settings.json"))?["env"] as JsonObject;
        string? Variable(string name) => setting(name) is { Length: > 0 } value ? value : String(settings?[name]);

        if (Variable("CLAUDE_CODE_USE_BEDROCK") is { Length: > 0 } and not "0")
        {
            var region = Variable("AWS_REGION") ?? Variable("AWS_DEFAULT_REGION") ?? "us-east-1";
            return Urls(Variable("ANTHROPIC_BEDROCK_BASE_URL")) is [_, ..] bedrock ? bedrock : [Https($"bedrock-runtime.{region}.amazonaws.com")];
        }

        if (Variable("CLAUDE_CODE_USE_VERTEX") is { Length: > 0 } and not "0")
        {
            var region = Variable("CLOUD_ML_REGION") ?? "us-east5";
            return Urls(Variable("ANTHROPIC_VERTEX_BASE_URL")) is [_, ..] vertex ? vertex
                : [Https(region == "global" ? "aiplatform.googleapis.com" : $"{region}-aiplatform.googleapis.com"), Https("oauth2.googleapis.com")];
        }

        return Urls(Variable("ANTHROPIC_BASE_URL")) is [_, ..] given ? given : [Https("api.anthropic.com"), Https("platform.claude.com")];
    }

    /// <summary>
    /// Codex: every <c>base_url</c> of a provider in its <c>config.toml</c> and <c>OPENAI_BASE_URL</c>; with OpenAI's own provider
    /// (no <c>model_provider</c>, or <c>openai</c>) the API, ChatGPT's backend (a ChatGPT login's model) and its login's refresh.
    /// </summary>
    public static IReadOnlyList<NetworkEndpoint> Codex(Func<string, string?> setting, string codexHome)
    {
        var config = ReadText(Path.Combine(codexHome, "config.toml")) ?? "";
        var urls = TomlStrings(config, "base_url").Concat(TomlStrings(config, "chatgpt_base_url")).Append(setting("OPENAI_BASE_URL"));
        var provider = CodexProvider(config);
        List<NetworkEndpoint> hosts = [.. Urls([.. urls])];
        if (provider is null or "openai")
        {
            hosts.AddRange([Https("api.openai.com"), Https("chatgpt.com"), Https("auth.openai.com")]);
        }
        else if (provider is "oss" or "ollama")
        {
            hosts.AddRange(Urls(setting("CODEX_OSS_BASE_URL") ?? $"http://localhost:{setting("CODEX_OSS_PORT") ?? "11434"}"));
        }
        else if (provider is "lmstudio")
        {
            hosts.Add(new NetworkEndpoint("localhost", 1234));
        }

        return [.. hosts.Distinct()];
    }

    /// <summary>Whether Codex uses OpenAI's own provider (no <c>model_provider</c>, or <c>openai</c>): only then does it log in with its auth.json.</summary>
    public static bool CodexUsesOpenAi(string codexHome) => CodexProvider(ReadText(Path.Combine(codexHome, "config.toml")) ?? "") is null or "openai";

    /// <summary>The top-level <c>model_provider</c> of a Codex config.toml (before its first table), or null.</summary>
    internal static string? CodexProvider(string config) => TomlStrings(config.Split("\n[", 2)[0], "model_provider").FirstOrDefault();

    // The hosts of the providers OpenCode knows by name, and what their logins refresh at (OAuth): used when one is configured,
    // logged in to (auth.json), or has its key in the environment, and gives no base URL of its own.
    private static readonly Dictionary<string, string[]> OpenCodeProviders = new(StringComparer.Ordinal)
    {
        ["anthropic"] = ["api.anthropic.com", "console.anthropic.com"],
        ["openai"] = ["api.openai.com", "chatgpt.com", "auth.openai.com"],
        ["google"] = ["generativelanguage.googleapis.com"],
        ["github-copilot"] = ["api.githubcopilot.com", "api.github.com"],
        ["opencode"] = ["opencode.ai"],
        ["openrouter"] = ["openrouter.ai"],
        ["groq"] = ["api.groq.com"],
        ["xai"] = ["api.x.ai"],
        ["mistral"] = ["api.mistral.ai"],
        ["deepseek"] = ["api.deepseek.com"],
        // Kilo Code's own gateway (its default provider, and its login).
        ["kilo"] = ["api.kilo.ai"],
    };

    private static readonly Dictionary<string, string> OpenCodeKeys = new(StringComparer.Ordinal)
    {
        ["ANTHROPIC_API_KEY"] = "anthropic", ["OPENAI_API_KEY"] = "openai", ["GEMINI_API_KEY"] = "google", ["GOOGLE_GENERATIVE_AI_API_KEY"] = "google",
        ["OPENROUTER_API_KEY"] = "openrouter", ["GROQ_API_KEY"] = "groq", ["XAI_API_KEY"] = "xai", ["MISTRAL_API_KEY"] = "mistral",
        ["DEEPSEEK_API_KEY"] = "deepseek",
    };

    /// <summary>
    /// OpenCode, or its fork Kilo Code (<paramref name="flavor"/>: its variables and file names): each provider of its config files
    /// (<c>OPENCODE_CONFIG</c>, <c>OPENCODE_CONFIG_CONTENT</c>, its config folder's <c>opencode.json(c)</c> and <c>config.json</c>) by
    /// its <c>baseURL</c>, else by name; the providers it is logged in to (<c>auth.json</c>) or has a key for; and its model catalog
    /// (<c>MODELS_URL</c>, else its own) unless <c>DISABLE_MODELS_FETCH</c>.
    /// </summary>
    public static IReadOnlyList<NetworkEndpoint> OpenCode(Func<string, string?> setting, PocketCoder.Agents.OpenCode.OpenCodeFlavor flavor, string configFolder, string dataFolder)
    {
        var configs = flavor.ConfigFiles.Append("config.json").Select(file => Path.Combine(configFolder, file)).Prepend(setting(flavor.Variable("CONFIG")))
            .OfType<string>().Select(ReadJson)
            .Append(setting(flavor.Variable("CONFIG_CONTENT")) is { Length: > 0 } content ? ParseJson(content) : null)
            .OfType<JsonObject>();
        var hosts = new List<NetworkEndpoint>();
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, provider) in configs.Select(c => c["provider"]).OfType<JsonObject>().SelectMany(p => p))
        {
            var options = (provider as JsonObject)?["options"] as JsonObject;
            if (Urls(String(options?["baseURL"]), String((provider as JsonObject)?["api"])) is [_, ..] given)
            {
                hosts.AddRange(given);
            }
            else
            {
                named.Add(name);
            }
        }

        named.UnionWith(ReadJson(Path.Combine(dataFolder, "auth.json"))?.Select(entry => entry.Key) ?? []);
        named.UnionWith(OpenCodeKeys.Where(key => setting(key.Key) is { Length: > 0 }).Select(key => key.Value));
        hosts.AddRange(named.SelectMany(name => OpenCodeProviders.GetValueOrDefault(name) ?? []).Select(Https));
        if (setting(flavor.Variable("DISABLE_MODELS_FETCH")) is not { Length: > 0 })
        {
            hosts.AddRange(Urls(setting(flavor.Variable("MODELS_URL"))) is [_, ..] catalog ? catalog
                : [Https(flavor.AgentId == PocketCoder.Agents.OpenCode.OpenCodeFlavor.KiloId ? "models.dev" : "models.opencode.ai")]);
        }

        return [.. hosts.Distinct()];
    }

    /// <summary>
    /// Gemini CLI: <c>GOOGLE_GEMINI_BASE_URL</c> (its environment, or <c>~/.gemini/.env</c>); Vertex AI when chosen; else the
    /// Gemini API, Code Assist (a Google login's model) and the login's token refresh.
    /// </summary>
    public static IReadOnlyList<NetworkEndpoint> Gemini(Func<string, string?> setting, string geminiFolder)
    {
        var file = DotEnv(Path.Combine(geminiFolder, ".env"));
        string? Variable(string name) => setting(name) is { Length: > 0 } value ? value : file.GetValueOrDefault(name);
        if (Urls(Variable("GOOGLE_GEMINI_BASE_URL")) is [_, ..] given)
        {
            return given;
        }

        if (Variable("GOOGLE_GENAI_USE_VERTEXAI") is "true" or "1")
        {
            var location = Variable("GOOGLE_CLOUD_LOCATION") ?? "us-central1";
            return [Https(location == "global" ? "aiplatform.googleapis.com" : $"{location}-aiplatform.googleapis.com"), Https("aiplatform.googleapis.com"),
                Https("oauth2.googleapis.com")];
        }

        return [Https("generativelanguage.googleapis.com"), Https("cloudcode-pa.googleapis.com"), Https("oauth2.googleapis.com")];
    }

    /// <summary>Whether Gemini CLI logs in with a key (its environment, <c>~/.gemini/.env</c>, or <c>selectedType</c> <c>gemini-api-key</c>/<c>vertex-ai</c>).</summary>
    public static bool GeminiKeyed(Func<string, string?> setting, string geminiFolder)
    {
        var file = DotEnv(Path.Combine(geminiFolder, ".env"));
        var selected = String(ReadJson(Path.Combine(geminiFolder, "settings.json"))?["security"]?["auth"]?["selectedType"]);
        return selected is "gemini-api-key" or "vertex-ai"
            || new[] { "GEMINI_API_KEY", "GOOGLE_API_KEY" }.Any(name => setting(name) is { Length: > 0 } || file.ContainsKey(name));
    }

    /// <summary>
    /// Gemini CLI's key as a placeholder: <c>GEMINI_API_KEY</c> of its environment (else of <c>~/.gemini/.env</c>, which Gemini does
    /// not read itself in the untrusted workspace it runs in: the server puts its key in as the owner's terminal Gemini would take it), for a Gemini API login (<c>selectedType</c>
    /// <c>gemini-api-key</c>, or none, where a base URL makes it a "gateway" login sending the same key), sent as
    /// <c>x-goog-api-key</c> (or a bearer); its base URL (<c>GOOGLE_GEMINI_BASE_URL</c>, which it reads for both) the one the owner
    /// set (its environment or <c>~/.gemini/.env</c>, which never overrides a variable set) else the Gemini API's. Not for Vertex AI
    /// or a Google login, whose credentials are a cloud's or an OAuth login's.
    /// </summary>
    public static IReadOnlyList<ModelForward> GeminiKey(Func<string, string?> setting, string geminiFolder, Dictionary<string, string?> environment)
    {
        const string url = "GOOGLE_GEMINI_BASE_URL";
        var selected = String(ReadJson(Path.Combine(geminiFolder, "settings.json"))?["security"]?["auth"]?["selectedType"]);
        if (selected is not (null or "gemini-api-key" or "gateway") || setting("GOOGLE_GENAI_USE_VERTEXAI") is "true" or "1"
            || setting("GOOGLE_GENAI_USE_GCA") is "true")
        {
            return [];
        }

        var file = DotEnv(Path.Combine(geminiFolder, ".env"));
        return ModelForward.OfVariables(name => name is url or "GEMINI_API_KEY" && setting(name) is not { Length: > 0 } ? file.GetValueOrDefault(name) : setting(name),
            ["GEMINI_API_KEY"], url, "https://generativelanguage.googleapis.com", environment) is { } forward ? [forward] : [];
    }

    /// <summary>
    /// Qwen Code's key as a placeholder, for the OpenAI-compatible and Anthropic logins it takes from its environment
    /// (<c>OPENAI_API_KEY</c>/<c>OPENAI_BASE_URL</c>, <c>ANTHROPIC_API_KEY</c>/<c>ANTHROPIC_BASE_URL</c>: its <c>AUTH_ENV_MAPPINGS</c>),
    /// the base URL the owner set (its environment or <c>~/.qwen/.env</c>) else the provider's. Not when its settings name a key or
    /// base URL of their own (they would take it past the endpoint), nor for a Qwen or Gemini login.
    /// </summary>
    public static IReadOnlyList<ModelForward> QwenKey(Func<string, string?> setting, string qwenFolder, Dictionary<string, string?> environment)
    {
        var file = DotEnv(Path.Combine(qwenFolder, ".env"));
        var settings = ReadJson(Path.Combine(qwenFolder, "settings.json"));
        var auth = settings?["security"]?["auth"] as JsonObject;
        if (auth?["apiKey"] is not null || auth?["baseUrl"] is not null || settings?["modelProviders"] is not null)
        {
            return [];
        }

        var (key, url, fallback) = String(auth?["selectedType"]) switch
        {
            "openai" or "openai-responses" => ("OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
            "anthropic" => ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
            _ => (null, null, null),
        };
        return key is null ? []
            : ModelForward.OfVariables(name => name == url && setting(name) is not { Length: > 0 } ? file.GetValueOrDefault(name) : setting(name), [key],
                url!, fallback!, environment) is { } forward ? [forward] : [];
    }

    /// <summary>Whether Qwen Code signs in with its own login (<c>selectedType</c> <c>qwen-oauth</c>) rather than a key.</summary>
    public static bool QwenSignsIn(string qwenFolder) =>
        String(ReadJson(Path.Combine(qwenFolder, "settings.json"))?["security"]?["auth"]?["selectedType"]) is null or "qwen-oauth";

    /// <summary>Copilot CLI: its bring-your-own-key provider (<c>COPILOT_PROVIDER_BASE_URL</c>); else GitHub's Copilot API and GitHub's API (its login).</summary>
    public static IReadOnlyList<NetworkEndpoint> Copilot(Func<string, string?> setting)
    {
        if (Urls(setting("COPILOT_PROVIDER_BASE_URL")) is [_, ..] given)
        {
            return given;
        }

        if (setting("GH_HOST") is { Length: > 0 } enterprise && enterprise != "github.com")
        {
            return [Https($"api.{enterprise}"), Https($"copilot-api.{enterprise}")];
        }

        return [Https("api.githubcopilot.com"), Https("api.individual.githubcopilot.com"), Https("api.business.githubcopilot.com"),
            Https("api.enterprise.githubcopilot.com"), Https("api.github.com")];
    }

    /// <summary>
    /// Qwen Code: <c>OPENAI_BASE_URL</c> (its environment, or <c>~/.qwen/.env</c>) for an OpenAI-compatible provider; with a Qwen
    /// login, Qwen's token service and DashScope; else OpenAI's API.
    /// </summary>
    public static IReadOnlyList<NetworkEndpoint> Qwen(Func<string, string?> setting, string qwenFolder)
    {
        var file = DotEnv(Path.Combine(qwenFolder, ".env"));
        var selected = ReadJson(Path.Combine(qwenFolder, "settings.json"))?["security"]?["auth"]?["selectedType"];
        if (String(selected) == "qwen-oauth")
        {
            return [Https("chat.qwen.ai"), Https("portal.qwen.ai"), Https("dashscope.aliyuncs.com"), Https("dashscope-intl.aliyuncs.com")];
        }

        return Urls(setting("OPENAI_BASE_URL") is { Length: > 0 } url ? url : file.GetValueOrDefault("OPENAI_BASE_URL")) is [_, ..] given
            ? given
            : [Https("api.openai.com")];
    }

    // The hosts of pi's built-in providers it may be set to or logged in to (its OAuth logins refresh at the same hosts).
    private static readonly Dictionary<string, string[]> PiProviders = new(StringComparer.Ordinal)
    {
        ["anthropic"] = ["api.anthropic.com", "console.anthropic.com"],
        ["openai"] = ["api.openai.com"],
        ["openai-codex"] = ["chatgpt.com", "auth.openai.com"],
        ["google"] = ["generativelanguage.googleapis.com"],
        ["google-gemini-cli"] = ["cloudcode-pa.googleapis.com", "oauth2.googleapis.com"],
        ["github-copilot"] = ["api.githubcopilot.com", "api.individual.githubcopilot.com", "api.github.com", "github.com"],
        ["openrouter"] = ["openrouter.ai"],
        ["groq"] = ["api.groq.com"],
        ["xai"] = ["api.x.ai"],
        ["mistral"] = ["api.mistral.ai"],
        ["cerebras"] = ["api.cerebras.ai"],
    };

    /// <summary>
    /// pi: every <c>baseUrl</c> of a provider in its <c>models.json</c>; and the hosts of its built-in providers it is set to
    /// (<c>settings.json</c> <c>defaultProvider</c>), logged in to (<c>auth.json</c>) or has a key for in its environment.
    /// </summary>
    public static IReadOnlyList<NetworkEndpoint> Pi(Func<string, string?> setting, string agentFolder)
    {
        var providers = ReadJson(Path.Combine(agentFolder, "models.json"))?["providers"] as JsonObject;
        List<NetworkEndpoint> hosts = [.. Urls([.. (providers ?? []).Select(p => String((p.Value as JsonObject)?["baseUrl"]))])];
        var named = new HashSet<string>(StringComparer.Ordinal);
        if (String(ReadJson(Path.Combine(agentFolder, "settings.json"))?["defaultProvider"]) is { } chosen)
        {
            named.Add(chosen);
        }

        named.UnionWith(ReadJson(Path.Combine(agentFolder, "auth.json"))?.Select(entry => entry.Key) ?? []);
        named.UnionWith(OpenCodeKeys.Where(key => setting(key.Key) is { Length: > 0 }).Select(key => key.Value));
        hosts.AddRange(named.SelectMany(name => PiProviders.GetValueOrDefault(name) ?? []).Select(Https));
        return [.. hosts.Distinct()];
    }

    /// <summary>The endpoints of the URLs given (none when unset or not an http(s) URL).</summary>
    public static IReadOnlyList<NetworkEndpoint> Urls(params string?[] urls) =>
        [.. urls.Select(NetworkEndpoint.FromUrl).OfType<NetworkEndpoint>().Distinct()];

    /// <summary>A JSON object file of the owner's, or null (missing, too large, not JSON): never a reason not to start.</summary>
    internal static JsonObject? ReadJson(string path) => ReadText(path) is { } text ? ParseJson(text) : null;

    /// <summary>JSON with comments and trailing commas, as the agents read their settings; null where it is no object.</summary>
    internal static JsonObject? ParseJson(string text)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new System.Text.Json.JsonDocumentOptions
            {
                CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true,
            }) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>A small text file of the owner's (under 4 MB), or null.</summary>
    internal static string? ReadText(string path)
    {
        try
        {
            return new FileInfo(path) is { Exists: true, Length: < 4 * 1024 * 1024 } ? File.ReadAllText(path) : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? String(JsonNode? node) =>
        node?.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : null;

    /// <summary>The values of <c>KEY = "…"</c> lines in a TOML file (a key of any table): enough to find its URLs.</summary>
    internal static IEnumerable<string> TomlStrings(string toml, string key) =>
        System.Text.RegularExpressions.Regex.Matches(toml, $@"(?m)^\s*{key}\s*=\s*[""']([^""'\r\n]+)[""']", System.Text.RegularExpressions.RegexOptions.None,
            TimeSpan.FromSeconds(1)).Select(match => match.Groups[1].Value);

    /// <summary>A <c>.env</c> file's <c>KEY=value</c> lines (quotes taken off).</summary>
    private static Dictionary<string, string> DotEnv(string path) =>
        (ReadText(path) ?? "").Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#') && line.Contains('='))
        .Select(line => line.StartsWith("export ", StringComparison.Ordinal) ? line[7..] : line)
        .Select(line => (Key: line[..line.IndexOf('=')].Trim(), Value: line[(line.IndexOf('=') + 1)..].Trim().Trim('"', '\'')))
        .GroupBy(entry => entry.Key).ToDictionary(group => group.Key, group => group.Last().Value, StringComparer.Ordinal);
}
