using System.Security.Cryptography;
using System.Text.Json;

namespace PocketCoder.Ledger;

/// <param name="Scope">What the export holds, in words: the whole ledger, or which project and from when.</param>
/// <param name="BadLine">The first line that is not what was signed (changed, out of place, missing, added).</param>
public sealed record LedgerExportVerification(bool IsOk, long Entries, string? Fingerprint, string? Scope, long? BadLine, string? Problem)
{
    public static LedgerExportVerification Broken(long line, string problem) => new(false, 0, null, null, line, problem);
}

/// <summary>
/// Checks a ledger export with nothing but the file and the machine's public key (or its fingerprint): no database, no
/// data folder. Walks the lines in order and stops at the first that is not what was signed, naming it:
/// its place (<c>line</c>) says a line was removed, moved or added; the next line's <c>prev</c> says it was changed;
/// an entry's own hash, recomputed, says its content was changed; consecutive entries must link by <c>prevHash</c>;
/// and the last line's signature covers every byte before it.
/// </summary>
public static class LedgerExportVerifier
{
    /// <summary>A longer line is no export's (an entry's detail holds at most a tool call's input).</summary>
    public const int MaxLineBytes = 64 * 1024 * 1024;

    /// <param name="trustedFingerprint">The machine's key, as its fingerprint (<see cref="LedgerPublicKey.Fingerprint"/>).</param>
    public static LedgerExportVerification Verify(Stream export, string trustedFingerprint)
    {
        using var signed = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var lines = ReadLines(export).GetEnumerator();
        long position = 0;
        byte[]? previous = null;
        Header? header = null;
        LedgerEntry? last = null;
        long entries = 0;
        while (lines.MoveNext())
        {
            var (bytes, ended) = lines.Current;
            position++;
            var (line, broken) = ReadChained(bytes, ended, position, previous, lines);
            if (broken is not null)
            {
                return broken;
            }

            var type = Text(line, "type");
            if (position == 1)
            {
                if (type != "header")
                {
                    return LedgerExportVerification.Broken(1, "line 1 is not an export's header: it was changed");
                }

                (header, var problem) = ReadHeader(line, trustedFingerprint);
                if (problem is not null)
                {
                    return LedgerExportVerification.Broken(1, problem);
                }
            }
            else if (type == "entry")
            {
                (last, var problem) = ChainedEntry(position, line, last, header!.Whole);
                if (problem is not null)
                {
                    return LedgerExportVerification.Broken(position, problem);
                }

                entries++;
            }
            else if (type == "signature")
            {
                if (CheckSignature(position, line, header!, signed.GetHashAndReset(), entries, last) is { } problem)
                {
                    return LedgerExportVerification.Broken(position, problem);
                }

                if (lines.MoveNext())
                {
                    return LedgerExportVerification.Broken(position + 1, $"line {position + 1} was added after the signature line");
                }

                return new LedgerExportVerification(true, entries, header!.Key.Fingerprint, header.Scope, null, null);
            }
            else
            {
                return LedgerExportVerification.Broken(position, $"line {position} was changed: it is neither an entry nor the signature");
            }

            signed.AppendData(bytes!);
            signed.AppendData("\n"u8);
            previous = bytes;
        }

        if (header is null)
        {
            return LedgerExportVerification.Broken(1, "line 1 is missing: the file is empty");
        }

        return LedgerExportVerification.Broken(position + 1, entries < header.Entries
            ? $"line {position + 1} is missing: the file ends after line {position}, but its header announces {header.Entries} entries " +
                $"(lines 2 to {header.Entries + 1}) and a signature line: it was truncated"
            : $"line {position + 1} is missing: the file ends after line {position} without its signature line: it was truncated");
    }

    /// <summary>An entry line's ledger entry, exactly as the ledger stored it (the detail as its raw text); null when a field is missing.</summary>
    internal static LedgerEntry? ReadEntry(JsonElement line) =>
        Number(line, "seq") is { } seq && Text(line, "at") is { } at && Text(line, "actor") is { } actor && Text(line, "action") is { } action
        && Text(line, "subject") is { } subject && line.TryGetProperty("detail", out var detail) && Text(line, "prevHash") is { } prevHash
        && Text(line, "hash") is { } hash
            ? new LedgerEntry(seq, at, actor, action, subject, detail.GetRawText(), prevHash, hash)
            : null;

    private static string? EntryOutOfChain(long position, LedgerEntry entry, LedgerEntry? last, bool whole)
    {
        var lastSeq = last?.Seq ?? 0;
        if (entry.Seq <= lastSeq)
        {
            return $"line {position} is out of order: entry {entry.Seq} comes after entry {lastSeq}";
        }

        if (whole && entry.Seq != lastSeq + 1)
        {
            return $"line {position}: entry {lastSeq + 1} is missing from this export of the whole ledger (entry {entry.Seq} follows entry {lastSeq})";
        }

        // Where the export has both neighbours, the ledger's own chain is checked too (a filtered export has gaps).
        var expectedPrev = entry.Seq == 1 ? LedgerStore.Genesis : entry.Seq == lastSeq + 1 ? last!.Hash : null;
        return expectedPrev is not null && entry.PrevHash != expectedPrev
            ? $"line {position} was changed: entry {entry.Seq} does not follow entry {entry.Seq - 1} (its prevHash is not that entry's hash)"
            : null;
    }

    private static string? CheckSignature(long position, JsonElement line, Header header, byte[] digest, long entries, LedgerEntry? last)
    {
        if (Number(line, "lines") != position - 1)
        {
            return $"line {position} was changed: the signature line counts {Number(line, "lines")} lines before it, not {position - 1}";
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(Text(line, "signature") ?? "");
        }
        catch (FormatException)
        {
            return $"line {position} was changed: its signature is not base64";
        }

        if (!header.Key.VerifyHash(digest, signature))
        {
            return $"line {position}: the signature does not verify: lines 1 to {position - 1} are not what {header.Key.Fingerprint} signed " +
                "(changed with every hash after them recomputed), or the signature was changed";
        }

        // Signed as it is, so what follows would be the exporting machine contradicting itself.
        if (entries != header.Entries)
        {
            return $"line {position}: the header announces {header.Entries} entries but the file holds {entries}";
        }

        var (lastSeq, lastHash) = (last?.Seq ?? 0, last?.Hash ?? LedgerStore.Genesis);
        return header.Whole && (lastSeq != header.LedgerEntries || lastHash != header.LedgerHead)
            ? $"line {position}: this export of the whole ledger ends at entry {lastSeq} ({lastHash}), but its header says the ledger ended at " +
                $"entry {header.LedgerEntries} ({header.LedgerHead})"
            : null;
    }

    /// <summary>An entry line read whole, its hash its content's, next in the chain after <paramref name="last"/>; or what is wrong with it.</summary>
    private static (LedgerEntry? Entry, string? Problem) ChainedEntry(long position, JsonElement line, LedgerEntry? last, bool whole)
    {
        if (ReadEntry(line) is not { } entry)
        {
            return (null, $"line {position} was changed: it is not a whole ledger entry");
        }

        if (LedgerStore.ComputeHash(entry.Seq, entry.At, entry.Actor, entry.Action, entry.Subject, entry.Detail, entry.PrevHash) != entry.Hash)
        {
            return (null, $"line {position} was changed: entry {entry.Seq}'s content does not match its hash");
        }

        return EntryOutOfChain(position, entry, last, whole) is { } problem ? (null, problem) : (entry, null);
    }

    /// <summary>
    /// A line read as a JSON object that stands in its place and records the hash of the line before it; or why it is not one
    /// (the verdict, naming the line the problem lies in).
    /// </summary>
    private static (JsonElement Line, LedgerExportVerification? Broken) ReadChained(byte[]? bytes, bool ended, long position, byte[]? previous,
        IEnumerator<(byte[]? Bytes, bool Ended)> rest)
    {
        if (bytes is null)
        {
            return (default, LedgerExportVerification.Broken(position, $"line {position} is longer than {MaxLineBytes / 1024 / 1024} MiB: this is not a ledger export"));
        }

        JsonElement line;
        try
        {
            line = JsonElement.Parse(bytes);
        }
        catch (JsonException)
        {
            return (default, LedgerExportVerification.Broken(position, ended
                ? $"line {position} was changed: it is not a JSON line of a ledger export"
                : $"line {position} is cut short: the file was truncated"));
        }

        if (line.ValueKind != JsonValueKind.Object || Number(line, "line") is not { } number)
        {
            return (default, LedgerExportVerification.Broken(position, $"line {position} has no line number: it was added, or changed"));
        }

        if (number != position)
        {
            return (default, LedgerExportVerification.Broken(position, Misplaced(position, number, rest)));
        }

        if (previous is not null && Text(line, "prev") != Convert.ToHexStringLower(SHA256.HashData(previous)))
        {
            var crlf = previous is [.., (byte)'\r'] ? " (its line ending became \\r\\n)" : "";
            return (default, LedgerExportVerification.Broken(position - 1,
                $"line {position - 1} was changed{crlf}: line {position} records a different hash for it"));
        }

        return (line, null);
    }

    /// <summary>Line <paramref name="found"/> stands at <paramref name="position"/>: whether the line that belongs there comes later or not at all.</summary>
    private static string Misplaced(long position, long found, IEnumerator<(byte[]? Bytes, bool Ended)> rest)
    {
        if (found < position)
        {
            return $"line {position} is out of order: line {found} appears again here (lines were duplicated or moved)";
        }

        while (rest.MoveNext())
        {
            if (rest.Current.Bytes is { } bytes && PlaceOf(bytes) == position)
            {
                return $"line {position} is out of order: line {found} stands in its place (lines were moved)";
            }
        }

        return $"line {position} was removed: line {found} follows line {position - 1}";
    }

    private static long? PlaceOf(byte[] bytes)
    {
        try
        {
            return JsonElement.Parse(bytes) is { ValueKind: JsonValueKind.Object } line ? Number(line, "line") : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Header(LedgerPublicKey Key, long Entries, long LedgerEntries, string LedgerHead, bool Whole, string Scope);

    private static (Header? Header, string? Problem) ReadHeader(JsonElement line, string trustedFingerprint)
    {
        if (Text(line, "format") is var format && format != LedgerExporter.Format)
        {
            return (null, $"line 1 is a header of format {format ?? "(none)"}; this verifier reads {LedgerExporter.Format}");
        }

        LedgerPublicKey key;
        try
        {
            key = line.TryGetProperty("machine", out var machine) && machine.ValueKind == JsonValueKind.Object && Text(machine, "publicKey") is { } publicKey
                ? LedgerPublicKey.FromSubjectPublicKeyInfo(Convert.FromBase64String(publicKey))
                : throw new FormatException();
            if (Text(machine, "fingerprint") != key.Fingerprint)
            {
                throw new FormatException();
            }
        }
        catch (Exception exception) when (exception is FormatException or CryptographicException)
        {
            return (null, "line 1 was changed: its public key is not a P-256 key with that fingerprint");
        }

        if (key.Fingerprint != trustedFingerprint)
        {
            return (null, $"line 1: wrong key: the export is signed by {key.Fingerprint}, not by the key given ({trustedFingerprint})");
        }

        if (Number(line, "entries") is not { } entries || !line.TryGetProperty("ledger", out var ledger) || ledger.ValueKind != JsonValueKind.Object
            || Number(ledger, "entries") is not { } ledgerEntries || Text(ledger, "head") is not { } head
            || !line.TryGetProperty("filter", out var filter) || filter.ValueKind != JsonValueKind.Object)
        {
            return (null, "line 1 was changed: it is not a whole export header");
        }

        var project = filter.TryGetProperty("project", out var p) && p.ValueKind == JsonValueKind.Object ? $"{Text(p, "name")} ({Text(p, "id")})" : null;
        var since = Text(filter, "since");
        var created = Text(line, "createdAt");
        var scope = project is null && since is null
            ? $"the whole ledger (entries 1 to {ledgerEntries}), exported {created}"
            : $"only entries{(project is null ? "" : $" about project {project}")}{(since is null ? "" : $" since {since}")}, of a ledger of {ledgerEntries} " +
                $"entries exported {created}: the entries left out leave gaps in seq";
        return (new Header(key, entries, ledgerEntries, head, project is null && since is null, scope), null);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    /// <summary>The file's lines as exact bytes (no <c>\n</c>), with whether a <c>\n</c> ended each; null bytes for a line past the limit.</summary>
    private static IEnumerable<(byte[]? Bytes, bool Ended)> ReadLines(Stream stream)
    {
        var buffer = new byte[64 * 1024];
        using var line = new MemoryStream();
        var tooLong = false;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            while (start < read)
            {
                var end = Array.IndexOf(buffer, (byte)'\n', start, read - start);
                var length = (end < 0 ? read : end) - start;
                if (!tooLong && line.Length + length <= MaxLineBytes)
                {
                    line.Write(buffer, start, length);
                }
                else
                {
                    tooLong = true;
                }

                if (end < 0)
                {
                    break;
                }

                yield return (tooLong ? null : line.ToArray(), true);
                line.SetLength(0);
                tooLong = false;
                start = end + 1;
            }
        }

        if (line.Length > 0 || tooLong)
        {
            yield return (tooLong ? null : line.ToArray(), false);
        }
    }
}
