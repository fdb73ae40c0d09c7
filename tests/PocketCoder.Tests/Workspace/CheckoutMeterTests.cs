using PocketCoder.Workspace.Worktrees;

namespace PocketCoder.Tests.Workspace;

/// <summary>git's checkout meter, read as it arrives: in pieces, redrawn with carriage returns, amid other output.</summary>
[Trait("Category", "Unit")]
public sealed class CheckoutMeterTests
{
    [Fact]
    public void EveryFivePercent_FromPiecesAndRedraws_OtherLinesPassedOver()
    {
        var seen = new List<WorktreeProgress>();
        var meter = new CheckoutMeter(seen.Add);
        var output = "Preparing worktree (checking out 'x')\n";
        for (var done = 0; done <= 10_000; done += 100)
        {
            output += $"Updating files:  {done * 100 / 10_000}% ({done}/10000)\r";
        }

        output += "Updating files: 100% (10000/10000), done.\nwarning: something else 7% (1/2) said\n";
        // In pieces of 7 characters: a line is only read whole.
        for (var i = 0; i < output.Length; i += 7)
        {
            meter.Read(output.Substring(i, Math.Min(7, output.Length - i)));
        }

        Assert.Equal([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100], seen.Select(p => p.Percent ?? -1));
        Assert.All(seen, p => Assert.Equal(PreparationPhases.Checkout, p.Phase));
        Assert.Equal((5000L, 10000L), (seen[10].Done!.Value, seen[10].Total!.Value));
    }

    [Fact]
    public void NonsenseAndEndlessLines_ReportNothing()
    {
        var seen = new List<WorktreeProgress>();
        var meter = new CheckoutMeter(seen.Add);
        meter.Read("Updating files: 400% (1/2)\rUpdating files: x% (1/2)\r" + new string('a', 100_000) + "Updating files: 50% (1/2)\r");
        Assert.Empty(seen);
        Assert.Equal("fatal: no space left on device", CheckoutMeter.WithoutMeter("Updating files:  10% (1/10)\rfatal: no space left on device\n"));
    }
}
