using PocketCoder.Sessions.Running;

namespace PocketCoder.Tests.Sessions;

/// <summary>The limit on running agents: first come first served, a slot let go goes to the first in line, nobody is pushed out.</summary>
[Trait("Category", "Unit")]
public sealed class AgentSlotsTests
{
    [Fact]
    public async Task Take_BeyondTheLimit_WaitsInLine_UntilASlotIsLetGo()
    {
        var slots = new AgentSlots(2);
        Assert.True(slots.TryTake("a"));
        Assert.True(slots.TryTake("b"));
        Assert.True(slots.TryTake("a"), "a session holding a slot takes no second one");

        var third = slots.TakeAsync("c", CancellationToken.None);
        var fourth = slots.TakeAsync("d", CancellationToken.None);
        Assert.False(third.IsCompleted);
        Assert.Equal(["c", "d"], slots.Waiting);
        Assert.Equal(1, slots.Place("c"));
        Assert.Equal(2, slots.Place("d"));
        Assert.False(slots.TryTake("e"), "nobody jumps the line, even to a slot let go a moment ago");

        slots.Release("b");
        await third;
        Assert.False(fourth.IsCompleted);
        Assert.True(slots.Holds("c"));
        Assert.Equal(1, slots.Place("d"));
        Assert.Equal(2, slots.Running);
    }

    [Fact]
    public async Task SetLimit_Raised_StartsThoseInLine_Lowered_StopsNobody()
    {
        var slots = new AgentSlots(1);
        slots.TryTake("a");
        var second = slots.TakeAsync("b", CancellationToken.None);

        slots.SetLimit(2);
        await second;

        slots.SetLimit(1);
        Assert.True(slots.Holds("a") && slots.Holds("b"));
        var third = slots.TakeAsync("c", CancellationToken.None);
        slots.Release("a");
        Assert.False(third.IsCompleted, "one slot at a limit of 1 is still held by b");
        slots.Release("b");
        await third;
    }

    [Fact]
    public async Task TakeAsync_Cancelled_LeavesTheLine_AndHoldsNothing()
    {
        var slots = new AgentSlots(1);
        slots.TryTake("a");
        using var cancel = new CancellationTokenSource();
        var waiting = slots.TakeAsync("b", cancel.Token);
        var after = slots.TakeAsync("c", CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(["c"], slots.Waiting);

        slots.Release("a");
        await after;
        Assert.False(slots.Holds("b"));
    }

    [Fact]
    public void Watchers_HearEveryMove_AndTheReasonSaysThePlace()
    {
        var slots = new AgentSlots(1);
        var moves = 0;
        slots.Watch(() => moves++);
        slots.TryTake("a");
        _ = slots.TakeAsync("b", CancellationToken.None);
        slots.Release("a");
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
