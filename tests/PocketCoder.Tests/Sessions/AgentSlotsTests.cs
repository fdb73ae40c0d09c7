using PocketCoder.Sessions.Running;

namespace PocketCoder.Tests.Sessions;

/// <summary>
/// The limit on running agents: first come first served, a slot let go goes to the first in line, nobody is pushed out; a slot
/// is let go only by the lease that took it.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AgentSlotsTests
{
    [Fact]
    public async Task Take_BeyondTheLimit_WaitsInLine_UntilASlotIsLetGo()
    {
        var slots = new AgentSlots(2);
        Assert.NotNull(slots.TryTake("a"));
        var b = slots.TryTake("b");
        Assert.NotNull(b);
        Assert.Null(slots.TryTake("a"));

        var third = slots.TakeAsync("c", CancellationToken.None);
        var fourth = slots.TakeAsync("d", CancellationToken.None);
        Assert.False(third.IsCompleted);
        Assert.Equal(["c", "d"], slots.Waiting);
        Assert.Equal(1, slots.Place("c"));
        Assert.Equal(2, slots.Place("d"));
        Assert.Null(slots.TryTake("e"));

        slots.Release(b);
        Assert.Equal("c", (await third).SessionId);
        Assert.False(fourth.IsCompleted);
        Assert.True(slots.Holds("c"));
        Assert.Equal(1, slots.Place("d"));
        Assert.Equal(2, slots.Running);
    }

    [Fact]
    public async Task SetLimit_Raised_StartsThoseInLine_Lowered_StopsNobody()
    {
        var slots = new AgentSlots(1);
        var a = slots.TryTake("a");
        var second = slots.TakeAsync("b", CancellationToken.None);

        slots.SetLimit(2);
        var b = await second;

        slots.SetLimit(1);
        Assert.True(slots.Holds("a") && slots.Holds("b"));
        var third = slots.TakeAsync("c", CancellationToken.None);
        slots.Release(a);
        Assert.False(third.IsCompleted, "one slot at a limit of 1 is still held by b");
        slots.Release(b);
        await third;
    }

    [Fact]
    public async Task TakeAsync_Cancelled_LeavesTheLine_AndHoldsNothing()
    {
        var slots = new AgentSlots(1);
        var a = slots.TryTake("a");
        using var cancel = new CancellationTokenSource();
        var waiting = slots.TakeAsync("b", cancel.Token);
        var after = slots.TakeAsync("c", CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(["c"], slots.Waiting);

        slots.Release(a);
        await after;
        Assert.False(slots.Holds("b"));
    }

    [Fact]
    public void ALeaseLetGoLate_NeverFreesTheSlotOfTheProcessAfterIt()
    {
        // A session's old process still exiting, and a new one of the same session: each holds a slot of its own.
        var slots = new AgentSlots(2);
        var old = slots.TryTake("a");
        var next = slots.TryTake("a");
        Assert.NotNull(next);
        Assert.Null(slots.TryTake("b"));

        slots.Release(old);
        slots.Release(old);
        Assert.Equal(1, slots.Running);
        Assert.True(slots.Holds("a"));
        Assert.NotNull(slots.TryTake("b"));
        Assert.Null(slots.TryTake("c"));
    }

    [Fact]
    public async Task ASlotLetGoAsSomeoneJoinsTheLine_IsTheirs_NeverGivenToNobody()
    {
        // The free-slot check and joining the line are one step: with two, a slot let go in between went to nobody, and from
        // then on every start queued behind a waiter nobody would wake.
        for (var round = 0; round < 20_000; round++)
        {
            var slots = new AgentSlots(1);
            var a = slots.TryTake("a");
            var go = 0;
            var release = Task.Run(() =>
            {
                Interlocked.Increment(ref go);
                SpinWait.SpinUntil(() => Volatile.Read(ref go) == 2);
                slots.Release(a);
            });
            var take = Task.Run(() =>
            {
                Interlocked.Increment(ref go);
                SpinWait.SpinUntil(() => Volatile.Read(ref go) == 2);
                return slots.TakeAsync("b", CancellationToken.None);
            });
            await release;
            var b = await take.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("b", b.SessionId);
            Assert.Empty(slots.Waiting);
        }
    }

    [Fact]
    public void Watchers_HearEveryMove_AndTheReasonSaysThePlace()
    {
        var slots = new AgentSlots(1);
        var moves = 0;
        slots.Watch(() => moves++);
        var a = slots.TryTake("a");
        _ = slots.TakeAsync("b", CancellationToken.None);
        slots.Release(a);
        Assert.True(moves >= 3);

        Assert.Equal("waiting for an agent slot: starts when one of 4 running sessions finishes or pauses (2nd in line)", AgentSlots.QueuedReason(2, 4));
        Assert.Contains("(11th in line)", AgentSlots.QueuedReason(11, 1), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1L << 30, 2)]
    [InlineData(16L << 30, 16)]
    [InlineData(1L << 40, AgentSlots.HighestDefault)]
    public void DefaultFor_HalfTheMemory_AtHalfAGibibyteEach(long memory, int limit) => Assert.Equal(limit, AgentSlots.DefaultFor(memory));
}
