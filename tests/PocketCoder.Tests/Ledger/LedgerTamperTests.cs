using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Ledger;

/// <summary>Every way of editing the ledger behind the server's back is caught by <c>ledger verify</c>.</summary>
public sealed class LedgerTamperTests : IDisposable
{
    private readonly string _data = TempPaths.NewDirectory("pc-ledger");
    private readonly Database _database;
    private readonly PocketCoder.Ledger.LedgerStore _ledger;

    public LedgerTamperTests()
    {
        _database = new Database(_data);
        _database.Migrate();
        _ledger = new PocketCoder.Ledger.LedgerStore(_database, TimeProvider.System);
        for (var i = 1; i <= 5; i++)
        {
            _database.Write(write => _ledger.Append(write, "phone", "approval.decided", $"approval-{i}", new() { ["decision"] = "deny" }));
        }
    }

    [Fact]
    public void Verify_Untouched_Ok()
    {
        var result = _ledger.Verify();
        Assert.True(result.IsOk, result.Problem);
        Assert.Equal(5, result.Entries);
    }

    [Fact]
    public void Verify_RowAltered_NamesThatEntry() =>
        AssertBroken("UPDATE ledger SET detail = '{\"decision\":\"allow_once\"}' WHERE seq = 3", 3, "altered");

    [Fact]
    public void Verify_AlteredWithRecomputedHash_CaughtByTheNextEntry()
    {
        // A careful forger recomputes the row's own hash; the next row still points at the old one.
        using var connection = Open();
        var row = connection.Query("SELECT at, actor, action, subject, prev_hash FROM ledger WHERE seq = 3",
            r => (At: r.GetString(0), Actor: r.GetString(1), Action: r.GetString(2), Subject: r.GetString(3), Prev: r.GetString(4))).Single();
        const string detail = "{\"decision\":\"allow_once\"}";
        var forged = PocketCoder.Ledger.LedgerStore.ComputeHash(3, row.At, row.Actor, row.Action, row.Subject, detail, row.Prev);
        connection.Execute("UPDATE ledger SET detail = $detail, hash = $hash WHERE seq = 3", ("$detail", detail), ("$hash", forged));

        var result = _ledger.Verify();
        Assert.False(result.IsOk);
        Assert.Equal(4, result.BadSeq);
    }

    [Fact]
    public void Verify_RowDeleted_Detected() => AssertBroken("DELETE FROM ledger WHERE seq = 2", 2, "missing");

    [Fact]
    public void Verify_RowInserted_Detected() =>
        AssertBroken("UPDATE ledger SET seq = -seq WHERE seq >= 3; UPDATE ledger SET seq = 1 - seq WHERE seq < 0; INSERT INTO ledger VALUES (3, '2026-01-01T00:00:00.0000000Z', 'mallory', 'approval.decided', 'x', '{}', 'aa', 'bb')", 3, "");

    [Fact]
    public void Verify_LastEntriesCutOff_DetectedByTheHeadFile() => AssertBroken("DELETE FROM ledger WHERE seq >= 4", 5, "removed");

    [Fact]
    public void Head_AfterFiveEntries_IsTheFifthForThePhoneToRemember()
    {
        var head = _ledger.Head();
        Assert.Equal(5, head.Seq);
        Assert.Equal(_ledger.Page(4, 1).Single().Hash, head.Hash);
    }

    [Fact]
    public void Verify_HeadFileDeleted_Fails()
    {
        File.Delete(HeadPath);
        var result = _ledger.Verify();
        Assert.False(result.IsOk);
        Assert.Contains("missing", result.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("5 not-a-hash")]
    [InlineData("-1 0000000000000000000000000000000000000000000000000000000000000000")]
    public void Verify_HeadFileGarbled_Fails(string content)
    {
        File.WriteAllText(HeadPath, content);
        var result = _ledger.Verify();
        Assert.False(result.IsOk);
        Assert.Contains("not a valid head", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ChainRewrittenUnderAnIntactHeadSeq_Fails()
    {
        // Someone replaces the whole chain with a consistent forgery of the same length: only the head's hash differs.
        File.WriteAllText(HeadPath, $"5 {new string('a', 64)}\n");
        var result = _ledger.Verify();
        Assert.False(result.IsOk);
        Assert.Contains("rewritten", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_HeadBehindAfterACrash_StillOk()
    {
        // A crash between a commit and the head's rewrite leaves the head one entry behind a chain that extends it.
        var fourth = _ledger.Page(3, 1).Single();
        File.WriteAllText(HeadPath, $"4 {fourth.Hash}\n");
        Assert.True(_ledger.Verify().IsOk);
    }

    [Fact]
    public void Verify_EmptyLedgerWithoutHead_Ok()
    {
        var data = TempPaths.NewDirectory("pc-ledger-empty");
        try
        {
            using var database = new Database(data);
            database.Migrate();
            Assert.True(new PocketCoder.Ledger.LedgerStore(database, TimeProvider.System).Verify().IsOk);
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    private string HeadPath => Path.Combine(_data, PocketCoder.Ledger.LedgerStore.HeadFileName);

    private void AssertBroken(string sql, long badSeq, string problem)
    {
        using (var connection = Open())
        {
            connection.Execute(sql);
        }

        var result = _ledger.Verify();
        Assert.False(result.IsOk);
        Assert.Equal(badSeq, result.BadSeq);
        Assert.Contains(problem, result.Problem, StringComparison.Ordinal);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={_database.FilePath};Pooling=False");
        connection.Open();
        return connection;
    }

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
    }
}
