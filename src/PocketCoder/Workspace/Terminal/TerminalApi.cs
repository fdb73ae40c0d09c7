using Microsoft.AspNetCore.Mvc;
using System.Security.Claims;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Workspace.Terminal;

public static class TerminalApi
{
    public static IServiceCollection AddTerminal(this IServiceCollection services) =>
        services.AddSingleton<Terminals>().AddSingleton<TerminalScreens>().AddHostedService<TerminalServerLifetime>();

    public static void MapTerminal(this IEndpointRouteBuilder api)
    {
        var terminal = api.MapGroup("/projects/{id}/terminal");
        // `session`: the shell of that session's worktree, beside the project's own (WorkspaceRoots).
        terminal.MapPost("/", (string id, string? session, OpenTerminalRequest? request, Terminals terminals, ClaimsPrincipal user, CancellationToken ct) =>
            terminals.OpenAsync(id, session, request ?? new OpenTerminalRequest(null, null), user.Actor(), ct)).WithName("OpenTerminal");
        terminal.MapGet("/screen", (string id, string? session, Terminals terminals, CancellationToken ct) => terminals.ScreenAsync(id, session, ct))
            .WithName("TerminalScreen");
        terminal.MapPost("/input", async (string id, string? session, TerminalInputRequest request, Terminals terminals, ClaimsPrincipal user, CancellationToken ct) =>
        {
            await terminals.SendAsync(id, session, request, user.Actor(), ct);
            return TypedResults.NoContent();
        }).WithName("TerminalInput").Produces(StatusCodes.Status204NoContent);
        terminal.MapPost("/resize", (string id, string? session, TerminalResizeRequest request, Terminals terminals, CancellationToken ct) =>
            terminals.ResizeAsync(id, session, request, ct)).WithName("ResizeTerminal");
        terminal.MapGet("/events", EventsAsync).WithName("TerminalEvents").Produces<string>(StatusCodes.Status200OK, "text/event-stream");
        terminal.MapDelete("/", async (string id, string? session, Terminals terminals, ClaimsPrincipal user, CancellationToken ct) =>
        {
            await terminals.CloseAsync(id, session, user.Actor(), ct);
            return TypedResults.NoContent();
        }).WithName("CloseTerminal").Produces(StatusCodes.Status204NoContent);
    }

    /// <summary>
    /// <c>screen</c> events with the whole rendered screen whenever it changes (from the terminal's one shared poller),
    /// then <c>closed</c> when the shell ends. The screen is state, not a log: a reconnecting client needs only the
    /// latest one, so there are no SSE ids to resume by.
    /// </summary>
    private static async Task EventsAsync(string id, string? session, HttpContext context, Terminals terminals, TerminalScreens screens,
        [FromServices] PocketCoderOptions options, IHostApplicationLifetime lifetime, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var first = await terminals.ScreenAsync(id, session, cancellationToken);
        using var watch = screens.Subscribe(id, session, user.Actor().Id, first);
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            var sse = await Sse.StartAsync(context, ending.Token);
            await WriteScreenAsync(sse, first, ending.Token);
            while (true)
            {
                var (changed, screen) = await watch.NextAsync(options.HeartbeatInterval, ending.Token);
                if (!changed)
                {
                    await sse.HeartbeatAsync(ending.Token);
                }
                else if (screen is null)
                {
                    await sse.WriteEventAsync("closed", $"{{\"projectId\":{JsonSerializer.Serialize(id, WireJson.Default.String)}}}", id: null, ending.Token);
                    await sse.FlushAsync(ending.Token);
                    return;
                }
                else
                {
                    await WriteScreenAsync(sse, screen, ending.Token);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException && ending.IsCancellationRequested)
        {
            // The client left or the server is stopping; the shell stays.
        }
    }

    private static async Task WriteScreenAsync(Sse sse, TerminalScreen screen, CancellationToken cancellationToken)
    {
        await sse.WriteEventAsync("screen", JsonSerializer.Serialize(screen, WireJson.Default.TerminalScreen), id: null, cancellationToken);
        await sse.FlushAsync(cancellationToken);
    }
}
