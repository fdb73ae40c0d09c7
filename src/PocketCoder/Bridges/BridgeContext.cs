using System.Collections.Concurrent;

namespace PocketCoder.Bridges;

/// <summary>
/// What the parts of one bridge (<see cref="ChatCommands"/>, <see cref="ApprovalPosts"/>, <see cref="TurnPosts"/>) share:
/// its platform and outbox, the chats bound to projects as last read, and when a stranger in a chat was last answered.
/// </summary>
internal sealed record BridgeContext(BridgeDefinition Definition, IChatPlatform Platform, BridgeServices Services, ILogger Logger)
{
    private static readonly TimeSpan StrangerAnswerInterval = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _strangerAnswers = new(StringComparer.Ordinal);
    private readonly Lock _reloading = new();
    private volatile IReadOnlyList<BridgeChannel> _channels = [];

    public BridgeStore Store => Services.Store;

    public ChatOutbox Outbox { get; } = new(Platform, Services.Clock, Logger, Services.Options.ChatInterval);

    /// <summary>The chats bound to a project, as last read.</summary>
    public IReadOnlyList<BridgeChannel> Channels => _channels;

    public BridgeChannel? Channel(string chatId) => _channels.FirstOrDefault(c => c.ChatId == chatId);

    /// <summary>Under a lock: two reloads racing (a revoke and a bind) must not leave the older read in place.</summary>
    public void ReloadChannels()
    {
        lock (_reloading)
        {
            _channels = Store.Channels(Definition.Id);
        }
    }

    /// <summary>
    /// Someone not linked is answered at most once a minute in a chat: a stranger (or a script in a group) cannot make the bridge
    /// flood a chat or spend its rate limit with the platform.
    /// </summary>
    public bool MayAnswerStranger(ChatInput input)
    {
        var now = Services.Clock.GetUtcNow();
        var key = $"{input.ChatId}/{input.UserId}";
        if (_strangerAnswers.TryGetValue(key, out var last) && now - last < StrangerAnswerInterval)
        {
            return false;
        }

        if (_strangerAnswers.Count > 10_000)
        {
            foreach (var (user, at) in _strangerAnswers.Where(e => now - e.Value >= StrangerAnswerInterval).ToList())
            {
                _strangerAnswers.TryRemove(user, out _);
            }
        }

        _strangerAnswers[key] = now;
        return true;
    }

    public void Ignore(string what, string userId)
    {
        Store.CountIgnored(Definition.Id);
        BridgeLog.Ignored(Logger, Definition.Id, what, userId);
    }

    public string? AppLink(string sessionId) => Services.Options.PublicUrl is { } url ? $"{url.TrimEnd('/')}/s/{sessionId}" : null;

    public static bool IsPlatformProblem(Exception exception) =>
        exception is HttpRequestException or TaskCanceledException or ChatRefusedException or ChatRateLimitedException or System.Text.Json.JsonException;
}
