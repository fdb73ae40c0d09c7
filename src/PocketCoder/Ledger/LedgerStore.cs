using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;

namespace PocketCoder.Ledger;

/// <param name="At">Exactly as stored (UTC ISO-8601): the hash covers this text.</param>
public sealed record LedgerEntry(long Seq, string At, string Actor, string Action, string Subject, string Detail, string PrevHash, string Hash);

/// <summary>
/// The tamper-evident record: each entry carries the SHA-256 of the one before it, so altering,
/// inserting or deleting a row breaks the chain. The newest hash is also kept in a file beside the
/// database, which catches the one edit a chain alone cannot see: cutting entries off the end.
/// </summary>
public sealed class LedgerStore(Database database, TimeProvider clock)
{
    public const string HeadFileName = "ledger.head";
    /// <summary>The first entry's <c>prevHash</c>.</summary>
    internal static readonly string Genesis = new('0', 64);

    private string HeadPath => Path.Combine(database.DataDirectory, HeadFileName);

    /// <summary>Appends an entry inside the caller's transaction, so a decision and its record commit together.</summary>
    public LedgerEntry Append(DbWrite write, string actor, string action, string subject, JsonObject? detail = null)
    {
        var previous = write.Query(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
            r => (Seq: r.GetInt64(0), Hash: r.GetString(1))).FirstOrDefault();
        var seq = previous.Hash is null ? 1 : previous.Seq + 1;
        var prevHash = previous.Hash ?? Genesis;
        var at = clock.GetUtcNow().ToDb();
        var detailText = (detail ?? []).ToJsonString();
        var hash = ComputeHash(seq, at, actor, action, subject, detailText, prevHash);
        write.Execute(
            "INSERT INTO ledger (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ($seq, $at, $actor, $action, $subject, $detail, $prev, $hash)",
            ("$seq", seq), ("$at", at), ("$actor", actor), ("$action", action), ("$subject", subject),
            ("$detail", detailText), ("$prev", prevHash), ("$hash", hash));
        write.AfterCommit(() => WriteHead(seq, hash));
        return new LedgerEntry(seq, at, actor, action, subject, detailText, prevHash, hash);
    }

    /// <summary>The newest entry's seq and hash (0 and the genesis hash while the ledger is empty).</summary>
    public LedgerHead Head() => database.Read(connection => connection.Query(
        "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1", r => new LedgerHead(r.GetInt64(0), r.GetString(1)))).FirstOrDefault()
        ?? new LedgerHead(0, Genesis);

    internal const string PageSql = "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM ledger WHERE seq > $after ORDER BY seq LIMIT $limit";

    public IReadOnlyList<LedgerEntry> Page(long after, int limit) => database.Read(connection => connection.Query(PageSql,
        Map, ("$after", after), ("$limit", limit)));

    /// <summary>Entries 1 to <paramref name="through"/>, oldest first, read a page at a time (each page its own short read).</summary>
    public IEnumerable<LedgerEntry> Entries(long through)
    {
        const int pageSize = 1000;
        long after = 0;
        while (after < through)
        {
            var page = Page(after, (int)Math.Min(pageSize, through - after));
            foreach (var entry in page)
            {
                if (entry.Seq > through)
                {
                    yield break;
                }

                yield return entry;
            }

            if (page.Count == 0)
            {
                yield break;
            }

            after = page[^1].Seq;
        }
    }

    /// <summary>Walks the whole chain. Returns the number of entries, or the first entry that is not what it claims.</summary>
    public LedgerVerification Verify()
    {
        var expectedPrev = Genesis;
        long expectedSeq = 1;
        long count = 0;
        foreach (var entry in EveryEntry())
        {
            if (entry.Seq != expectedSeq)
            {
                return LedgerVerification.Broken(count, expectedSeq,
                    $"entry {expectedSeq} is missing (found {entry.Seq} next): a row was deleted or inserted");
            }

            if (entry.PrevHash != expectedPrev)
            {
                return LedgerVerification.Broken(count, entry.Seq, $"entry {entry.Seq} does not follow entry {entry.Seq - 1} (previous hash mismatch)");
            }

            var recomputed = ComputeHash(entry.Seq, entry.At, entry.Actor, entry.Action, entry.Subject, entry.Detail, entry.PrevHash);
            if (recomputed != entry.Hash)
            {
                return LedgerVerification.Broken(count, entry.Seq, $"entry {entry.Seq} was altered (its hash does not match its content)");
            }

            expectedPrev = entry.Hash;
            expectedSeq++;
            count++;
        }

        // The head file is what catches entries cut off the end, so a chain without a readable head is not verified.
        // A head a little behind the chain is normal after a crash between a commit and the head's rewrite; a head
        // ahead of it, or naming another hash for its entry, means entries were removed or replaced.
        var head = ReadHead();
        if (count > 0 && head is HeadState.Missing)
        {
            return LedgerVerification.Broken(count, count,
                $"{HeadFileName} is missing: the end of the chain cannot be checked (entries may have been cut off the end)");
        }

        if (head is HeadState.Garbled)
        {
            return LedgerVerification.Broken(count, count, $"{HeadFileName} is not a valid head record: it was altered");
        }

        if (head is HeadState.Valid(var headSeq, var headHash))
        {
            if (headSeq > count)
            {
                return LedgerVerification.Broken(count, headSeq,
                    $"the ledger ends at entry {count} but {HeadFileName} records entry {headSeq}: entries were removed from the end");
            }

            if (headSeq > 0 && HashOf(headSeq) != headHash)
            {
                return LedgerVerification.Broken(count, headSeq,
                    $"entry {headSeq} is not the one {HeadFileName} records: the chain was rewritten");
            }
        }

        return LedgerVerification.Ok(count);
    }

    /// <summary>
    /// Every row in seq order (gaps included: finding them is the point), a page at a time: the walk's memory stays flat
    /// however long the ledger, where one query's list held all of it (and every hash) at once.
    /// </summary>
    private IEnumerable<LedgerEntry> EveryEntry()
    {
        const int pageSize = 1000;
        long after = long.MinValue;
        while (true)
        {
            var page = Page(after, pageSize);
            foreach (var entry in page)
            {
                yield return entry;
            }

            if (page.Count < pageSize)
            {
                yield break;
            }

            after = page[^1].Seq;
        }
    }

    private string? HashOf(long seq) => database.Read(connection => connection.Query(
        "SELECT hash FROM ledger WHERE seq = $seq", r => r.GetString(0), ("$seq", seq))).FirstOrDefault();

    internal static string ComputeHash(long seq, string at, string actor, string action, string subject, string detail, string prevHash)
    {
        // Unit separators keep field boundaries unambiguous ("ab"+"c" never hashes like "a"+"bc").
        var canonical = string.Join('\u001f', seq.ToString(CultureInfo.InvariantCulture), at, actor, action, subject, detail, prevHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private static LedgerEntry Map(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7));

    private void WriteHead(long seq, string hash) => DataFolder.WritePrivateFile(HeadPath, $"{seq} {hash}\n");

    private HeadState ReadHead()
    {
        string text;
        try
        {
            text = File.ReadAllText(HeadPath);
        }
        catch (FileNotFoundException)
        {
            return new HeadState.Missing();
        }

        var parts = text.Trim().Split(' ');
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            && parts[1].Length == 64 && parts[1].All(char.IsAsciiHexDigitLower)
                ? new HeadState.Valid(seq, parts[1])
                : new HeadState.Garbled();
    }

    private abstract record HeadState
    {
        public sealed record Missing : HeadState;

        public sealed record Garbled : HeadState;

        public sealed record Valid(long Seq, string Hash) : HeadState;
    }
}

public sealed record LedgerVerification(bool IsOk, long Entries, long? BadSeq, string? Problem)
{
    public static LedgerVerification Ok(long entries) => new(true, entries, null, null);

    public static LedgerVerification Broken(long goodEntries, long badSeq, string problem) => new(false, goodEntries, badSeq, problem);
}
