using Microsoft.AspNetCore.Http.HttpResults;
using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Workspace.Commands;

public static class CommandsApi
{
    public static void MapCommands(this IEndpointRouteBuilder api)
    {
        api.MapPost("/projects/{id}/commands", Run).WithName("RunCommand");
        api.MapGet("/projects/{id}/commands", (string id, int? limit, CommandRunner runner) => runner.History(id, Math.Clamp(limit ?? 50, 1, 500)))
            .WithName("CommandHistory");
        api.MapGet("/commands/{id}", (string id, CommandRunner runner) => runner.Get(id)).WithName("GetCommand");
        api.MapGet("/commands/{id}/events", EventsAsync).WithName("CommandEvents").Produces<string>(StatusCodes.Status200OK, "text/event-stream");
        api.MapPost("/commands/{id}/cancel", CancelAsync).WithName("CancelCommand");
    }

    private static Accepted<CommandStarted> Run(string id, RunCommandRequest request, CommandRunner runner, ClaimsPrincipal user)
    {
        var started = runner.Start(id, request, user.Actor());
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
    private static async Task EventsAsync(string id, HttpContext context, CommandRunner runner, IOptions<EventStreamOptions> options,
        IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        var cursor = Cursor(context);
        var live = runner.Live(id);
        var stored = live is null ? runner.Stored(id) : default;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            await WriteAsync(response, "retry: 2000\n: connected\n\n", ending.Token);
            if (live is null)
            {
                foreach (var chunk in stored.Chunks.Where(c => c.Id > cursor))
                {
                    await WriteOutputAsync(response, chunk, ending.Token);
                }

                await WriteExitAsync(response, stored.Chunks.Count + 1, stored.Exit, cursor, ending.Token);
                return;
            }

            while (true)
            {
                var (chunks, exit, changed) = live.Since(cursor);
                foreach (var chunk in chunks)
                {
                    await WriteOutputAsync(response, chunk, ending.Token);
                    cursor = chunk.Id;
                }

                if (exit is not null)
                {
                    await WriteExitAsync(response, cursor + 1, exit, cursor, ending.Token);
                    return;
                }

                await response.Body.FlushAsync(ending.Token);
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(ending.Token);
                heartbeat.CancelAfter(options.Value.HeartbeatInterval);
                try
                {
                    await changed.WaitAsync(heartbeat.Token);
                }
                catch (OperationCanceledException) when (!ending.IsCancellationRequested)
                {
                    await WriteAsync(response, ": heartbeat\n\n", ending.Token);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException && ending.IsCancellationRequested)
        {
            // The client left or the server is stopping.
        }
    }

    private static Task WriteOutputAsync(HttpResponse response, CommandChunk chunk, CancellationToken cancellationToken)
    {
        var data = JsonSerializer.Serialize(new CommandOutputEvent(chunk.Stream, chunk.Text), WireJson.Default.CommandOutputEvent);
        return WriteAsync(response, $"id: {chunk.Id}\nevent: output\ndata: {data}\n\n", cancellationToken, flush: false);
    }

    private static async Task WriteExitAsync(HttpResponse response, long id, CommandExitEvent exit, long cursor, CancellationToken cancellationToken)
    {
        if (id > cursor)
        {
            var data = JsonSerializer.Serialize(exit, WireJson.Default.CommandExitEvent);
            await WriteAsync(response, $"id: {id}\nevent: exit\ndata: {data}\n\n", cancellationToken);
        }

        await response.Body.FlushAsync(cancellationToken);
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken, bool flush = true)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        if (flush)
        {
            await response.Body.FlushAsync(cancellationToken);
        }
    }

    private static long Cursor(HttpContext context)
    {
        var raw = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["after"].FirstOrDefault();
        if (string.IsNullOrWhiteSpace(raw))
        {
            return 0;
        }

        return long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor)
            ? cursor
            : throw ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "Last-Event-ID (or 'after') must be a non-negative event id.");
    }
}
