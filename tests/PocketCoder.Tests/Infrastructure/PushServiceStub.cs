using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using PocketCoder.Notifications;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>One request a push service (or an ntfy server) received.</summary>
/// <param name="Connection">The id of the connection it came on (Kestrel's), to tell a reused connection from a new one.</param>
public sealed record PushRequest(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, string Connection = "")
{
    public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : "";
}

/// <summary>
/// A browser's side of a subscription: the P-256 key pair and auth secret a real browser makes, and the decryption it
/// does. Tests subscribe with it where headless Chromium cannot reach a real push service.
/// </summary>
public sealed class BrowserKeys : IDisposable
{
    public ECDiffieHellman Key { get; } = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public byte[] Auth { get; } = RandomNumberGenerator.GetBytes(16);

    public object Subscription(string endpoint) => new
    {
        endpoint,
        keys = new { p256dh = System.Buffers.Text.Base64Url.EncodeToString(WebPushCrypto.PublicKeyBytes(Key)), auth = System.Buffers.Text.Base64Url.EncodeToString(Auth) },
    };

    public JsonElement Decrypt(PushRequest request) => JsonElement.Parse(WebPushCrypto.Decrypt(request.Body, Key, Auth));

    public void Dispose() => Key.Dispose();
}

/// <summary>
/// A push service and ntfy server on 127.0.0.1: records every request by path and answers each path with the status a
/// test sets (201 by default), so a test can await what the server sent and make a subscription expire or fail.
/// </summary>
public sealed class PushServiceStub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Channel<PushRequest>> _byPath = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _status = new(StringComparer.Ordinal);

    private PushServiceStub(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public static async Task<PushServiceStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var stub = new PushServiceStub(app);
        app.Run(stub.HandleAsync);
        await app.StartAsync();
        stub.BaseUrl = new Uri(app.Urls.First());
        return stub;
    }

    /// <summary>The HEAD requests a sender opened its connection with (they are no messages, and are not among those by path).</summary>
    public Channel<PushRequest> Connections { get; } = Channel.CreateUnbounded<PushRequest>();

    public string Endpoint(string path) => new Uri(BaseUrl, path).ToString();

    /// <summary>What <paramref name="path"/> answers from now on.</summary>
    public void Answer(string path, HttpStatusCode status) => _status[path] = (int)status;

    /// <summary>The next request on <paramref name="path"/>; waits as long as an event stream does (<see cref="SseClient.DefaultWait"/>),
    /// since what is pushed often follows a real agent's start, and a loaded machine starts one slowly.</summary>
    /// <exception cref="TimeoutException">Nothing came: says what did come meanwhile, and where, instead of a bare cancellation.</exception>
    public async Task<PushRequest> NextAsync(string path, TimeSpan? timeout = null)
    {
        var wait = timeout ?? SseClient.DefaultWait;
        using var cancel = new CancellationTokenSource(wait);
        try
        {
            return await Queue(path).Reader.ReadAsync(cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            var elsewhere = string.Join(", ", _byPath.Where(q => q.Key != path && q.Value.Reader.Count > 0).Select(q => $"{q.Key} ({q.Value.Reader.Count})"));
            throw new TimeoutException($"No push on {path} within {wait.TotalSeconds} s; waiting elsewhere: {(elsewhere.Length > 0 ? elsewhere : "nothing")}.");
        }
    }

    /// <summary>Requests received on <paramref name="path"/> and not yet taken with <see cref="NextAsync"/>.</summary>
    public int Waiting(string path) => Queue(path).Reader.Count;

    private Channel<PushRequest> Queue(string path) => _byPath.GetOrAdd(path, _ => Channel.CreateUnbounded<PushRequest>());

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var path = context.Request.Path.Value ?? "/";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            // Not a message: the server opening its connection ahead of its first push (PushWarmup), which tests await apart.
            Connections.Writer.TryWrite(new PushRequest(path, headers, [], context.Connection.Id));
            return;
        }

        Queue(path).Writer.TryWrite(new PushRequest(path, headers, body.ToArray(), context.Connection.Id));
        context.Response.StatusCode = _status.TryGetValue(path, out var status) ? status : StatusCodes.Status201Created;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
