using Microsoft.AspNetCore.Http.HttpResults;
using System.Security.Claims;
using PocketCoder.Auth;
using PocketCoder.Errors;

namespace PocketCoder.Bridges;

/// <param name="State"><c>connecting</c>, <c>connected</c>, <c>failing</c> (see <c>problem</c>), or <c>stopped</c> (configured, not running).</param>
/// <param name="Ignored">Messages and presses from people not linked, ignored since the bridge was made.</param>
public sealed record BridgeResponse(string Id, string Platform, string State, string? BotName, string? Problem, long Ignored,
    IReadOnlyList<BridgeChannelResponse> Channels, IReadOnlyList<BridgePersonResponse> People);

public sealed record BridgeChannelResponse(string ChatId, string ChatTitle, string ProjectId, string? Agent, string? SessionId, string BoundBy, DateTimeOffset BoundAt);

/// <param name="Revoked">Their device was revoked: they can no longer act (a new pairing code links them again).</param>
public sealed record BridgePersonResponse(string UserId, string UserName, string DeviceId, DateTimeOffset LinkedAt, bool Revoked);

/// <summary>The chat bridges as the phone sees them: their state, the chats bound to projects, the people linked. Never a token.</summary>
public static class BridgesApi
{
    public static void MapBridges(this IEndpointRouteBuilder api)
    {
        var bridges = api.MapGroup("/bridges");
        bridges.MapGet("/", List).WithName("ListBridges");
        bridges.MapDelete("/{bridgeId}/channels/{chatId}", Unbind).WithName("UnbindChannel");
    }

    private static IEnumerable<BridgeResponse> List(BridgeHost host, BridgeStore store, Devices devices, Server.PocketCoderOptions options)
    {
        var running = host.Bridges.ToDictionary(b => b.Definition.Id, StringComparer.Ordinal);
        var revoked = devices.List().Where(d => d.RevokedAt is not null).Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var people = store.People();
        var channels = store.Channels();
        IEnumerable<BridgeDefinition> configured;
        try
        {
            configured = BridgesFile.Load(options.DataDirectory);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            configured = running.Values.Select(b => b.Definition);
        }

        return configured.Select(definition =>
        {
            var health = running.TryGetValue(definition.Id, out var bridge) ? bridge.Health : new BridgeHealth("stopped", null, null);
            return new BridgeResponse(definition.Id, definition.Platform, health.State, health.BotName, health.Problem, store.Ignored(definition.Id),
                [.. channels.Where(c => c.BridgeId == definition.Id)
                    .Select(c => new BridgeChannelResponse(c.ChatId, c.ChatTitle, c.ProjectId, c.Agent, c.SessionId, c.BoundBy, c.BoundAt))],
                [.. people.Where(p => p.BridgeId == definition.Id)
                    .Select(p => new BridgePersonResponse(p.UserId, p.UserName, p.DeviceId, p.LinkedAt, revoked.Contains(p.DeviceId)))]);
        }).ToList();
    }

    private static NoContent Unbind(string bridgeId, string chatId, BridgeStore store, BridgeHost host, ClaimsPrincipal user)
    {
        if (!store.Unbind(bridgeId, chatId, user.Actor()))
        {
            throw ApiProblem.NotFound(ErrorCodes.BridgeChannelNotFound, $"Bridge '{bridgeId}' has no bound chat '{chatId}'.");
        }

        host.ChannelsChanged(bridgeId);
        return TypedResults.NoContent();
    }
}
