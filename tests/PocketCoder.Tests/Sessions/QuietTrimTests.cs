using PocketCoder.Tests.Infrastructure;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Tests.Sessions;

/// <summary>
/// The collection made once no agent runs (#52: ten waiting sessions should cost only the server's own memory): after five
/// quiet seconds, once per quiet spell, and never while an agent runs or starts again within the five seconds.
/// </summary>
[Trait("Category", "Unit")]
public sealed class QuietTrimTests
{
    [Fact]
    public async Task NoneRunningForFiveSeconds_OneCollection_OnlyOncePerQuietSpell()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var collected = 0;
        var running = 0;
        var trim = new QuietTrim(clock, () => running, () => Interlocked.Increment(ref collected));

        running = 0;
        trim.Changed();
        clock.Advance(QuietTrim.After - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, collected);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await WaitForAsync(() => collected == 1);

        // Still quiet: the line moving again (a session joining it, the limit changed) collects nothing more.
        running = 0;
        trim.Changed();
        clock.Advance(QuietTrim.After * 3);
        Assert.Equal(1, collected);

        // An agent ran in between: the next quiet spell collects once more.
        running = 1;
        trim.Changed();
        running = 0;
        trim.Changed();
        clock.Advance(QuietTrim.After);
        await WaitForAsync(() => collected == 2);
    }

    [Fact]
    public void AnAgentStartsWithinTheFiveSeconds_OrRunsAsTheWaitEnds_NothingCollected()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var collected = 0;
        var running = 0;
        var trim = new QuietTrim(clock, () => running, () => Interlocked.Increment(ref collected));

        running = 0;
        trim.Changed();
        clock.Advance(QuietTrim.After / 2);
        running = 2;
        trim.Changed();
        clock.Advance(QuietTrim.After * 4);
        Assert.Equal(0, collected);

        // Two changes told out of order (the last told says none run, but one does): the count is read again, nothing collected.
        running = 0;
        trim.Changed();
        running = 1;
        clock.Advance(QuietTrim.After * 2);
        Assert.Equal(0, collected);
    }

    private static async Task WaitForAsync(Func<bool> done)
    {
        // The delay's continuation runs on the thread pool once the fake clock fires it.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!done())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
