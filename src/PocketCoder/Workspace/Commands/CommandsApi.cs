using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using System.Security.Claims;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Workspace.Commands;

public static class CommandsApi
{
    public static IServiceCollection AddCommands(this IServiceCollection services) => services.AddRunningSingleton<CommandRunner>();

    public static void MapCommands(this IEndpointRouteBuilder api)
    {
        api.MapPost("/projects/{id}/commands", Run).WithName("RunCommand");
        api.MapGet("/projects/{id}/commands", (string id, int? limit, CommandRunner runner) => runner.History(id, Math.Clamp(limit ?? 50, 1, 500)))
            .WithName("CommandHistory");
        api.MapGet("/commands/{id}", (string id, CommandRunner runner) => runner.Get(id)).WithName("GetCommand");
        api.MapGet("/commands/{id}/events", EventsAsync).WithName("CommandEvents").Produces<string>(StatusCodes.Status200OK, "text/event-stream");
        api.MapPost("/commands/{id}/cancel", CancelAsync).WithName("CancelCommand");
    }

    /// <param name="session">Run it in that session's worktree instead of the project's folder.</param>
    private static Accepted<CommandStarted> Run(string id, string? session, RunCommandRequest request, CommandRunner runner, ClaimsPrincipal user)
    {
        var started = runner.Start(id, session, request, user.Actor());
        return TypedResults.Accepted($"/api/commands/{started.Id}", started);
    }

    private static async Task<Accepted<CommandResponse>> CancelAsync(string id, CommandRunner runner, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        await runner.CancelAsync(id, user.Actor(), cancellationToken);
        return TypedResults.Accepted($"/api/commands/{id}", runner.Get(id));
    }

    /// <summary>
    /// <c>output</c> events (SSE id = chunk number, from 1) then one <c>exit</c> event, after which the stream ends.
    /// A late or resuming subscriber (Last-Event-ID) gets every kept chunk after its cursor, then the live ones.
    /// </summary>
    private static async Task EventsAsync(string id, HttpContext context, CommandRunner runner, [FromServices] PocketCoderOptions options,
        IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        var cursor = Sse.Cursor(context);
        var live = runner.Live(id);
        var stored = live is null ? runner.Stored(id) : default;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            var sse = await Sse.StartAsync(context, ending.Token);
            if (live is null)
            {
                foreach (var chunk in stored.Chunks.Where(c => c.Id > cursor))
                {
                    await WriteOutputAsync(sse, chunk, ending.Token);
                }

                await WriteExitAsync(sse, stored.Chunks.Count + 1, stored.Exit, cursor, ending.Token);
                return;
            }

            while (true)
            {
                var (chunks, exit, changed) = live.Since(cursor);
                foreach (var chunk in chunks)
                {
                    await WriteOutputAsync(sse, chunk, ending.Token);
                    cursor = chunk.Id;
                }

                if (exit is not null)
                {
                    await WriteExitAsync(sse, cursor + 1, exit, cursor, ending.Token);
                    return;
                }

                await sse.FlushAsync(ending.Token);
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(ending.Token);
                heartbeat.CancelAfter(options.HeartbeatInterval);
                try
                {
                    await changed.WaitAsync(heartbeat.Token);
                }
                catch (OperationCanceledException) when (!ending.IsCancellationRequested)
                {
                    await sse.HeartbeatAsync(ending.Token);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException && ending.IsCancellationRequested)
        {
            // The client left or the server is stopping.
        }
    }

    private static Task WriteOutputAsync(Sse sse, CommandChunk chunk, CancellationToken cancellationToken) =>
        sse.WriteEventAsync("output", JsonSerializer.Serialize(new CommandOutputEvent(chunk.Stream, chunk.Text), WireJson.Default.CommandOutputEvent),
            chunk.Id, cancellationToken);

    private static async Task WriteExitAsync(Sse sse, long id, CommandExitEvent exit, long cursor, CancellationToken cancellationToken)
    {
        if (id > cursor)
        {
            await sse.WriteEventAsync("exit", JsonSerializer.Serialize(exit, WireJson.Default.CommandExitEvent), id, cancellationToken);
        }

        await sse.FlushAsync(cancellationToken);
    }
}
