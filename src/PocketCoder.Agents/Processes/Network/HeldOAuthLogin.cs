using System.Collections.Concurrent;
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

    /// <summary>When the sandbox copy's token ends: 2100-01-01, so the agent never thinks it near its end and never refreshes.</summary>
    public static readonly DateTimeOffset FarFuture = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

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

    private static readonly ConcurrentDictionary<(Type Kind, string File, Uri TokenUrl), HeldOAuthLogin> Logins = new();

    private readonly LoginLayout _layout;

    /// <param name="accessPlaceholder">What the sandbox's copy holds for the access token (of its shape: the agent may read it).</param>
    /// <param name="refresh">The refresh token first seen.</param>
    protected HeldOAuthLogin(string file, Uri endpoint, TimeProvider time, HttpClient http, LoginLayout layout, string accessPlaceholder, string refresh)
    {
        (File, Endpoint, Time, _http, _layout) = (file, endpoint, time, http, layout);
        // Made once from the first tokens seen, with seeds that are not the tokens: every session of this server run holds the same
        // placeholders whatever refreshes happen meanwhile, so an agent that reads its file again finds what its endpoint knows.
        AccessPlaceholder = accessPlaceholder;
        RefreshPlaceholder = refresh.Length == 0 ? "" : Placeholders.For(refresh, layout.Seed(layout.Refresh, file));
    }

    public string AccessPlaceholder { get; }

    public string RefreshPlaceholder { get; }

    /// <summary>The owner's login file: where the real login is, read and written by the server only.</summary>
    public string File { get; }

    /// <summary>Where it is refreshed.</summary>
    public Uri Endpoint { get; }

    protected TimeProvider Time { get; }

    /// <summary>The login's name in what the owner is told ("Claude's login").</summary>
    protected abstract string Name { get; }

    /// <summary>The command that logs in again ("claude", "codex login").</summary>
    protected abstract string LoginCommand { get; }

    /// <summary>The secret the model endpoint puts in: the access token, read afresh (and refreshed) for each request.</summary>
    public HeldSecret Secret(string real) => new($"{_layout.Section}.{_layout.Access} ({_layout.FileName})", real, AccessPlaceholder) { Live = this };

    /// <summary>
    /// What the sandboxed agent's login file holds: the owner's with its tokens placeholders, then as <see cref="FinishCopy"/> leaves
    /// it. Null when the owner's file has no login; <paramref name="realAccess"/> is the access token the copy stands in for.
    /// </summary>
    public string? SandboxCopy(out string? realAccess)
    {
        realAccess = null;
        if (Read(File) is not { } owners || Tokens(owners) is not { } tokens || owners[_layout.Section] is not JsonObject login)
        {
            return null;
        }

        realAccess = tokens.Access;
        login[_layout.Access] = AccessPlaceholder;
        if (tokens.Refresh.Length > 0)
        {
            login[_layout.Refresh] = RefreshPlaceholder;
        }

        FinishCopy(owners, login);
        return owners.ToJsonString();
    }

    /// <summary>The rest of the sandbox's copy (<paramref name="login"/> is its token section): whatever keeps the agent from refreshing.</summary>
    protected abstract void FinishCopy(JsonObject owners, JsonObject login);

    /// <summary>
    /// The <typeparamref name="TLogin"/> of the owner's file <paramref name="file"/>, one per file while the server runs (so one
    /// refresh at a time, and the same placeholders in every session); null when the file holds no such login.
    /// </summary>
    protected static TLogin? Held<TLogin>(string file, Uri tokenUrl, Func<JsonObject?, LoginTokens?> tokens, Func<string, Uri, LoginTokens, TLogin> make)
        where TLogin : HeldOAuthLogin =>
        tokens(Read(file)) is { } first
            ? (TLogin)Logins.GetOrAdd((typeof(TLogin), Path.GetFullPath(file), tokenUrl), key => make(key.File, key.TokenUrl, first))
            : null;

    /// <summary>The tokens a login file holds, or null when it holds no such login.</summary>
    protected abstract LoginTokens? Tokens(JsonObject? file);

    /// <summary>The refresh request's JSON body, as the agent itself sends it.</summary>
    protected abstract JsonObject RefreshBody(LoginTokens tokens);

    /// <summary>Puts what the token endpoint answered (<paramref name="answer"/>, its access token checked) into the owner's file.</summary>
    protected abstract void Rotate(JsonObject owners, JsonObject answer);

    /// <summary>Where a login file (<paramref name="FileName"/>) keeps its tokens: <c>{ Section: { Access, Refresh } }</c>.</summary>
    protected sealed record LoginLayout(string FileName, string Section, string Access, string Refresh)
    {
        /// <summary>A placeholder's seed for the token under <paramref name="key"/> of the login in <paramref name="file"/>: not the token.</summary>
        public string Seed(string key, string file) => $"{Section}.{key}:{file}";
    }

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
