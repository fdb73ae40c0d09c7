using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using PocketCoder.Network;

namespace PocketCoder.Previews;

/// <summary>
/// Serves the preview origin (<see cref="PreviewOrigin"/>): the one-time exchange that sets a grant's cookie, then every request
/// with a live grant's cookie passed to the session's port inside its sandbox, through a socket of the sandbox's own network
/// namespace (<see cref="EgressDoor.ConnectInsideAsync"/>): nothing listens for it anywhere else. HTTP is relayed request by
/// request; a websocket's upgrade is relayed and then its bytes both ways. PocketCoder's cookies never reach the server shown.
/// </summary>
public sealed class PreviewProxy(PreviewGrants grants, Egress egress, ILogger<PreviewProxy> logger)
{
    public const string ExchangePath = "/__pocketcoder/exchange";

    /// <summary>Requests to a previewed server may carry more than the API's bodies (an upload to the app being built).</summary>
    private const long MaxBodyBytes = 100L * 1024 * 1024;

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Cookie",
    };

    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(15),
        ConnectCallback = async (context, cancellationToken) =>
            context.InitialRequestMessage.Options.TryGetValue(Target, out var target)
                ? new NetworkStream(await target.ConnectAsync(cancellationToken).ConfigureAwait(false), ownsSocket: true)
                : throw new InvalidOperationException("a preview request with no target."),
    });

    private static readonly HttpRequestOptionsKey<Inside> Target = new("pocketcoder.preview");

    /// <summary>A port inside a session's sandbox.</summary>
    private sealed record Inside(EgressDoor Door, int Port)
    {
        public Task<Socket> ConnectAsync(CancellationToken cancellationToken) => Door.ConnectInsideAsync(Port, cancellationToken);
    }

    public async Task HandleAsync(HttpContext context)
    {
        var https = context.Request.IsHttps;
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        if (context.Request.Path == ExchangePath)
        {
            Exchange(context, https);
            return;
        }

        // One preview origin serves every session's previews: a service worker registered by one agent's page would outlive
        // its grant and stand between the browser and every later preview (the exchange included).
        if (context.Request.Headers["Service-Worker"] == "script")
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "PREVIEW_NO_SERVICE_WORKER", "A preview cannot register a service worker.");
            return;
        }

        if (PreviewCookie.Read(context.Request.Cookies, https) is not { } secret || grants.Find(secret) is not { } found)
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "PREVIEW_NOT_OPEN", "No preview is open here in this browser: open it from the session's Preview panel in PocketCoder.");
            return;
        }

        var (grant, closing) = found;
        if (egress.DoorsOf(grant.SessionId).FirstOrDefault(door => door.AgentPid > 0) is not { } door)
        {
            grants.CloseSession(grant.SessionId);
            await RefuseAsync(context, StatusCodes.Status410Gone, "PREVIEW_ENDED", "The session's sandbox has ended, and its preview with it.");
            return;
        }

        using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, closing);
        var inside = new Inside(door, grant.Port);
        try
        {
            if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
            {
                await PreviewUpgrade.RelayAsync(context, upgrade, inside.ConnectAsync, grant.Port, both.Token);
            }
            else
            {
                await RelayAsync(context, inside, both.Token);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or SocketException or OperationCanceledException)
        {
            PreviewLog.RelayFailed(logger, grant.Port, exception.Message);
            if (!context.Response.HasStarted)
            {
                await RefuseAsync(context, StatusCodes.Status502BadGateway, "PREVIEW_UNREACHABLE",
                    $"Nothing answers on port {grant.Port} in the session's sandbox now (or it listens only on ::1).");
            }
        }
    }

    /// <summary>Trades the one-time code for the grant's cookie, and goes to the preview's first page.</summary>
    private void Exchange(HttpContext context, bool https)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (context.Request.Query["code"].ToString() is not { Length: > 0 } code || grants.Exchange(code) is not { } exchanged)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers["X-PocketCoder-Error"] = "PREVIEW_CODE_INVALID";
            return;
        }

        context.Response.Headers.SetCookie = PreviewCookie.SetCookie(exchanged.Secret, https, exchanged.Grant.ExpiresAt - DateTimeOffset.UtcNow);
        // What an earlier preview's page left on this origin (its storage, its cache, a service worker) goes: never "cookies",
        // which would clear the app's too (a host's cookies are shared by its ports).
        context.Response.Headers["Clear-Site-Data"] = "\"cache\", \"storage\"";
        context.Response.Redirect("/");
    }

    private async Task RelayAsync(HttpContext context, Inside inside, CancellationToken cancellationToken)
    {
        var request = context.Request;
        using var message = new HttpRequestMessage(new HttpMethod(request.Method),
            $"http://preview-{inside.Door.AgentPid}:{inside.Port}{request.PathBase}{request.Path}{request.QueryString}");
        message.Options.Set(Target, inside);
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = MaxBodyBytes;
            }

            message.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        // As a browser on the sandbox's own machine would name it: dev servers refuse names they do not know (Vite's allowedHosts).
        message.Headers.Host = $"localhost:{inside.Port}";
        if (PreviewCookie.Strip(request.Headers.Cookie) is { } cookie)
        {
            message.Headers.TryAddWithoutValidation("Cookie", cookie);
        }

        using var response = await _client.SendAsync(message, cancellationToken);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name) && values.Where(value => PreviewHeaders.Relayed(name, value)).ToArray() is { Length: > 0 } relayed)
            {
                context.Response.Headers[name] = relayed;
            }
        }

        PreviewHeaders.Add(context.Response.Headers);

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await body.CopyToAsync(context.Response.Body, cancellationToken);
    }

    internal static async Task RefuseAsync(HttpContext context, int status, string code, string why)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-PocketCoder-Error"] = code;
        await context.Response.WriteAsync($"{why}\n({code})\n", Encoding.UTF8, context.RequestAborted);
    }
}

internal static partial class PreviewLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "A preview of port {Port} could not be relayed: {Why}")]
    public static partial void RelayFailed(ILogger logger, int port, string why);
}
