using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Workspace.Terminal;

public static class TerminalApi
{
    /// <summary>How often a live stream looks at the screen.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    public static void MapTerminal(this IEndpointRouteBuilder api)
    {
        var terminal = api.MapGroup("/projects/{id}/terminal");
        terminal.MapPost("/", (string id, OpenTerminalRequest? request, Terminals terminals, ClaimsPrincipal user, CancellationToken ct) =>
            terminals.OpenAsync(id, request ?? new OpenTerminalRequest(null, null), user.Actor(), ct)).WithName("OpenTerminal");
        terminal.MapGet("/screen", (string id, Terminals terminals, CancellationToken ct) => terminals.ScreenAsync(id, ct)).WithName("TerminalScreen");
        terminal.MapPost("/input", async (string id, TerminalInputRequest request, Terminals terminals, CancellationToken ct) =>
        {
            await terminals.SendAsync(id, request, ct);
            return TypedResults.NoContent();
        }).WithName("TerminalInput");
        terminal.MapPost("/resize", (string id, TerminalResizeRequest request, Terminals terminals, CancellationToken ct) =>
            terminals.ResizeAsync(id, request, ct)).WithName("ResizeTerminal");
        terminal.MapGet("/events", EventsAsync).WithName("TerminalEvents");
        terminal.MapDelete("/", async (string id, Terminals terminals, ClaimsPrincipal user, CancellationToken ct) =>
        {
            await terminals.CloseAsync(id, user.Actor(), ct);
            return TypedResults.NoContent();
        }).WithName("CloseTerminal");
    }

    /// <summary>
    /// <c>screen</c> events with the whole rendered screen whenever it changes (polled with capture-pane), then
    /// <c>closed</c> when the shell ends. The screen is state, not a log: a reconnecting client needs only the
    /// latest one, so there are no SSE ids to resume by.
    /// </summary>
    private static async Task EventsAsync(string id, HttpContext context, Terminals terminals, IOptions<EventStreamOptions> options,
        IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        var first = await terminals.ScreenAsync(id, cancellationToken);
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            await WriteAsync(response, "retry: 2000\n: connected\n\n", ending.Token);
            var last = first;
            await WriteAsync(response, Frame("screen", JsonSerializer.Serialize(first, WireJson.Default.TerminalScreen)), ending.Token);
            var quietSince = DateTime.UtcNow;
            while (true)
            {
                await Task.Delay(PollInterval, ending.Token);
                TerminalScreen screen;
                try
                {
                    screen = await terminals.ScreenAsync(id, ending.Token);
                }
                catch (ApiProblem problem) when (problem.Code == ErrorCodes.TerminalNotFound)
                {
                    await WriteAsync(response, Frame("closed", $"{{\"projectId\":{JsonSerializer.Serialize(id, WireJson.Default.String)}}}"), ending.Token);
                    return;
                }

                if (screen != last)
                {
                    last = screen;
                    quietSince = DateTime.UtcNow;
                    await WriteAsync(response, Frame("screen", JsonSerializer.Serialize(screen, WireJson.Default.TerminalScreen)), ending.Token);
                }
                else if (DateTime.UtcNow - quietSince > options.Value.HeartbeatInterval)
                {
                    quietSince = DateTime.UtcNow;
                    await WriteAsync(response, ": heartbeat\n\n", ending.Token);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException && ending.IsCancellationRequested)
        {
            // The client left or the server is stopping; the shell stays.
        }
    }

    private static string Frame(string kind, string data) => $"event: {kind}\ndata: {data}\n\n";

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
