using System.Security.Claims;
using PocketCoder.Auth;

namespace PocketCoder.Reach.Connected;

/// <summary>What one lockdown did (<see cref="Lockdown.EngageAsync"/>).</summary>
public sealed record LockdownResponse(DateTimeOffset LockedAt, string LockedBy, int DevicesRevoked, int WatchLinksEnded, int PairingCodesVoided,
    bool TerminalsEnded, int CommandsStopped);

/// <summary>Who reaches the machine now, and the one act that cuts them all (owners only, <see cref="RouteAccess"/>).</summary>
public static class ConnectedApi
{
    public static IServiceCollection AddConnected(this IServiceCollection services) =>
        services.AddSingleton<LockdownShells>().AddSingleton<Lockdown>().AddSingleton<ConnectedNow>();

    public static void MapConnected(this IEndpointRouteBuilder api)
    {
        api.MapGet("/connections", (ConnectedNow connected) => connected.List()).WithName("ListConnections");
        api.MapPost("/lockdown", Engage).WithName("Lockdown");
    }

    private static async Task<LockdownResponse> Engage(Lockdown lockdown, ClaimsPrincipal user)
    {
        // Not the request's token: a lockdown half done because its caller went away would leave what it had not reached yet.
        var result = await lockdown.EngageAsync(user.Actor(), CancellationToken.None);
        return new LockdownResponse(result.State.LockedAt, result.State.LockedBy, result.DevicesRevoked.Count, result.WatchLinksEnded,
            result.PairingCodesVoided, result.Shells.Terminals, result.Shells.Commands);
    }
}
