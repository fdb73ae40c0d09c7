using PocketCoder.Sessions.Running;

namespace PocketCoder.Tests.Sessions;

/// <summary>
/// The line takes turns by person: owners first, then whoever runs fewest agents, then first come; nobody runs more than the
/// per-person cap. An outside check: an operator who started three sessions with the limit at 1 kept the owner's new one queued.
/// Sessions here are named "person/n", an owner's "owner/n".
/// </summary>
[Trait("Category", "Unit")]
public sealed class AgentSlotsFairnessTests
{
    private static AgentSlots Slots(int limit) =>
        new(limit, session => new Claimant(session.Split('/')[0], session.StartsWith("owner/", StringComparison.Ordinal)));

    [Fact]
    public async Task AnOwnersSession_GoesBeforeAnOperatorsThreeThatCameFirst()
    {
        var slots = Slots(1);
        var running = slots.TryTake("olu/1");
        var olu2 = slots.TakeAsync("olu/2", CancellationToken.None);
        var olu3 = slots.TakeAsync("olu/3", CancellationToken.None);
        var owner = slots.TakeAsync("owner/1", CancellationToken.None);
        Assert.Equal(["owner/1", "olu/2", "olu/3"], slots.Waiting);
        Assert.Equal(1, slots.Place("owner/1"));

        slots.Release(running);
        Assert.Equal("owner/1", (await owner).SessionId);
        Assert.False(olu2.IsCompleted || olu3.IsCompleted);
    }

    [Fact]
    public async Task AFreedSlot_GoesToWhoeverRunsFewest_NotToWhoCameFirst()
    {
        var slots = Slots(2);
        var ana = slots.TryTake("ana/1");
        var ben = slots.TryTake("ben/1");
        var ana2 = slots.TakeAsync("ana/2", CancellationToken.None);
        var ana3 = slots.TakeAsync("ana/3", CancellationToken.None);
        var cleo = slots.TakeAsync("cleo/1", CancellationToken.None);
        // Cleo runs nothing, Ana one: Cleo goes first though she came last.
        Assert.Equal(["cleo/1", "ana/2", "ana/3"], slots.Waiting);

        slots.Release(ben);
        Assert.Equal("cleo/1", (await cleo).SessionId);
        slots.Release(ana);
        Assert.Equal("ana/2", (await ana2).SessionId);
        Assert.False(ana3.IsCompleted);
    }

    [Fact]
    public async Task APerPersonCap_HoldsThatPersonBack_EvenWithSlotsFree_AndRaisingItLetsThemGo()
    {
        var slots = Slots(3);
        slots.SetPerPersonLimit(1);
        Assert.NotNull(slots.TryTake("ana/1"));
        Assert.Null(slots.TryTake("ana/2"));
        var ana2 = slots.TakeAsync("ana/2", CancellationToken.None);
        Assert.False(ana2.IsCompleted);
        Assert.NotNull(slots.TryTake("ben/1"));
        Assert.Equal(2, slots.Running);
        Assert.Equal(["ana/2"], slots.Waiting);

        slots.SetPerPersonLimit(2);
        Assert.Equal("ana/2", (await ana2).SessionId);
        Assert.Equal(3, slots.Running);
    }

    [Fact]
    public async Task ANewcomerRunningNothing_TakesAFreeSlotAhead_OfSomeoneAtTheirCap()
    {
        var slots = Slots(2);
        slots.SetPerPersonLimit(1);
        var ana = slots.TryTake("ana/1");
        var ana2 = slots.TakeAsync("ana/2", CancellationToken.None);
        // A slot is free and Ana, at her cap, waits for her own: Ben is not held behind her.
        Assert.NotNull(slots.TryTake("ben/1"));
        slots.Release(ana);
        Assert.Equal("ana/2", (await ana2).SessionId);
    }

    [Fact]
    public void TheLineNeedsRoom_OnlyWhenEverySlotIsTaken_AndFromTheCappedPersonsOwnAgentsWhenTheCapHoldsThem()
    {
        // An attacker's review: with a cap, making room suspended everyone's idle agents one by one although slots were free
        // and only the waiter's own cap held them back.
        var slots = Slots(3);
        slots.SetPerPersonLimit(1);
        Assert.NotNull(slots.TryTake("ana/1"));
        Assert.Null(slots.Need());
        _ = slots.TakeAsync("ana/2", CancellationToken.None);
        Assert.Equal(new LineNeed("ana/2", OwnOnly: true), slots.Need());

        var full = Slots(1);
        Assert.NotNull(full.TryTake("ana/1"));
        _ = full.TakeAsync("ben/1", CancellationToken.None);
        Assert.Equal(new LineNeed("ben/1", OwnOnly: false), full.Need());
    }

    [Fact]
    public async Task TheLine_UnderRandomArrivalsAndReleases_NeverExceedsTheLimitOrACap_AndNeverLeavesASlotIdleForSomeoneEligible()
    {
        var random = new Random(65);
        for (var round = 0; round < 200; round++)
        {
            var limit = random.Next(1, 4);
            var cap = random.Next(0, 3) is var c and > 0 ? c : (int?)null;
            var slots = Slots(limit);
            slots.SetPerPersonLimit(cap);
            var held = new List<SlotLease>();
            var waits = new List<(string Session, Task<SlotLease> Lease)>();
            for (var step = 0; step < 30; step++)
            {
                if (held.Count > 0 && random.Next(3) == 0)
                {
                    var index = random.Next(held.Count);
                    slots.Release(held[index]);
                    held.RemoveAt(index);
                }
                else
                {
                    var person = new[] { "owner", "ana", "ben" }[random.Next(3)];
                    waits.Add(($"{person}/{step}", slots.TakeAsync($"{person}/{step}", CancellationToken.None)));
                }

                // Out of line means granted (the wait's own task completes a moment later, on another thread).
                var line = slots.Waiting;
                foreach (var granted in waits.Where(w => !line.Contains(w.Session)).ToList())
                {
                    held.Add(await granted.Lease.WaitAsync(TimeSpan.FromSeconds(10)));
                    waits.Remove(granted);
                }

                Assert.True(slots.Running <= limit);
                var byPerson = held.GroupBy(l => l.Claimant).Select(g => g.Count());
                Assert.True(cap is null || byPerson.All(n => n <= cap));
                // Someone eligible waits only while every slot is taken.
                var eligible = slots.Waiting.Any(s => cap is null || held.Count(l => l.Claimant == s.Split('/')[0]) < cap);
                Assert.False(eligible && slots.Running < limit, $"round {round}, step {step}: a slot idles while someone eligible waits (limit {limit}, cap {cap}; running {string.Join(",", held.Select(l => l.SessionId))}; waiting {string.Join(",", slots.Waiting)})");
            }
        }
    }
}
