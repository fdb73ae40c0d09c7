namespace PocketCoder.Auth;

/// <summary>After a revocation: the bridges forget its chats, and every phone is told what was held (the Tasks screen, each session's queue).</summary>
public sealed class HeldWorkAnnouncement(Bridges.BridgeHost bridges, Backlog.BacklogRunner backlog, Sessions.SessionQueues sessions) : IAccessSubscriber
{
    public void Changed(AccessChange change)
    {
        if (change is not DevicesRevoked { Held: var held })
        {
            return;
        }

        bridges.ChannelsChanged(null);
        foreach (var project in held.Projects)
        {
            backlog.Kick(project, changed: true);
        }

        foreach (var session in held.Sessions)
        {
            sessions.AnnounceQueue(session);
        }
    }
}
