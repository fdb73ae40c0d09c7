using System.Text.RegularExpressions;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Sandboxed Codex's key as a placeholder (docs/security.md, "Secrets"): the key variable of the provider it uses (OpenAI's
/// <c>OPENAI_API_KEY</c>, or a provider's <c>env_key</c> in config.toml) holds a placeholder of the same shape, and its base URL is
/// PocketCoder's model endpoint inside (<c>openai_base_url</c> given on the command line, and <c>OPENAI_BASE_URL</c>, for OpenAI's
/// own provider; the provider's <c>base_url</c> for one of the owner's, whose config.toml stays as the owner wrote it), which puts the real key back on the
/// way to the real base URL. A key <c>codex login --with-api-key</c> saved in <c>auth.json</c> is held the same way: the agent's
/// copy of the file holds its placeholder.
/// </summary>
internal static class CodexSecrets
{
    /// <summary>The forwards to lay out and the arguments that point Codex at them; the key in <paramref name="environment"/> replaced.</summary>
    /// <param name="savedKey">The key of the owner's <c>auth.json</c>, already a placeholder in the agent's copy (<see cref="WithoutChatGptLogin"/>).</param>
    public static (IReadOnlyList<ModelForward> Forwards, IReadOnlyList<string> Arguments) Hold(AgentCommand command, string codexHome,
        IReadOnlyList<NetworkEndpoint> model, Dictionary<string, string?> environment, HeldSecret? savedKey = null)
    {
        var config = ModelHosts.ReadText(Path.Combine(codexHome, "config.toml")) ?? "";
        var provider = ModelHosts.CodexProvider(config) ?? "openai";
        string? variable, keyVariable, baseUrl;
        if (provider == "openai")
        {
            // The owner's openai_base_url (what Codex 0.169 reads), else OPENAI_BASE_URL (which earlier versions read), else OpenAI's API.
            var configured = ModelHosts.TomlStrings(config.Split("\n[", 2)[0], "openai_base_url").FirstOrDefault();
            (variable, keyVariable, baseUrl) = ("OPENAI_BASE_URL", "OPENAI_API_KEY",
                configured ?? (command.Setting("OPENAI_BASE_URL") is { Length: > 0 } set ? set : "https://api.openai.com/v1"));
        }
        else if (Regex.IsMatch(provider, "^[A-Za-z0-9_-]{1,64}$", RegexOptions.None, TimeSpan.FromSeconds(1)) && Table(config, provider) is { } table)
        {
            (variable, keyVariable, baseUrl) = (null, ModelHosts.TomlStrings(table, "env_key").FirstOrDefault(), ModelHosts.TomlStrings(table, "base_url").FirstOrDefault());
        }
        else
        {
            return ([], []);
        }

        // OpenAI's own provider takes its key from the variable or from auth.json, whichever Codex picks: each is held, and the
        // endpoint puts back whichever placeholder comes. A saved key with nowhere known to go stays a placeholder: failing closed.
        List<HeldSecret> secrets = provider == "openai" && savedKey is not null ? [savedKey] : [];
        var variableKey = keyVariable is not null && command.Setting(keyVariable) is { Length: > 0 } real ? HeldSecret.Of(keyVariable, real) : null;
        if (variableKey is not null)
        {
            secrets.Insert(0, variableKey);
        }

        if (secrets.Count == 0 || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https"))
        {
            return ([], []);
        }

        if (variableKey is not null)
        {
            environment[variableKey.Name] = variableKey.Placeholder;
        }

        ModelForward[] forwards = [new ModelForward(variable, upstream, secrets)];
        // Codex 0.169 takes OpenAI's base URL from its config's openai_base_url, not from OPENAI_BASE_URL (with only the variable
        // set it went to api.openai.com): both point at the endpoint.
        var setting = variable is not null ? "openai_base_url" : $"model_providers.{provider}.base_url";
        return (forwards, ["-c", $"{setting}=\"{EgressLayout.ForwardUrl(model, forwards, 0)}\""]);
    }

    /// <summary>
    /// A ChatGPT login (OpenAI's own provider, <c>auth.json</c> with its tokens) held outside (<see cref="CodexChatGptLogin"/>): the
    /// agent's <c>auth.json</c> written with placeholders, and all its ChatGPT traffic pointed at two model endpoints that put the real
    /// access token back on the way to the owner's <c>chatgpt_base_url</c> (else ChatGPT's backend): <c>chatgpt_base_url</c> (its
    /// workspace routing, model list, settings) at one, <c>openai_base_url</c> (the model) at the other. Two, because Codex 0.169
    /// sends its model requests to the workspace origin ChatGPT names (an https one) whenever the model's origin is the backend's; on
    /// an origin of its own the model is asked where it is configured. The token endpoint's host no longer passes: a refresh Codex
    /// tries anyway (a model answering 401) fails to connect, and the placeholder refresh token goes nowhere. Null where the login
    /// is no ChatGPT one, or the owner moved its model elsewhere (<c>OPENAI_BASE_URL</c>, <c>openai_base_url</c>) or set a key.
    /// </summary>
    public static (IReadOnlyList<ModelForward> Forwards, IReadOnlyList<string> Arguments, AgentState State)? HoldChatGpt(AgentCommand command,
        string codexHome, AgentHome home, AgentState state)
    {
        var config = ModelHosts.ReadText(Path.Combine(codexHome, "config.toml")) ?? "";
        var top = config.Split("\n[", 2)[0];
        var tokenUrl = CodexChatGptLogin.TokenEndpoint.For(command);
        var file = Path.Combine(codexHome, "auth.json");
        if (ModelHosts.CodexProvider(config) is not (null or "openai") || ModelHosts.TomlStrings(top, "openai_base_url").Any()
            || command.Setting("OPENAI_BASE_URL") is { Length: > 0 } || command.Setting("OPENAI_API_KEY") is { Length: > 0 }
            || !Uri.TryCreate(ModelHosts.TomlStrings(top, "chatgpt_base_url").FirstOrDefault() ?? "https://chatgpt.com/backend-api/", UriKind.Absolute, out var backend)
            || backend.Scheme is not ("http" or "https")
            || CodexChatGptLogin.Of(file, tokenUrl) is not { } login || login.SandboxCopy(out var real) is not { } copy || real is null)
        {
            return null;
        }

        // Written over whatever the agent's copy was (a real login copied in by an earlier version, or one it refreshed).
        home.Write(file, copy);
        var secret = login.Secret(real);
        // The endpoints forward to the backend's origin and Codex keeps its paths (it tells ChatGPT's API by the "/backend-api" in them).
        var origin = new Uri(backend.GetLeftPart(UriPartial.Authority));
        var path = backend.AbsolutePath.TrimEnd('/');
        // Only the requests Codex 0.169 makes there (its own codex/ folder: the model, compaction, the model list, analytics; the
        // workspace check and its apps' MCP server, each exactly): the token opens the owner's whole ChatGPT account (conversations, memory, Codex's cloud tasks
        // under wham/tasks, which start agents on the owner's repositories), none of which a command may reach through the endpoints.
        string[] routes =
        [
            $"POST {path}/codex/", $"GET {path}/codex/", $"GET {path}/wham/accounts/check", $"POST {path}/ps/mcp",
        ];
        ModelForward[] forwards = [new ModelForward(null, origin, [secret]) { Routes = routes }, new ModelForward(null, origin, [secret]) { Routes = routes }];
        var endpoints = state.Endpoints.Where(e => e.Host != CodexChatGptLogin.TokenEndpoint.Url.Host).ToList();
        return (forwards,
        [
            "-c", $"chatgpt_base_url=\"{EgressLayout.ForwardUrl(endpoints, forwards, 0)}{path}/\"",
            "-c", $"openai_base_url=\"{EgressLayout.ForwardUrl(endpoints, forwards, 1)}{path}/codex\"",
            // The endpoints relay requests, not WebSocket upgrades (a GET of codex/responses is no route of theirs): Codex is told
            // to use HTTPS from the start rather than try a WebSocket first.
            "-c", "features.responses_websockets=false", "-c", "features.responses_websockets_v2=false",
        ], state with { Forwards = forwards, Logins = [], Endpoints = endpoints });
    }

    /// <summary>
    /// Where the ChatGPT login is not held (the owner moved the model, or set a key): <c>auth.json</c> is never copied in whole. The
    /// agent's copy keeps what is not the login, its saved key (<c>codex login --with-api-key</c> writes <c>OPENAI_API_KEY</c> there)
    /// a placeholder, given back for <see cref="Hold"/> to put in again; a file that holds <c>tokens</c>, or cannot be read as JSON,
    /// gives the sandbox no ChatGPT token at all: failing closed, never open.
    /// </summary>
    public static (AgentState State, HeldSecret? SavedKey) WithoutChatGptLogin(string codexHome, AgentHome home, AgentState state)
    {
        var file = Path.Combine(codexHome, "auth.json");
        if (!state.Logins.Contains(file) || !File.Exists(file))
        {
            return (state, null);
        }

        string? copy = null;
        HeldSecret? savedKey = null;
        try
        {
            if (new FileInfo(file).Length < 1024 * 1024 && System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file)) is System.Text.Json.Nodes.JsonObject owners)
            {
                owners.Remove("tokens");
                owners.Remove("last_refresh");
                if (owners["OPENAI_API_KEY"] is { } key && key.GetValueKind() == System.Text.Json.JsonValueKind.String && key.GetValue<string>() is { Length: > 0 } real)
                {
                    savedKey = HeldSecret.Of("OPENAI_API_KEY (auth.json)", real);
                    owners["OPENAI_API_KEY"] = savedKey.Placeholder;
                }

                copy = owners.ToJsonString();
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            // Unreadable now (the owner's codex rewriting it, say): the session starts with no login rather than a copy of it.
        }

        home.Write(file, copy ?? "{}");
        return (state with { Logins = [.. state.Logins.Where(login => login != file)] }, savedKey);
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
