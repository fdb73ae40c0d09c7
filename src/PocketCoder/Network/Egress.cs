using System.Collections.Immutable;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Network;

/// <summary>
/// The sandboxes' one way out (docs/security.md, "The network"): a door per sandboxed process (<see cref="EgressDoor"/>), whose
/// connections are decided for its session (<see cref="EgressGate"/>) and shown in its timeline. One per server.
/// </summary>
public sealed class Egress(EventLog events, UnaskedConnections unasked, CredentialUses credentials, PocketCoderOptions options, TimeProvider clock,
    ILogger<Egress> logger)
{
    /// <summary>The hosts of the fetches each session's agent was allowed (its own connections to them are asked about for a while).</summary>
    public AllowedFetches Fetches { get; } = new(clock);

    private readonly UnaskedConnections _unasked = unasked;
    private readonly TimeProvider _clock = clock;
    private readonly EgressWaits _waits = new(clock);
    private readonly EventLog _events = events;
    private readonly CredentialUses _credentials = credentials;
    private readonly ILogger _logger = logger;
    private readonly HostResolver _resolver = new(options.NetworkHosts);

    /// <summary>
    /// The way out for an agent's sandbox: for a session, whose connections are put to its gate and shown in its timeline; for
    /// a run with no session (<paramref name="session"/> null: a model probe), only the agent's model.
    /// </summary>
    public IEgress For(IEgressSession? session) => new Opener(this, session);

    // The doors open now, by session: the ways into each session's sandboxes (a preview of a server a command started there).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ImmutableList<EgressDoor>> _open = new(StringComparer.Ordinal);

    /// <summary>The doors of the session's sandboxed processes running now, each opened (its sandbox's network set up).</summary>
    public IReadOnlyList<EgressDoor> DoorsOf(string sessionId) =>
        _open.TryGetValue(sessionId, out var doors) ? [.. doors.Where(door => door.Opened.IsCompletedSuccessfully && door.Opened.Result)] : [];

    /// <summary>Raised with a session's id when the last of its sandboxed processes ended (its sandboxes' networks are gone).</summary>
    public event Action<string>? SessionClosed;

    private void Opened(string sessionId, EgressDoor door) =>
        _open.AddOrUpdate(sessionId, _ => [door], (_, doors) => doors.Add(door));

    private void Closed(string sessionId, EgressDoor door)
    {
        var left = _open.AddOrUpdate(sessionId, _ => [], (_, doors) => doors.Remove(door));
        if (left.IsEmpty && _open.TryRemove(new KeyValuePair<string, ImmutableList<EgressDoor>>(sessionId, left)))
        {
            SessionClosed?.Invoke(sessionId);
        }
    }

    /// <summary>Where doors are made: the data folder's <c>run</c> (0700), or a private folder for this user under the temp folder when
    /// the data folder's path is too long for a unix socket's address (108 bytes).</summary>
    private string DoorPath()
    {
        var name = $"egress-{Guid.NewGuid():N}.sock";
        var run = Path.Combine(options.DataDirectory, "run");
        if (Path.Combine(run, name).Length < 100)
        {
            return Path.Combine(UnixFiles.EnsurePrivateDirectory(run), name);
        }

        var temp = Path.Combine(Path.GetTempPath(), $"pocketcoder-{Environment.UserName}-run");
        return Path.Combine(UnixFiles.EnsurePrivateDirectory(temp), name);
    }

    private sealed class Opener(Egress egress, IEgressSession? session) : IEgress
    {
        public IEgressDoor Open(EgressLayout layout)
        {
            var door = new EgressDoor(egress.DoorPath(), layout,
                new EgressGate(layout.Model, session, egress._waits, egress._unasked, egress.Fetches, egress._resolver, egress._clock),
                session is null ? null : connection => egress._events.Append(session.SessionId, connection), egress._logger,
                session is null ? null : (secret, host) => egress._credentials.Used(session.SessionId, secret, host));
            if (session is not null)
            {
                egress.Opened(session.SessionId, door);
                door.Disposed += () => egress.Closed(session.SessionId, door);
            }

            return door;
        }
    }
}
