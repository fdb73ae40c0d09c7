namespace PocketCoder.Auth;

/// <summary>Something that changed who may act: what a subscriber gave on the strength of the old answer, it takes back.</summary>
public abstract record AccessChange;

/// <summary>Devices lost their access, one by one or with their person; <paramref name="Held"/> is the standing work that now waits for someone.</summary>
public sealed record DevicesRevoked(IReadOnlyList<string> DeviceIds, HeldWork Held) : AccessChange;

/// <summary>A person's role changed, everywhere or in one project (<paramref name="ProjectId"/>).</summary>
public sealed record RoleChanged(string PersonId, string? ProjectId) : AccessChange;

/// <summary>One of the things that must hear of an <see cref="AccessChange"/> (open streams, held queues, watch links…).</summary>
public interface IAccessSubscriber
{
    void Changed(AccessChange change);
}

/// <summary>
/// One place that tells every subscriber when access is taken away, so that a new capability that a person's authority
/// lends (a watch link, a chat binding, a stream) subscribes here instead of each door that revokes or demotes calling it by
/// hand, where the next door forgets one. The stores publish after their write commits; what must be atomic with the change
/// (pairing codes, votes) stays in their transaction.
/// </summary>
/// <remarks>Subscribers are resolved when a change is published, not when this is made: they include the session manager and
/// the bridges, which depend (through the gate) on the very stores that publish.</remarks>
public sealed class AccessChanges(IServiceProvider services, ILogger<AccessChanges> logger)
{
    public void Publish(AccessChange change)
    {
        foreach (var subscriber in services.GetServices<IAccessSubscriber>())
        {
            try
            {
                subscriber.Changed(change);
            }
            catch (Exception exception)
            {
                // Every other subscriber still hears of it: one that failed must not leave a stream or a link open elsewhere.
                logger.LogError(exception, "{Subscriber} failed on {Change}", subscriber.GetType().Name, change.GetType().Name);
            }
        }
    }
}
