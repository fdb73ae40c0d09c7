using System.Text.Json;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// The models an ACP agent offers, read from its session/new (or load/resume) answer, and how one is chosen: a config option
/// of category <c>model</c> where it has one (session/set_config_option, the protocol's stable way), else its session models
/// (session/set_model).
/// </summary>
/// <param name="ConfigId">The model config option's id; null when the models came from the session models.</param>
internal sealed record AcpModels(AgentModels Offered, string? ConfigId)
{
    public static AcpModels? Read(NewSessionResponse? response)
    {
        if (response?.ConfigOptions?.FirstOrDefault(o => o is { Category: "model", Type: "select", Id: not null }) is { } option)
        {
            var current = option.CurrentValue is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;
            return new AcpModels(AgentModels.Of(Flatten(option.Options).Select(v => new AgentModel(v.Value!, v.Name ?? v.Value!, Blank(v.Description))), current),
                option.Id);
        }

        if (response?.Models is { } models)
        {
            return new AcpModels(AgentModels.Of((models.AvailableModels ?? []).OfType<ModelInfo>().Where(m => m.ModelId is { Length: > 0 })
                .Select(m => new AgentModel(m.ModelId!, m.Name ?? m.ModelId!, Blank(m.Description))), models.CurrentModelId), null);
        }

        return null;
    }

    /// <summary>The request that makes <paramref name="model"/> the session's.</summary>
    public (string Method, System.Text.Json.Nodes.JsonObject Parameters) Select(string sessionId, AgentModel model) => ConfigId is { } configId
        ? ("session/set_config_option", AcpJson.Object(new SetConfigOptionRequest(sessionId, configId, model.Id)))
        : ("session/set_model", AcpJson.Object(new SetSessionModelRequest(sessionId, model.Id)));

    // A select's values, or its groups' values.
    private static IEnumerable<ConfigValue> Flatten(IReadOnlyList<ConfigValue?>? values) =>
        (values ?? []).OfType<ConfigValue>().SelectMany(v => v.Options is { } group ? Flatten(group) : v.Value is { Length: > 0 } ? [v] : []);

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;
}
