using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Pi;

/// <summary>
/// Sandboxed pi's keys as placeholders (docs/security.md, "Secrets"): each provider of the owner's <c>models.json</c> with a base URL
/// and an <c>apiKey</c> (the key itself, or a variable holding it, as pi reads it) gets a model endpoint of its own. The sandbox sees a
/// <c>models.json</c> the server writes (read-only, where the owner's would be): the owner's, with those providers' <c>baseUrl</c> the
/// endpoint and a literal key its placeholder; a key in a variable is a placeholder in pi's environment. The owner's file is never
/// written.
/// </summary>
internal static class PiSecrets
{
    /// <summary>The forwards to lay out and the <c>models.json</c> config that stands for the owner's; none where no provider is held.</summary>
    /// <param name="agentFolder">pi's folder (its <c>models.json</c>, <c>auth.json</c>).</param>
    /// <param name="folder">Where the sandbox's <c>models.json</c> is written (the data folder's <c>agents/pi</c>).</param>
    /// <param name="model">The sandbox's model endpoints (the forwards' ports depend on them).</param>
    public static (IReadOnlyList<ModelForward> Forwards, AgentConfig? ModelsJson) Hold(AgentCommand command, string agentFolder, string folder,
        IReadOnlyList<NetworkEndpoint> model, Dictionary<string, string?> environment)
    {
        var owners = Path.Combine(agentFolder, "models.json");
        if (ModelHosts.ReadJson(owners) is not { } models || models["providers"] is not JsonObject providers)
        {
            return ([], null);
        }

        // A key or login of auth.json outranks models.json's apiKey for its provider: such a provider keeps what it has.
        var logins = ModelHosts.ReadJson(Path.Combine(agentFolder, "auth.json"));
        List<(JsonObject Provider, string? Variable, HeldSecret Secret, Uri Upstream)> held = [];
        foreach (var (name, node) in providers)
        {
            if (node is JsonObject provider && logins?.ContainsKey(name) != true && Held(command, name, provider) is var (variable, secret, upstream))
            {
                held.Add((provider, variable, secret, upstream));
            }
        }

        if (held.Count == 0)
        {
            return ([], null);
        }

        List<ModelForward> forwards = [.. held.Select(h => new ModelForward(null, h.Upstream, [h.Secret]))];
        for (var i = 0; i < held.Count; i++)
        {
            var (provider, variable, secret, _) = held[i];
            provider["baseUrl"] = EgressLayout.ForwardUrl(model, forwards, i);
            if (variable is null)
            {
                provider["apiKey"] = secret.Placeholder;
            }
            else
            {
                environment[variable] = secret.Placeholder;
            }
        }

        var written = Path.Combine(folder, "models.json");
        AgentHome.WritePrivate(written, models.ToJsonString());
        return (forwards, new AgentConfig(owners, Placeholder.JsonObject) { Source = written });
    }

    /// <summary>
    /// A provider's key held, with the variable it is in (null: written in models.json) and its base URL; null where pi would not send
    /// it to that base URL alone: no http(s) <c>baseUrl</c>, a key made by a command (<c>!…</c>), or a model with a base URL of its own.
    /// </summary>
    private static (string? Variable, HeldSecret Secret, Uri Upstream)? Held(AgentCommand command, string name, JsonObject provider)
    {
        if (provider["baseUrl"] is not JsonValue url || !url.TryGetValue<string>(out var baseUrl)
            || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https")
            || provider["apiKey"] is not JsonValue key || !key.TryGetValue<string>(out var apiKey) || apiKey.Length == 0 || apiKey.StartsWith('!')
            || (provider["models"] as JsonArray ?? []).Any(m => (m as JsonObject)?["baseUrl"] is not null))
        {
            return null;
        }

        // As pi resolves it: a variable of that name when one is set, else the value itself.
        return command.Setting(apiKey) is { Length: > 0 } real
            ? (apiKey, HeldSecret.Of(apiKey, real), upstream)
            : (null, HeldSecret.Of($"{name}.apiKey (models.json)", apiKey), upstream);
    }
}
