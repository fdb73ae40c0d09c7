using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PocketCoder.Data;

namespace PocketCoder.Ledger;

public enum LedgerExportFormat
{
    /// <summary>JSON lines with the export chain and the signature: the file that verifies.</summary>
    Jsonl,

    /// <summary>One row per entry for a spreadsheet: the same columns, hashes included, unsigned.</summary>
    Csv,
}

/// <summary>What to export: the whole ledger, or the entries about one project (its id or name), from a time on.</summary>
public sealed record LedgerExportFilter(string? Project = null, DateTimeOffset? Since = null);

public sealed record LedgerExportSummary(long Entries, long LedgerEntries, string Fingerprint);

/// <summary>Why nothing was exported (the ledger does not verify, no such project), said to the owner as it is.</summary>
public sealed class LedgerExportException(string message) : Exception(message);

/// <summary>
/// Writes the ledger for someone who has neither the database nor this machine: every entry with every stored field
/// (so each hash can be recomputed as <see cref="LedgerStore.ComputeHash"/> does), each line carrying the SHA-256 of the
/// line before it, and a last line signed by <see cref="LedgerSigningKey"/>. docs/security.md, "The audit export", has
/// the format; <see cref="LedgerExportVerifier"/> reads it.
/// </summary>
public sealed class LedgerExporter(Database database, LedgerStore ledger, LedgerSigningKey key, TimeProvider clock)
{
    public const string Format = "pocketcoder-ledger-export/1";

    /// <exception cref="LedgerExportException">The ledger does not verify, or no project is called that.</exception>
    public LedgerExportSummary Write(LedgerExportFilter filter, LedgerExportFormat format, Stream output)
    {
        (string Id, string Name)? project = filter.Project is { } wanted ? FindProject(wanted) : null;

        // Signing a chain that is already broken would lend it the machine's word: the owner looks first.
        var verified = ledger.Verify();
        if (!verified.IsOk)
        {
            throw new LedgerExportException($"the ledger does not verify (entry {verified.BadSeq}: {verified.Problem}), " +
                "so it is not signed for export. `pocketcoder ledger verify` says the same; an auditor can still read the database.");
        }

        // Entries appended from here on are simply not in this export: the ledger only grows.
        var through = verified.Entries;
        var since = filter.Since?.ToDb();
        var scope = project is null ? null : new ProjectScope(project.Value.Id, SessionsInDatabase(project.Value.Id));
        if (scope is not null)
        {
            foreach (var entry in ledger.Entries(through))
            {
                scope.Learn(entry);
            }
        }

        bool Selected(LedgerEntry entry) =>
            (since is null || string.CompareOrdinal(entry.At, since) >= 0) && (scope is null || scope.Contains(entry));

        var count = ledger.Entries(through).LongCount(Selected);
        var head = through == 0 ? LedgerStore.Genesis : ledger.Page(through - 1, 1).Single().Hash;
        var lines = format == LedgerExportFormat.Csv
            ? (ILines)new CsvLines(output)
            : new JsonLines(output, key);
        lines.Header(new ExportHeader(clock.GetUtcNow().ToDb(), key.PublicKey, project, since, count, through, head));

        // Rows read again here are checked again: an edit between the verification and this read must not get signed.
        var expectedPrev = LedgerStore.Genesis;
        foreach (var entry in ledger.Entries(through))
        {
            if (entry.PrevHash != expectedPrev
                || LedgerStore.ComputeHash(entry.Seq, entry.At, entry.Actor, entry.Action, entry.Subject, entry.Detail, entry.PrevHash) != entry.Hash)
            {
                throw new LedgerExportException($"entry {entry.Seq} changed while it was being exported: see `pocketcoder ledger verify`.");
            }

            expectedPrev = entry.Hash;
            if (Selected(entry))
            {
                lines.Entry(entry);
            }
        }

        lines.End();
        return new LedgerExportSummary(count, through, key.PublicKey.Fingerprint);
    }

    /// <summary>A project by its id or name; a removed one too, by what the ledger recorded of it.</summary>
    private (string Id, string Name) FindProject(string wanted)
    {
        var rows = database.Read(connection => connection.Query(
            "SELECT id, name FROM projects WHERE id = $wanted OR name = $wanted ORDER BY id",
            r => (Id: r.GetString(0), Name: r.GetString(1)), ("$wanted", wanted)));
        if (rows.FindIndex(r => r.Id == wanted) is >= 0 and var byId)
        {
            return rows[byId];
        }

        if (rows.Count > 1)
        {
            throw new LedgerExportException($"{rows.Count} projects are called {wanted}: name one by its id ({string.Join(", ", rows.Select(r => r.Id))}).");
        }

        if (rows.Count == 1)
        {
            return rows[0];
        }

        // A removed project is gone from the database, its history is not: the ledger has its id and every name it had.
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in ledger.Entries(ledger.Head().Seq))
        {
            if (entry.Action is "project.added" or "project.updated" && ProjectScope.DetailString(entry.Detail, "name") is { } name)
            {
                names[entry.Subject] = name;
            }
        }

        if (names.TryGetValue(wanted, out var itsName))
        {
            return (wanted, itsName);
        }

        var named = names.Where(n => n.Value == wanted).Select(n => n.Key).ToList();
        return named.Count switch
        {
            1 => (named[0], wanted),
            0 => throw new LedgerExportException($"no project in the ledger has the id or name {wanted}."),
            _ => throw new LedgerExportException($"{named.Count} projects were called {wanted}: name one by its id ({string.Join(", ", named)})."),
        };
    }

    private List<string> SessionsInDatabase(string projectId) => database.Read(connection => connection.Query(
        "SELECT id FROM sessions WHERE project_id = $project", r => r.GetString(0), ("$project", projectId)));

    private sealed record ExportHeader(string CreatedAt, LedgerPublicKey Key, (string Id, string Name)? Project, string? Since,
        long Entries, long LedgerEntries, string LedgerHead);

    private interface ILines
    {
        void Header(ExportHeader header);

        void Entry(LedgerEntry entry);

        void End();
    }

    /// <summary>
    /// One JSON object a line, UTF-8, <c>\n</c>. Every line names its place (<c>line</c>) and, from the second on, the
    /// SHA-256 of the previous line's exact bytes (<c>prev</c>); the last line signs the SHA-256 of every byte before it.
    /// </summary>
    private sealed class JsonLines(Stream output, LedgerSigningKey key) : ILines
    {
        private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        private readonly IncrementalHash _signed = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly ArrayBufferWriter<byte> _buffer = new();
        private long _lines;
        private string? _previous;

        public void Header(ExportHeader header) => Line("header", json =>
        {
            json.WriteString("format", Format);
            json.WriteString("createdAt", header.CreatedAt);
            json.WriteStartObject("machine");
            json.WriteString("fingerprint", header.Key.Fingerprint);
            json.WriteString("publicKey", Convert.ToBase64String(header.Key.SubjectPublicKeyInfo));
            json.WriteString("algorithm", LedgerPublicKey.Algorithm);
            json.WriteEndObject();
            json.WriteStartObject("filter");
            if (header.Project is { } project)
            {
                json.WriteStartObject("project");
                json.WriteString("id", project.Id);
                json.WriteString("name", project.Name);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("project");
            }

            json.WriteString("since", header.Since);
            json.WriteEndObject();
            json.WriteNumber("entries", header.Entries);
            json.WriteStartObject("ledger");
            json.WriteNumber("entries", header.LedgerEntries);
            json.WriteString("head", header.LedgerHead);
            json.WriteEndObject();
        });

        public void Entry(LedgerEntry entry)
        {
            var bytes = Line("entry", json =>
            {
                json.WriteNumber("seq", entry.Seq);
                json.WriteString("at", entry.At);
                json.WriteString("actor", entry.Actor);
                json.WriteString("action", entry.Action);
                json.WriteString("subject", entry.Subject);
                // The stored text itself, byte for byte (a reader's GetRawText gives it back), so the hash recomputes.
                json.WritePropertyName("detail");
                json.WriteRawValue(entry.Detail);
                json.WriteString("prevHash", entry.PrevHash);
                json.WriteString("hash", entry.Hash);
            });

            // Read back the way the verifier reads it: a line that would not verify is never written out as if it did.
            if (LedgerExportVerifier.ReadEntry(JsonElement.Parse(bytes)) != entry)
            {
                throw new LedgerExportException($"entry {entry.Seq} does not read back from JSON exactly as stored: not exported.");
            }
        }

        public void End()
        {
            var signature = key.SignHash(_signed.GetHashAndReset());
            var signedLines = _lines;
            Line("signature", json =>
            {
                json.WriteNumber("lines", signedLines);
                json.WriteString("algorithm", LedgerPublicKey.Algorithm);
                json.WriteString("signature", Convert.ToBase64String(signature));
            });
            output.Flush();
            _signed.Dispose();
        }

        private byte[] Line(string type, Action<Utf8JsonWriter> fields)
        {
            _buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(_buffer, Options))
            {
                json.WriteStartObject();
                json.WriteNumber("line", ++_lines);
                json.WriteString("type", type);
                if (_previous is not null)
                {
                    json.WriteString("prev", _previous);
                }

                fields(json);
                json.WriteEndObject();
            }

            var bytes = _buffer.WrittenSpan.ToArray();
            _previous = Convert.ToHexStringLower(SHA256.HashData(bytes));
            _signed.AppendData(bytes);
            _signed.AppendData("\n"u8);
            output.Write(bytes);
            output.WriteByte((byte)'\n');
            return bytes;
        }
    }

    /// <summary>RFC 4180, for a spreadsheet. Nothing in it is signed: the JSON lines file is the one that verifies.</summary>
    private sealed class CsvLines(Stream output) : ILines
    {
        private readonly StreamWriter _writer = new(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true) { NewLine = "\r\n" };

        public void Header(ExportHeader header) => _writer.WriteLine("seq,at,actor,action,subject,detail,prevHash,hash");

        public void Entry(LedgerEntry entry) => _writer.WriteLine(string.Join(',',
            entry.Seq.ToString(CultureInfo.InvariantCulture), Cell(entry.At), Cell(entry.Actor), Cell(entry.Action), Cell(entry.Subject),
            Cell(entry.Detail), Cell(entry.PrevHash), Cell(entry.Hash)));

        public void End()
        {
            _writer.Flush();
            _writer.Dispose();
        }

        private static string Cell(string value)
        {
            // A device's name is whoever paired it's to choose: a spreadsheet would run "=HYPERLINK(…)" as a formula.
            if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
            {
                value = "'" + value;
            }

            return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
        }
    }
}

/// <summary>
/// Which ledger entries are about one project. An entry names its project directly (the subject of project.*, file.*,
/// terminal.*, command.*, git.*, bridge.*, profile.*, mcp.*, policy.changed, member.*, budget.* and
/// worktree.orphans_cleaned; <c>detail.projectId</c> of rule.*, schedule.*, task.*, worktree.* and session.started), or
/// one of its sessions (the subject of session.*, approval.auto_*, turn.reviewed and worktree.*; <c>detail.sessionId</c>
/// of approval.decided, approval.allowed_by_one, approval.escalated, approval.withdrawn, approval.interrupted and
/// queue.*). People, devices and pairing belong to no project.
/// </summary>
internal sealed class ProjectScope(string projectId, IEnumerable<string> sessions)
{
    private readonly HashSet<string> _sessions = new(sessions, StringComparer.Ordinal);

    /// <summary>
    /// Takes note of the project's sessions as the ledger started them: a removed project's sessions are gone from the
    /// database, and session.start_failed leaves no row either.
    /// </summary>
    public void Learn(LedgerEntry entry)
    {
        if (entry.Action is "session.started" or "session.continued" && DetailString(entry.Detail, "projectId") == projectId)
        {
            _sessions.Add(entry.Subject);
        }
    }

    public bool Contains(LedgerEntry entry) =>
        entry.Subject == projectId
        || _sessions.Contains(entry.Subject)
        || DetailString(entry.Detail, "projectId") == projectId
        || (DetailString(entry.Detail, "sessionId") is { } session && _sessions.Contains(session));

    /// <summary>A string property at the top of an entry's detail; null when absent, not a string, or the detail is not an object.</summary>
    internal static string? DetailString(string detail, string name)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(detail));
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var found = reader.ValueTextEquals(name);
                reader.Read();
                if (found)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }
}
