using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FakeLlm;

/// <summary>
/// A scripted stand-in for the Anthropic Messages API (and the OpenAI Responses and Chat Completions APIs, and the Gemini API, see FakeModelServer.Gemini.cs) on 127.0.0.1, so the REAL agent CLIs can run offline
/// in tests. Main-agent requests take the next <see cref="ScriptedReply"/>; side requests (titles, command
/// prefix checks, quota probes) get a generic text without touching the script.
/// </summary>
public sealed partial class FakeModelServer : IAsyncDisposable
{
    private const string NoScriptLeftText = "(fake model: no scripted reply left)";
    private const string SideRequestText = "ok";

    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Queue<ScriptedReply> _script = new();
    private readonly List<string> _unrouted = [];
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<(Func<RecordedRequest, bool> Predicate, TaskCompletionSource<RecordedRequest> Done)> _waiters = [];

    // Held streams wait on this too, so disposing never hangs on a test that forgot to release one.
    private readonly CancellationTokenSource _stopping = new();
    private int _messageCount;
    private int _toolUseCount;
    private bool _disposed;

    private FakeModelServer(WebApplication app)
    {
        _app = app;
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<FakeModelServer>();
        BaseUrl = new Uri("http://127.0.0.1/");
    }

    /// <summary>
    /// Root address of the server, e.g. <c>http://127.0.0.1:41234</c>; use it as <c>ANTHROPIC_BASE_URL</c>.
    /// <see cref="Uri.ToString"/> adds a trailing <c>/</c>, which Claude Code accepts.
    /// </summary>
    public Uri BaseUrl { get; private set; }

    /// <summary>Every model request received so far (Anthropic and Gemini), oldest first (a snapshot).</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Starts a server on a free loopback port.</summary>
    public static async Task<FakeModelServer> StartAsync(CancellationToken cancellationToken = default)
    {
        // Empty args and no content root: nothing from the test's environment or working folder leaks in.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        var app = builder.Build();
        var server = new FakeModelServer(app);
        server.MapEndpoints();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
            .Addresses.First();
        server.BaseUrl = new Uri(new Uri(address).GetLeftPart(UriPartial.Authority));
        return server;
    }

    /// <summary>Appends replies to the script; main-agent requests take them first in, first out.</summary>
    public void Enqueue(params ScriptedReply[] replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        lock (_gate)
        {
            foreach (var reply in replies)
            {
                _script.Enqueue(reply ?? throw new ArgumentException("A scripted reply is null.", nameof(replies)));
            }
        }
    }

    /// <summary>
    /// Requests on no wire the fake speaks ("POST /chat-stream"): what an agent that talks to its vendor's own service, not to a
    /// model provider, asks for.
    /// </summary>
    public IReadOnlyList<string> UnroutedRequests
    {
        get
        {
            lock (_gate)
            {
                return [.. _unrouted];
            }
        }
    }

    /// <summary>Drops the replies not yet taken: a test sharing one server across cases starts each afresh.</summary>
    public void ClearScript()
    {
        lock (_gate)
        {
            _script.Clear();
        }
    }

    /// <summary>
    /// Completes with the first recorded request that matches <paramref name="predicate"/>, including
    /// requests that arrived before the call. The predicate runs under the server's lock: keep it quick.
    /// </summary>
    public Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> predicate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        TaskCompletionSource<RecordedRequest> done;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var arrived = _requests.FirstOrDefault(predicate);
            if (arrived is not null)
            {
                return Task.FromResult(arrived);
            }

            done = new TaskCompletionSource<RecordedRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((predicate, done));
        }

        return WaitAsync(done, cancellationToken);
    }

    /// <summary>Stops the server promptly, ending held streams without finishing them.</summary>
    public async ValueTask DisposeAsync()
    {
        List<TaskCompletionSource<RecordedRequest>> orphans;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            orphans = [.. _waiters.Select(w => w.Done)];
            _waiters.Clear();
        }

        foreach (var orphan in orphans)
        {
            orphan.TrySetException(new ObjectDisposedException(nameof(FakeModelServer)));
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>
    /// Tells agent-loop requests from side requests. Side requests (session title, command prefix, quota
    /// probe) carry no tools; the agent loop and its subagents always do. Claude Code 2.1.332 with
    /// CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 sends only agent-loop requests (all with tools: 13, the rest offered by name).
    /// </summary>
    internal static bool IsMainAgentRequest(JsonElement body) =>
        body.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0;

    private async Task<RecordedRequest> WaitAsync(TaskCompletionSource<RecordedRequest> done, CancellationToken cancellationToken)
    {
        try
        {
            return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A test that gave up must not leave its predicate behind to run on every later request.
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Done == done);
            }

            throw;
        }
    }

    private void MapEndpoints()
    {
        // Claude Code probes the base URL with HEAD / before its first request.
        _app.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], () => Results.Text("fake model server"));
        _app.MapPost("/v1/messages/count_tokens", CountTokensAsync);
        _app.MapPost("/v1/messages", MessagesAsync);
        _app.MapPost("/v1/responses", ResponsesAsync);
        _app.MapPost("/v1/chat/completions", ChatCompletionsAsync);
        MapGeminiEndpoints();
        MapOAuthEndpoints();
        MapChatGptEndpoints();
        MapBenchEndpoints();
        _app.MapFallback(async context =>
        {
            _logger.LogWarning("FakeLlm: no route for {Method} {Path}{Query}", context.Request.Method, context.Request.Path, context.Request.QueryString);
            lock (_gate)
            {
                _unrouted.Add($"{context.Request.Method} {context.Request.Path}");
            }

            await WriteJsonAsync(context.Response, StatusCodes.Status404NotFound,
                AnthropicWire.Error("not_found_error", $"fake model server has no {context.Request.Method} {context.Request.Path}"),
                context.RequestAborted).ConfigureAwait(false);
        });
    }

    private async Task CountTokensAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        await WriteJsonAsync(context.Response, StatusCodes.Status200OK,
            AnthropicWire.TokenCount(AnthropicWire.EstimateTokens(body?.GetRawText().Length ?? 0)), context.RequestAborted).ConfigureAwait(false);
    }

    private async Task MessagesAsync(HttpContext context)
    {
        var cancel = context.RequestAborted;
        if (await ReadBodyAsync(context).ConfigureAwait(false) is not { } body || body.ValueKind != JsonValueKind.Object)
        {
            await WriteJsonAsync(context.Response, StatusCodes.Status400BadRequest,
                AnthropicWire.Error("invalid_request_error", "body must be a JSON object"), cancel).ConfigureAwait(false);
            return;
        }

        var (reply, recorded) = Record(context, body, ModelWire.Anthropic);
        var model = recorded.Model ?? "fake-model";
        var messageId = $"msg_fake_{Interlocked.Increment(ref _messageCount)}";
        var inputTokens = AnthropicWire.EstimateTokens(body.GetRawText().Length);
        var blocks = Blocks(reply);

        if (!recorded.IsStreaming)
        {
            if (reply is HeldReply held && !await WaitForReleaseAsync(held.Release, cancel).ConfigureAwait(false))
            {
                return;
            }

            await WriteJsonAsync(context.Response, StatusCodes.Status200OK,
                AnthropicWire.Message(messageId, model, blocks, inputTokens), cancel).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await SendAsync(response, AnthropicWire.MessageStart(messageId, model, inputTokens), cancel).ConfigureAwait(false);

        for (var index = 0; index < blocks.Count; index++)
        {
            await SendAsync(response, AnthropicWire.BlockStart(index, blocks[index]), cancel).ConfigureAwait(false);

            // The model is "thinking" here: the client has seen the turn begin but no words yet.
            if (index == 0 && reply is HeldReply held && !await WaitForReleaseAsync(held.Release, cancel).ConfigureAwait(false))
            {
                context.Abort();
                return;
            }

            foreach (var delta in AnthropicWire.BlockDeltas(index, blocks[index]))
            {
                await SendAsync(response, delta, cancel).ConfigureAwait(false);
            }

            await SendAsync(response, AnthropicWire.BlockStop(index), cancel).ConfigureAwait(false);
        }

        await SendAsync(response, AnthropicWire.MessageDelta(blocks), cancel).ConfigureAwait(false);
        await SendAsync(response, AnthropicWire.MessageStop(), cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// Records one model request and takes the reply it gets: the next scripted one for a main-agent
    /// request, a generic text otherwise. Every wire shares the script and the request list.
    /// </summary>
    private (ScriptedReply Reply, RecordedRequest Recorded) Record(HttpContext context, JsonElement body, ModelWire wire)
    {
        var main = IsMainAgentRequest(body);
        ScriptedReply reply;
        RecordedRequest recorded;
        List<TaskCompletionSource<RecordedRequest>> matched = [];
        lock (_gate)
        {
            var consumed = main && _script.Count > 0;
            reply = consumed ? _script.Dequeue() : ScriptedReply.Text(main ? NoScriptLeftText : SideRequestText);
            var headers = context.Request.Headers;
            recorded = new RecordedRequest(context.Request.Path + context.Request.QueryString, body, consumed)
            {
                Wire = wire,
                Credential = new[] { headers["x-api-key"].ToString(), headers["x-goog-api-key"].ToString(), headers.Authorization.ToString() }
                    .FirstOrDefault(value => value.Length > 0),
            };
            _requests.Add(recorded);

            // Same lock as the append, so a waiter sees each request exactly once: in the list or here.
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Predicate(recorded))
                {
                    matched.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        // Completed outside the lock so test continuations never run while holding it.
        foreach (var done in matched)
        {
            done.TrySetResult(recorded);
        }

        // Made of the request outside the lock too: it is the test's code.
        return (reply is AnsweringReply answering ? answering.Reply(recorded) : reply, recorded);
    }

    private List<ContentBlock> Blocks(ScriptedReply reply)
    {
        switch (reply)
        {
            case TextReply text:
                return [new TextBlock(text.Content)];
            case HeldReply held:
                return [new TextBlock(held.Content)];
            case ToolUseReply tool:
                var id = $"toolu_fake_{Interlocked.Increment(ref _toolUseCount)}";
                var use = new ToolUseBlock(id, tool.ToolName, tool.Input);
                return string.IsNullOrEmpty(tool.TextBefore) ? [use] : [new TextBlock(tool.TextBefore), use];
            case ParallelToolUseReply parallel:
                return [.. parallel.Calls.SelectMany(Blocks)];
            default:
                throw new InvalidOperationException($"Unknown scripted reply {reply.GetType().Name}.");
        }
    }

    /// <summary>False when the client went away or the server is stopping before the release came.</summary>
    private async Task<bool> WaitForReleaseAsync(Task release, CancellationToken requestAborted)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _stopping.Token);
        try
        {
            await release.WaitAsync(either.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (either.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<JsonElement?> ReadBodyAsync(HttpContext context)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            _logger.LogWarning(ex, "FakeLlm: unreadable JSON body on {Path}", context.Request.Path);
            return null;
        }
    }

    private static async Task SendAsync(HttpResponse response, byte[] sseEvent, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(sseEvent, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(HttpResponse response, int status, byte[] json, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = json.Length;
        await response.Body.WriteAsync(json, cancellationToken).ConfigureAwait(false);
    }
}
