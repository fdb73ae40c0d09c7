using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Tests.Sessions;

/// <summary>The pure parts of a rewind: what an agent that cannot fork is told of the earlier turns, and which files go back how.</summary>
[Trait("Category", "Unit")]
public sealed class RewindPartsTests
{
    private static long _seq;

    private static StoredEvent Event(string kind, string data) => new(++_seq, "s", _seq, kind, data, "now");

    [Fact]
    public void Summary_EachEarlierTurn_TheOwnersMessageAndTheLastMainReply()
    {
        var earlier = new[]
        {
            Event("message.user", """{"text":"write one"}"""),
            Event("message", """{"text":"On it."}"""),
            Event("message", """{"text":"a subagent's words","parentToolCallId":"t1"}"""),
            Event("message", """{"text":"Wrote one."}"""),
            Event("turn.completed", """{"stopReason":"success","isError":false}"""),
            Event("message.user", """{"text":"and check it"}"""),
            Event("turn.completed", """{"stopReason":"cancelled","isError":false}"""),
        };

        var summary = RewindSummary.Of(3, earlier);

        Assert.Contains("before its turn 3", summary, StringComparison.Ordinal);
        Assert.Contains("Turn 1. I asked: write one\nYou answered: Wrote one.\n", summary, StringComparison.Ordinal);
        Assert.Contains("Turn 2. I asked: and check it\nYou answered: (nothing)\n", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("subagent", summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_LongTurns_AreCutToTheCaps()
    {
        var longText = new string('x', 10_000);
        var earlier = Enumerable.Range(0, 20).SelectMany(_ => new[]
        {
            Event("message.user", $$"""{"text":"{{longText}}"}"""),
            Event("turn.completed", """{"stopReason":"success","isError":false}"""),
        }).ToList();

        var summary = RewindSummary.Of(21, earlier);

        Assert.Equal(RewindSummary.MaxLength + 1, summary.Length);
        Assert.DoesNotContain(new string('x', RewindSummary.MaxPart + 1), summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Restored_DeletedFilesAreRemoved_TheRestWritten()
    {
        var (written, removed) = WorktreeSnapshots.Restored("M\0a.txt\0A\0new dir/b.txt\0D\0gone.txt\0T\0link\0");

        Assert.Equal(["a.txt", "new dir/b.txt", "link"], written);
        Assert.Equal(["gone.txt"], removed);
    }

    [Fact]
    public void Plan_WhatChangedInAnyGapBetweenTurns_IsNotTheAgents_TheRestIsItsToUndo()
    {
        // Gaps: after turn 4 (the owner wrote mine.txt, touched shared.txt), after turn 5 (nothing), since the latest (notes.txt gone).
        var others = RewindPlan.Others([(["mine.txt", "shared.txt"], []), ([], []), ([], ["notes.txt"])]);
        var plan = new RewindPlan("now", Written: ["agent.txt", "shared.txt", "notes.txt"], Removed: ["file5.txt", "mine.txt"], others);

        var (files, notTheAgents) = plan.Split();

        Assert.Equal(["agent.txt:restore", "file5.txt:delete"], files.Select(f => $"{f.Path}:{f.Action}"));
        Assert.Equal(["mine.txt:delete", "notes.txt:restore", "shared.txt:restore"], notTheAgents.Select(f => $"{f.Path}:{f.Action}"));
    }
}
