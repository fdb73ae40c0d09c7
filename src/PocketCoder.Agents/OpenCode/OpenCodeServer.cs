using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// One <c>opencode serve</c> process for one project: its loopback address, its password, and the single
/// <c>/event</c> stream whose events are handed to the session they belong to.
/// </summary>
internal sealed partial class OpenCodeServer : IAsyncDisposable
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    /// <summary>
    /// OpenCode must ask about everything rather than do it (but keep its to-do list): the gatekeeper then decides with the
    /// project's rules and the session's mode. A session's own rules (<see cref="OpenCodeSession.GateRules"/>) say so too and
    /// outrank this; this is what a subagent's child session is judged by in the moment before its rules are put on it, since
    /// OpenCode puts the config's rules after each built-in agent's own (which let its <c>general</c> and <c>explore</c>
    /// subagents read, search, and for <c>explore</c> run commands, unasked).
    /// Passed in the environment, so nothing is written into the user's project or OpenCode config.
    /// </summary>
    private const string PermissionConfig = """{"*":"ask","todowrite":"allow","todoread":"allow"}""";

    private readonly ConcurrentDictionary<string, Func<OpenCodeEvent, Task>> _listeners = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Func<OpenCodeServer, Task> _release;
    private ChildProcess _process = null!;
    private Task _events = Task.CompletedTask;
    private int _users;

    private OpenCodeServer(OpenCodeFlavor flavor, string directory, string key, Func<OpenCodeServer, Task> release)
    {
        Flavor = flavor;
        Key = key;
        Directory = directory;
        _release = release;
    }

    public string Directory { get; }

    /// <summary>OpenCode, or the fork it is (its names).</summary>
    public OpenCodeFlavor Flavor { get; }

    /// <summary>What the adapter finds it by: its folder, and the MCP servers it was given (sessions that share it get the same).</summary>
    public string Key { get; }

    public HttpClient Http { get; private set; } = null!;

    public bool IsAlive => !_process.Exited.IsCompleted && !_process.StopRequested;

    public Task<int> Exited => _process.Exited;

    public int ProcessId => _process.Pid;

    public string StderrTail => _process.StderrTail;

    public bool StopRequested => _process.StopRequested;

    /// <summary>The agent's environment with nothing of the repository's loaded: every opencode PocketCoder runs gets it.</summary>
    internal static Dictionary<string, string?> Confined(IReadOnlyDictionary<string, string?> environment, string directory, OpenCodeFlavor flavor)
    {
        var confined = new Dictionary<string, string?>(environment, StringComparer.Ordinal)
        {
            // OpenCode takes its folder from PWD where a shell set one: it must be the project's, never the server's own.
            ["PWD"] = directory,
            [flavor.Variable("DISABLE_AUTOUPDATE")] = "1",
            // The project's own opencode.json and .opencode/ folder are content of the repository, not the owner's
            // choice: they could pre-approve commands (permission, agent.*.permission, agent front matter), add MCP
            // servers, or run code the moment the server starts (.opencode/plugin/*.ts, custom tools). None of it loads.
            [flavor.Variable("DISABLE_PROJECT_CONFIG")] = "1",
            // ...but OpenCode 1.18's plugin loader reads .opencode/plugin/ without asking that flag, and a plugin is code
            // run on start that can also answer permission questions itself (its "permission.ask" hook). So no plugins.
            [flavor.Variable("PURE")] = "1",
        };
        foreach (var (name, value) in flavor.Hardening)
        {
            confined[name] = value;
        }

        return confined;
    }

    /// <param name="key">What the adapter finds it by (<see cref="Key"/>).</param>
    /// <param name="spec">The process to run, from its arguments and environment (the session's log folder, its sandbox).</param>
    public static async Task<OpenCodeServer> StartAsync(OpenCodeFlavor flavor, string directory, string key, IReadOnlyDictionary<string, string?> environment,
        Func<IReadOnlyList<string>, IReadOnlyDictionary<string, string?>, ProcessSpec> spec, Func<OpenCodeServer, Task> release,
        CancellationToken cancellationToken)
    {
        var server = new OpenCodeServer(flavor, directory, key, release);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var env = Confined(environment, directory, flavor);
        env[flavor.Variable("SERVER_PASSWORD")] = password;
        env[flavor.Variable("SERVER_USERNAME")] = null;
        env[flavor.Variable("PERMISSION")] = PermissionConfig;
        var serve = spec(["serve", "--hostname", "127.0.0.1", "--port", "0"], env);
        server._process = ChildProcess.StartAgent(flavor.AgentId, flavor.Name, serve, server.OnStdoutAsync);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartupTimeout);
            var exited = server._process.Exited;
            var listening = server._listening.Task;
            if (await Task.WhenAny(listening, exited, Task.Delay(Timeout.Infinite, timeout.Token)).ConfigureAwait(false) != listening)
            {
                throw new InvalidOperationException(exited.IsCompleted ? $"it exited with code {exited.Result}" : "it did not start listening in time");
            }

            server.Http = new HttpClient(Handler(serve.Attached as Processes.Network.IEgressDoor))
            {
                BaseAddress = await listening.ConfigureAwait(false),
                Timeout = Timeout.InfiniteTimeSpan,
            };
            server.Http.DefaultRequestHeaders.Authorization =
                new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{flavor.ServerUser}:{password}")));
            server._events = Task.Run(server.PumpEventsAsync);
            if (await Task.WhenAny(server._connected.Task, exited, Task.Delay(Timeout.Infinite, timeout.Token)).ConfigureAwait(false) != server._connected.Task)
            {
                throw new InvalidOperationException("its event stream did not connect");
            }
        }
        catch (Exception exception) when (exception is InvalidOperationException or TaskCanceledException)
        {
            var tail = server._process.StderrTail;
            await server.DisposeAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new AgentUnavailableException(flavor.AgentId, $"{flavor.Name} did not start ({exception.Message}).{AgentUnavailableException.LastOutput(tail)}",
                exception);
        }

        return server;
    }

    /// <summary>
    /// How the server is reached: directly, or in a sandbox, whose loopback is its own, through its door (a socket of the
    /// sandbox's namespace connected to the port OpenCode said it listens on).
    /// </summary>
    private static SocketsHttpHandler Handler(Processes.Network.IEgressDoor? door)
    {
        var handler = new SocketsHttpHandler();
        if (door is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
                new System.Net.Sockets.NetworkStream(await door.ConnectInsideAsync(context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false), ownsSocket: true);
        }

        return handler;
    }

    public void AddUser() => Interlocked.Increment(ref _users);

    /// <summary>Other sessions use it too: a session that goes leaves it running.</summary>
    public bool Shared => Volatile.Read(ref _users) > 1;

    public int RemoveUser() => Interlocked.Decrement(ref _users);

    public Task ReleaseAsync() => _release(this);

    /// <summary>
    /// Events whose <c>properties.sessionID</c> is <paramref name="sessionId"/> go to <paramref name="onEvent"/>, and the
    /// <c>session.created</c> of a child session whose parent it is.
    /// </summary>
    public void Listen(string sessionId, Func<OpenCodeEvent, Task> onEvent) => _listeners[sessionId] = onEvent;

    public void Unlisten(string sessionId) => _listeners.TryRemove(sessionId, out _);

    /// <summary>Sends a request; its answer as <paramref name="answer"/> says (null when it has none).</summary>
    public async Task<T?> SendAsync<T>(HttpMethod method, string path, HttpContent? body, JsonTypeInfo<T>? answer, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var response = await Http.SendAsync(request, timeout.Token).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new OpenCodeHttpException((int)response.StatusCode, $"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        return answer is null || text.Length == 0 ? default : JsonSerializer.Deserialize(text, answer);
    }

    public Task SendAsync(HttpMethod method, string path, HttpContent? body, CancellationToken cancellationToken) =>
        SendAsync<object>(method, path, body, null, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        await _process.StopAsync(StopGrace).ConfigureAwait(false);
        try
        {
            await _events.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or HttpRequestException or IOException)
        {
            // The stream ends with the server.
        }

        await _process.DisposeAsync().ConfigureAwait(false);
        Http?.Dispose();
        _lifetime.Dispose();
    }

    private Task OnStdoutAsync(string line)
    {
        // "opencode server listening on http://127.0.0.1:4096": the port it really took (port 0 = any free one).
        if (!_listening.Task.IsCompleted && ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }

        return Task.CompletedTask;
    }

    private async Task PumpEventsAsync()
    {
        var ct = _lifetime.Token;
        while (!ct.IsCancellationRequested && !_process.Exited.IsCompleted)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/event");
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct).ConfigureAwait(false))
                {
                    await DispatchAsync(OpenCodeJson.Default.Read<OpenCodeEvent>(item.Data)).ConfigureAwait(false);
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                // The stream dropped while the server lives on: reconnect after a breath.
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task DispatchAsync(OpenCodeEvent? message)
    {
        if (message?.Type == "server.connected")
        {
            _connected.TrySetResult();
            return;
        }

        // A subagent's child session is told to the session it works for (which then listens to the child's own events).
        var sessionId = message is { Type: "session.created", Properties.Info.ParentID: { } parentId } ? parentId : message?.Properties?.SessionID;
        if (message?.Type is null || sessionId is null || !_listeners.TryGetValue(sessionId, out var listener))
        {
            return;
        }

        try
        {
            await listener(message).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // One session's bad event must not stop the stream every other session reads.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    [GeneratedRegex(@"listening on (https?://\S+)")]
    private static partial Regex ListeningLine();
}

/// <summary>The OpenCode server answered a request with an error status.</summary>
internal sealed class OpenCodeHttpException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
