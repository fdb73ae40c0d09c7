using PocketCoder.Backlog;

namespace PocketCoder.Tests.Backlog;

/// <summary>A schedule's times are given the same way wherever they are read: in UTC, the zone only deciding when.</summary>
[Trait("Category", "Unit")]
public sealed class ScheduleTimesTests
{
    [Fact]
    public void NextAfter_InAZoneAheadOfUtc_IsThatZonesTime_GivenInUtc()
    {
        var next = Schedules.NextAfter("0 9 * * *", "Europe/Berlin", new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

        // 09:00 in Berlin in winter (UTC+1) is 08:00 UTC: the instant is right, and so is the way it is written.
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero), next);
        Assert.Equal(TimeSpan.Zero, next!.Value.Offset);
    }
}
