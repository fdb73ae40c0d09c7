namespace PocketCoder.Agents;

/// <summary>A model an agent offers, as it names it: <paramref name="Id"/> is what selects it (a profile's <c>model</c>).</summary>
/// <param name="Name">What a person reads (the agent's display name; the id where it gives none).</param>
public sealed record AgentModel(string Id, string Name, string? Description);

/// <summary>
/// The models an agent says it offers (ACP's session models or its model config option, Claude Code's initialize answer,
/// Codex's <c>model/list</c>) and the one a session of it uses.
/// </summary>
/// <param name="Current">The id of the model in use: where the agent names one outside its list (a model of the owner's own
/// provider, say), it is added to the list, so that a picker always holds it.</param>
public sealed record AgentModels(IReadOnlyList<AgentModel> Models, string? Current)
{
    /// <summary>The list with <see cref="Current"/> in it, ids unique, in the agent's order.</summary>
    public static AgentModels Of(IEnumerable<AgentModel> models, string? current)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        List<AgentModel> list = [.. models.Where(m => m.Id.Length > 0 && seen.Add(m.Id))];
        if (current is { Length: > 0 } && !seen.Contains(current))
        {
            list.Insert(0, new AgentModel(current, current, null));
        }

        return new AgentModels(list, current is { Length: > 0 } ? current : null);
    }

    /// <summary>The model a chosen name selects: by id, else by display name (ignoring case); null when none does.</summary>
    public AgentModel? Find(string chosen) =>
        Models.FirstOrDefault(m => m.Id == chosen) ?? Models.FirstOrDefault(m => string.Equals(m.Name, chosen, StringComparison.OrdinalIgnoreCase));
}
