using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// An agent's OAuth login held outside the sandbox (docs/security.md, "Secrets"): the sandboxed agent gets a copy of the owner's
/// login file whose tokens are placeholders and which never looks near its end, so it never refreshes; the server reads the real
/// access token from the owner's own file for each model request, refreshes it itself at the token endpoint when it nears its
/// end, and writes the rotated tokens back to that file: one login, which the owner's terminal agent and the server both keep
/// current, never two copies whose refresh tokens outdate each other. What differs by agent (the file's shape, the refresh's
/// body, what the answer rotates) is the subclass's; the reading, the one refresh at a time and the write-back are here.
/// </summary>
public abstract class HeldOAuthLogin : ILiveSecret
{
    /// <summary>Refreshed this long before it ends: both agents refresh within five minutes of their token's end.</summary>
    protected static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);

    private const long MaxFile = 1024 * 1024;

    /// <summary>The connection every login refreshes through: no redirect followed (a token never goes where it was not sent).</summary>
    protected static readonly HttpClient SharedHttp = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly HttpClient _http;
    private readonly object _readLock = new();
    private (DateTime WrittenAt, long Length, LoginTokens? Tokens)? _lastRead;

    /// <summary>A refresh that failed lately: not tried again within <see cref="RetryAfter"/> (each request would send the real refresh token again).</summary>
    private (DateTimeOffset At, LiveSecretException Why)? _failed;

    /// <summary>
    /// Rotated tokens the owner's file could not take (a full disk): the provider has spent the refresh token they replace, so they
    /// are served from here and written at the next request, unless the owner's agent refreshed meanwhile.
    /// </summary>
    private (JsonObject File, string SentRefresh)? _unwritten;

    private static readonly TimeSpan RetryAfter = TimeSpan.FromMinutes(1);

    protected HeldOAuthLogin(string file, Uri endpoint, TimeProvider time, HttpClient http)
    {
        (File, Endpoint, Time, _http) = (file, endpoint, time, http);
    }

    /// <summary>The owner's login file: where the real login is, read and written by the server only.</summary>
    public string File { get; }

    /// <summary>Where it is refreshed.</summary>
    public Uri Endpoint { get; }

    protected TimeProvider Time { get; }

    /// <summary>The login's name in what the owner is told ("Claude's login").</summary>
    protected abstract string Name { get; }

    /// <summary>The command that logs in again ("claude", "codex login").</summary>
    protected abstract string LoginCommand { get; }

    /// <summary>The tokens a login file holds, or null when it holds no such login.</summary>
    protected abstract LoginTokens? Tokens(JsonObject? file);

    /// <summary>The refresh request's JSON body, as the agent itself sends it.</summary>
    protected abstract JsonObject RefreshBody(LoginTokens tokens);

    /// <summary>Puts what the token endpoint answered (<paramref name="answer"/>, its access token checked) into the owner's file.</summary>
    protected abstract void Rotate(JsonObject owners, JsonObject answer);

    /// <param name="ExpiresAt">When the access token ends (or must be refreshed by); null: unknown, so it is refreshed.</param>
    /// <param name="Client">The OAuth client the login names, if any.</param>
    protected sealed record LoginTokens(string Access, string Refresh, DateTimeOffset? ExpiresAt, string? Client = null);

    /// <summary>The real access token now: the owner's file's, refreshed first when it ends within <see cref="Margin"/>.</summary>
    public async Task<string> CurrentAsync(CancellationToken cancellationToken)
    {
        var tokens = ReadTokens() ?? throw new LiveSecretException($"{Name} is gone from {File}: log in again with `{LoginCommand}`.");
        if (!NearsItsEnd(tokens) || tokens.Refresh.Length == 0)
        {
            return tokens.Access;
        }

        // The refresh is not the request's to cut short: the provider rotates the refresh token as it answers, so a refresh given
        // up between its send and its answer (a request that dribbled its head until its time ran out) would leave the owner's file
        // holding a spent token (an attacker review's finding). The request only stops waiting for it.
        return await RefreshOnceAsync(tokens).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The owner's file's tokens, parsed again only when the file changed (its time or length): read for every model request,
    /// so that a refresh by the owner's own agent is picked up at once, at the cost of a stat, not a read and a parse.
    /// </summary>
    protected LoginTokens? ReadTokens()
    {
        if (_unwritten is { } pending && !WritePending(pending))
        {
            return Tokens(pending.File);
        }

        var info = new FileInfo(File);
        if (!info.Exists)
        {
            return null;
        }

        lock (_readLock)
        {
            if (_lastRead is { } last && last.WrittenAt == info.LastWriteTimeUtc && last.Length == info.Length)
            {
                return last.Tokens;
            }
        }

        var tokens = Tokens(Read(File));
        lock (_readLock)
        {
            _lastRead = (info.LastWriteTimeUtc, info.Length, tokens);
        }

        return tokens;
    }

    private async Task<string> RefreshOnceAsync(LoginTokens tokens)
    {
        await _refreshing.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // Another request (or the owner's own agent) may have refreshed it while this one waited.
            tokens = ReadTokens() ?? tokens;
            return NearsItsEnd(tokens) ? await RefreshAsync(tokens).ConfigureAwait(false) : tokens.Access;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private bool NearsItsEnd(LoginTokens tokens) => tokens.ExpiresAt is not { } expiresAt || expiresAt - Time.GetUtcNow() < Margin;

    /// <summary>
    /// Refreshes the login as the agent does and writes the rotated tokens into the owner's file, unless the owner's agent
    /// refreshed it meanwhile (its refresh token no longer the one sent): then that one stands. Where the refresh fails, the token
    /// it has serves while it lasts.
    /// </summary>
    private async Task<string> RefreshAsync(LoginTokens tokens)
    {
        if (_failed is { } failed && Time.GetUtcNow() - failed.At < RetryAfter)
        {
            return StillValid(tokens) ? tokens.Access : throw failed.Why;
        }

        JsonObject answer;
        try
        {
            using var content = new StringContent(RefreshBody(tokens).ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(Endpoint, content, CancellationToken.None).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
            answer = response.IsSuccessStatusCode && JsonNode.Parse(text) is JsonObject parsed && Text(parsed["access_token"]) is { Length: > 0 }
                ? parsed
                : throw new LiveSecretException($"refreshing {Name} at {Endpoint.Host} was answered {(int)response.StatusCode}");
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException or LiveSecretException)
        {
            var why = exception as LiveSecretException ?? new LiveSecretException($"refreshing {Name} at {Endpoint.Host} failed: {exception.Message}", exception);
            _failed = (Time.GetUtcNow(), why);
            return StillValid(tokens) ? tokens.Access : throw why;
        }

        _failed = null;

        var access = Text(answer["access_token"])!;
        if (Read(File) is not { } owners || Tokens(owners) is not { } now || now.Refresh != tokens.Refresh)
        {
            return ReadTokens()?.Access ?? access;
        }

        Rotate(owners, answer);
        WritePending((owners, tokens.Refresh));
        return access;
    }

    private bool StillValid(LoginTokens tokens) => tokens.ExpiresAt is { } expiresAt && expiresAt > Time.GetUtcNow();

    /// <summary>Writes rotated tokens into the owner's file (unless the owner's agent refreshed it since); false when they wait here still.</summary>
    private bool WritePending((JsonObject File, string SentRefresh) pending)
    {
        lock (_readLock)
        {
            try
            {
                if (Tokens(Read(File)) is { } now && now.Refresh == pending.SentRefresh)
                {
                    AgentHome.WritePrivate(File, pending.File.ToJsonString());
                }

                _unwritten = null;
                return true;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                _unwritten = pending;
                return false;
            }
        }
    }

    protected static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    protected static JsonObject? Read(string file)
    {
        try
        {
            var info = new FileInfo(file);
            return info.Exists && info.Length < MaxFile ? JsonNode.Parse(System.IO.File.ReadAllText(file)) as JsonObject : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
