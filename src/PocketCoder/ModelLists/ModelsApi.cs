
namespace PocketCoder.ModelLists;

/// <param name="Id">What selects it: a profile's or a session's <c>model</c>.</param>
public sealed record AgentModelResponse(string Id, string Name, string? Description);

/// <param name="Models">Empty when the agent names no models: its model is then free text.</param>
/// <param name="Default">The model it uses when none is chosen, where it says.</param>
/// <param name="Source"><c>session</c> (a session of it said so as it started) or <c>probe</c> (it was started to be asked).</param>
public sealed record AgentModelsResponse(string Agent, IReadOnlyList<AgentModelResponse> Models, string? Default, DateTimeOffset ReportedAt, string Source)
{
    public static AgentModelsResponse From(ModelList list) =>
        new(list.Agent, [.. list.Models.Select(m => new AgentModelResponse(m.Id, m.Name, m.Description))], list.Default, list.ReportedAt, list.Source);
}

/// <summary>The models each agent offers (docs/api.md, "Agents' models").</summary>
public static class ModelsApi
{
    public static IServiceCollection AddModelLists(this IServiceCollection services) => services.AddSingleton<ModelCatalog>();

    public static void MapModelLists(this IEndpointRouteBuilder api)
    {
        var models = api.MapGroup("/agents/{agentId}/models");
        models.MapGet("/", ListAsync).WithName("ListAgentModels");
        models.MapPost("/refresh", RefreshAsync).WithName("RefreshAgentModels");
    }

    private static async Task<AgentModelsResponse> ListAsync(string agentId, ModelCatalog catalog, CancellationToken cancellationToken) =>
        AgentModelsResponse.From(await catalog.GetAsync(agentId, refresh: false, cancellationToken));

    private static async Task<AgentModelsResponse> RefreshAsync(string agentId, ModelCatalog catalog, CancellationToken cancellationToken) =>
        AgentModelsResponse.From(await catalog.GetAsync(agentId, refresh: true, cancellationToken));
}
