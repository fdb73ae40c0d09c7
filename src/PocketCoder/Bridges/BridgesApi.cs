using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Server;

namespace PocketCoder.Bridges;

/// <param name="State"><c>connecting</c>, <c>connected</c>, <c>failing</c> (see <c>problem</c>), or <c>stopped</c> (configured, not running).</param>
/// <param name="Ignored">Messages and presses from people not linked, ignored since the bridge was made.</param>
/// <param name="Chats">Chats where a linked person wrote, most recent first: what the phone may bind (bound ones too).</param>
public sealed record BridgeResponse(string Id, string Platform, string State, string? BotName, string? Problem, long Ignored,
    IReadOnlyList<BridgeChannelResponse> Channels, IReadOnlyList<BridgePersonResponse> People, IReadOnlyList<BridgeChatResponse> Chats);

/// <param name="Direct">A direct chat with one person, not a group or channel.</param>
/// <param name="LastUserName">The linked person who wrote there last.</param>
/// <param name="ProjectId">The project it steers, or null while unbound.</param>
public sealed record BridgeChatResponse(string ChatId, string ChatTitle, bool Direct, string LastUserName, DateTimeOffset LastSeenAt, string? ProjectId);

public sealed record BindChannelRequest(
    [property: Required(ErrorMessage = "'chatId' is required: one of the chats the bridge lists.")]
    [property: PrintableText(200, AllowBlank = false, ErrorMessage = "'chatId' is 1 to 200 printable characters.")]
    string? ChatId,
    [property: Required(ErrorMessage = "'projectId' is required: the project the chat will steer.")]
    [property: PrintableText(200, AllowBlank = false, ErrorMessage = "'projectId' is 1 to 200 printable characters.")]
    string? ProjectId);

public sealed record BridgeChannelResponse(string ChatId, string ChatTitle, string ProjectId, string? Agent, string? SessionId, string BoundBy, DateTimeOffset BoundAt)
{
    public static BridgeChannelResponse From(BridgeChannel c) => new(c.ChatId, c.ChatTitle, c.ProjectId, c.Agent, c.SessionId, c.BoundBy, c.BoundAt);
}

/// <param name="Revoked">Their device was revoked: they can no longer act (a new pairing code links them again).</param>
public sealed record BridgePersonResponse(string UserId, string UserName, string DeviceId, DateTimeOffset LinkedAt, bool Revoked);

/// <summary>The chat bridges as the phone sees them: their state, the chats bound to projects, the people linked. Never a token.</summary>
public static class BridgesApi
{
    public static IServiceCollection AddBridges(this IServiceCollection services) =>
        services.AddSingleton<BridgeStore>().AddSingleton<BridgeServices>().AddRunningSingleton<BridgeHost>();

    public static void MapBridges(this IEndpointRouteBuilder api)
    {
        var bridges = api.MapGroup("/bridges");
        bridges.MapGet("/", List).WithName("ListBridges");
        bridges.MapPost("/{bridgeId}/channels", Bind).WithName("BindChannel");
        bridges.MapDelete("/{bridgeId}/channels/{chatId}", Unbind).WithName("UnbindChannel");
    }

    private static IEnumerable<BridgeResponse> List([FromServices] BridgeHost host, BridgeStore store, Devices devices, [FromServices] Server.PocketCoderOptions options)
    {
        var running = host.Bridges.ToDictionary(b => b.Definition.Id, StringComparer.Ordinal);
        var revoked = devices.List().Where(d => d.RevokedAt is not null).Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var people = store.People();
        var channels = store.Channels();
        var chats = store.Chats();
        return Configured(host, options).Select(definition =>
        {
            var health = running.TryGetValue(definition.Id, out var bridge) ? bridge.Health : new BridgeHealth("stopped", null, null);
            return new BridgeResponse(definition.Id, definition.Platform, health.State, health.BotName, health.Problem, store.Ignored(definition.Id),
                [.. channels.Where(c => c.BridgeId == definition.Id).Select(BridgeChannelResponse.From)],
                [.. people.Where(p => p.BridgeId == definition.Id)
                    .Select(p => new BridgePersonResponse(p.UserId, p.UserName, p.DeviceId, p.LinkedAt, revoked.Contains(p.DeviceId)))],
                [.. chats.Where(c => c.BridgeId == definition.Id)
                    .Select(c => new BridgeChatResponse(c.ChatId, c.ChatTitle, c.IsDirect, c.LastUserName, c.LastSeenAt,
                        channels.FirstOrDefault(b => b.BridgeId == c.BridgeId && b.ChatId == c.ChatId)?.ProjectId))]);
        }).ToList();
    }

    /// <summary>The bridges in bridges.json; while that file cannot be read, the ones running.</summary>
    private static IEnumerable<BridgeDefinition> Configured(BridgeHost host, Server.PocketCoderOptions options)
    {
        try
        {
            return BridgesFile.Load(options.DataDirectory);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return host.Bridges.Select(b => b.Definition);
        }
    }

    /// <summary>
    /// Binds a chat to a project from the phone: the chat must be one a linked person wrote in (so a group a stranger
    /// made and named cannot be picked by mistake), and only while that person is linked. The binding belongs to this
    /// device: revoking it unbinds the chat.
    /// </summary>
    private static Created<BridgeChannelResponse> Bind(string bridgeId, BindChannelRequest request, BridgeStore store, [FromServices] BridgeHost host,
        Projects.ProjectStore projects, [FromServices] Server.PocketCoderOptions options, ClaimsPrincipal user)
    {
        if (Configured(host, options).All(d => d.Id != bridgeId))
        {
            throw ApiProblem.NotFound(ErrorCodes.BridgeNotFound, $"No bridge '{bridgeId}' is configured.");
        }

        var chat = store.Chat(bridgeId, request.ChatId!)
            ?? throw ApiProblem.NotFound(ErrorCodes.BridgeChatNotFound,
                $"Bridge '{bridgeId}' knows no chat '{request.ChatId}': a linked person must write there first.");
        var project = projects.Get(request.ProjectId!);
        var channel = store.Bind(bridgeId, chat.ChatId, chat.ChatTitle, project.Id, user.Actor())
            ?? throw (projects.Find(project.Id) is null
                ? ApiProblem.NotFound(ErrorCodes.ProjectNotFound, $"No project with id '{project.Id}'.")
                : new ApiProblem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "This device was revoked."));
        host.Bridges.FirstOrDefault(b => b.Definition.Id == bridgeId)?.Bound(chat.ChatId, chat.IsDirect, project, user.Actor().Name);
        return TypedResults.Created($"/api/bridges/{Uri.EscapeDataString(bridgeId)}/channels/{Uri.EscapeDataString(chat.ChatId)}",
            BridgeChannelResponse.From(channel));
    }

    private static NoContent Unbind(string bridgeId, string chatId, BridgeStore store, [FromServices] BridgeHost host, ClaimsPrincipal user)
    {
        if (!store.Unbind(bridgeId, chatId, user.Actor()))
        {
            throw ApiProblem.NotFound(ErrorCodes.BridgeChannelNotFound, $"Bridge '{bridgeId}' has no bound chat '{chatId}'.");
        }

        host.ChannelsChanged(bridgeId);
        return TypedResults.NoContent();
    }
}
