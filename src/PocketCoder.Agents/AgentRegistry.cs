namespace PocketCoder.Agents;

/// <summary>The adapters this build knows, by id.</summary>
public sealed class AgentRegistry(IEnumerable<IAgentAdapter> adapters)
{
    private readonly Dictionary<string, IAgentAdapter> _byId = adapters.ToDictionary(a => a.Id, StringComparer.Ordinal);

    public IReadOnlyCollection<IAgentAdapter> All => _byId.Values;

    public IAgentAdapter? Find(string id) => _byId.GetValueOrDefault(id);
}
