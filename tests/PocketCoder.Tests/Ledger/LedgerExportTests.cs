using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Auth;
using PocketCoder.Cli;
using PocketCoder.Data;
using PocketCoder.Ledger;
using PocketCoder.Projects;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Ledger;

/// <summary>
/// An export signed here verifies anywhere with the machine's key alone; one line changed, removed, moved or added, or
/// the file cut short, fails naming that line. The entries are made by the real stores (pairing, projects, rules).
/// </summary>
public sealed class LedgerExportTests : IDisposable
{
    private const string Awkward = "echo \"héllo\" <b> & 'x', \u2028 ☃ \\ done";

    private readonly string _root = TempPaths.NewDirectory("pc-export");
    private readonly string _data;
    private readonly ManualClock _clock = new();
    private readonly Database _database;
    private readonly LedgerStore _ledger;
    private readonly LedgerSigningKey _key;
    private readonly Project _web;
    private readonly Project _api;

    // Where the entries the tests look for landed (pairing also records the machine's first owner, so seqs are read, not assumed).
    // Entry seq S is on line S + 1 of an export of the whole ledger (line 1 is the header), Lines(path)[S] below.
    private readonly long _webAdded, _apiAdded, _ruleAdded, _lastBeforeLater, _webStarted, _webDecided, _apiStarted, _apiAllowed, _commandRun, _apiRemoved;

    public LedgerExportTests()
    {
        _data = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        _database = new Database(_data);
        _database.Migrate();
        _ledger = new LedgerStore(_database, _clock);
        _key = new LedgerSigningKey(_data);

        var devices = new Devices(_database, _ledger, _clock);
        var phone = devices.Redeem(devices.CreatePairingCode().Code, "phone")!.Value.Device;
        var laptop = devices.Redeem(devices.CreatePairingCode().Code, "laptop")!.Value.Device;
        var owner = new Actor(phone.Id, phone.Name);
        var projects = new ProjectStore(_database, _ledger, _clock, new ProjectHooks());
        _web = projects.Add(Directory.CreateDirectory(Path.Combine(_root, "web")).FullName, "web", owner);
        _webAdded = Head;
        _api = projects.Add(Directory.CreateDirectory(Path.Combine(_root, "api")).FullName, "api", owner);
        _apiAdded = Head;
        new PocketCoder.Approvals.Rules(_database, _ledger, _clock).Add(_web.Id, "Bash", "npm test", "allow", owner);
        _ruleAdded = _lastBeforeLater = Head;

        _clock.Advance(TimeSpan.FromDays(2));
        _webStarted = Append(owner.Name, "session.started", "s-web", new() { ["projectId"] = _web.Id, ["agent"] = "claude-code" });
        _webDecided = Append(owner.Name, "approval.decided", "a-1", new() { ["decision"] = "allow_once", ["sessionId"] = "s-web" });
        _apiStarted = Append(owner.Name, "session.started", "s-api", new() { ["projectId"] = _api.Id, ["agent"] = "codex" });
        _apiAllowed = Append("policy", "approval.auto_allowed", "s-api", new() { ["tool"] = "Read", ["mode"] = "ask" });
        devices.Revoke(laptop.Id, owner.Name);
        _commandRun = Append(owner.Name, "command.run", _web.Id, new() { ["command"] = Awkward, ["deviceId"] = phone.Id });
        projects.Remove(_api.Id, owner);
        _apiRemoved = Head;
    }

    private long Head => _ledger.Head().Seq;

    /// <summary>The signature line's number in an export of the whole ledger.</summary>
    private long SignatureLine => Head + 2;

    [Fact]
    public void Export_Untouched_VerifiesWithTheFingerprint_AllEntriesAsStored()
    {
        var path = Export();

        var result = Verify(path);

        Assert.True(result.IsOk, result.Problem);
        Assert.Equal(Head, result.Entries);
        Assert.Equal(_key.PublicKey.Fingerprint, result.Fingerprint);
        Assert.Contains($"the whole ledger (entries 1 to {Head})", result.Scope, StringComparison.Ordinal);
        // Each entry line holds what the ledger stored, the detail byte for byte (non-ASCII, quotes, <, & and all).
        var stored = _ledger.Page(0, 100);
        var exported = Lines(path)[1..^1].Select(l => LedgerExportVerifier.ReadEntry(JsonElement.Parse(l))!).ToList();
        Assert.Equal(stored, exported);
        Assert.Contains(Awkward, JsonNode.Parse(Lines(path)[(int)_commandRun])!["detail"]!["command"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Export_SignatureCoversTheBytesBeforeIt_AsAnyEcdsaToolChecksIt()
    {
        // What docs/security.md tells an auditor without PocketCoder: the signature is over every byte before the last line.
        var path = Export();
        var bytes = File.ReadAllBytes(path);
        var lastLine = Array.LastIndexOf(bytes, (byte)'\n', bytes.Length - 2) + 1;
        var signature = Convert.FromBase64String(JsonNode.Parse(bytes.AsSpan(lastLine))!["signature"]!.GetValue<string>());
        using var key = ECDsa.Create();
        key.ImportFromPem(_key.PublicKey.Pem);

        Assert.True(key.VerifyData(bytes.AsSpan(0, lastLine), signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Tampered_OneFieldChanged_FailsNamingThatLine()
    {
        var path = Export();
        Edit(path, lines => lines[(int)_webAdded] = lines[(int)_webAdded].Replace("\"actor\":\"phone\"", "\"actor\":\"mallory\"", StringComparison.Ordinal));

        AssertFails(path, _webAdded + 1, $"line {_webAdded + 1} was changed: entry {_webAdded}'s content does not match its hash");
    }

    [Fact]
    public void Tampered_ChangedWithTheEntryHashRecomputed_NamedByTheNextLinesRecord()
    {
        var path = Export();
        var line = _webDecided + 1;
        Edit(path, lines => lines[(int)_webDecided] = Forged(lines[(int)_webDecided], detail: "{\"decision\":\"deny\",\"sessionId\":\"s-web\"}"));

        AssertFails(path, line, $"line {line} was changed: line {line + 1} records a different hash");
    }

    [Fact]
    public void Tampered_ChangedWithEveryHashAfterItRecomputed_TheSignatureFails()
    {
        var path = Export();
        Edit(path, lines =>
        {
            // The forger recomputes everything after the changed entry: the ledger's chain and the export's.
            lines[(int)_webDecided] = Forged(lines[(int)_webDecided], detail: "{\"decision\":\"deny\",\"sessionId\":\"s-web\"}");
            for (var i = (int)_webDecided + 1; i < lines.Count; i++)
            {
                var line = JsonNode.Parse(lines[i])!.AsObject();
                line["prev"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(lines[i - 1])));
                if (line["type"]!.GetValue<string>() == "entry")
                {
                    line["prevHash"] = JsonNode.Parse(lines[i - 1])!["hash"]!.GetValue<string>();
                    line["hash"] = Rehash(line);
                }

                lines[i] = line.ToJsonString();
            }
        });

        AssertFails(path, SignatureLine, $"line {SignatureLine}: the signature does not verify");
    }

    [Fact]
    public void Tampered_LineRemoved_FailsNamingTheMissingLine() => AssertFails(EditedExport(lines => lines.RemoveAt(4)), 5, "line 5 was removed");

    [Fact]
    public void Tampered_TwoLinesSwapped_FailsNamingTheFirst() =>
        AssertFails(EditedExport(lines => (lines[4], lines[5]) = (lines[5], lines[4])), 5, "line 5 is out of order");

    [Fact]
    public void Tampered_SignatureLineDropped_FailsAsTruncated() =>
        AssertFails(EditedExport(lines => lines.RemoveAt(lines.Count - 1)), SignatureLine, "without its signature line");

    [Fact]
    public void Tampered_CutAfterAWholeLine_FailsNamingTheFirstMissingLine() =>
        AssertFails(EditedExport(lines => lines.RemoveRange(7, lines.Count - 7)), 8, $"header announces {Head} entries");

    [Fact]
    public void Tampered_CutInsideALine_FailsAsCutShort()
    {
        var path = Export();
        var bytes = File.ReadAllBytes(path);
        var startOfLine7 = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] == '\n').ElementAt(5) + 1;
        File.WriteAllBytes(path, bytes[..(startOfLine7 + 30)]);

        AssertFails(path, 7, "line 7 is cut short");
    }

    [Fact]
    public void Tampered_LineAddedAfterTheSignature_Fails() =>
        AssertFails(EditedExport(lines => lines.Add(lines[3])), SignatureLine + 1, "added after the signature");

    [Fact]
    public void Tampered_LineInsertedWithItsNumber_FailsAtTheLineItDisplaced() =>
        AssertFails(EditedExport(lines => lines.Insert(4, lines[4])), 6, "line 5 appears again");

    [Fact]
    public void Tampered_HeaderFilterChanged_NamesTheHeader() =>
        AssertFails(EditedExport(lines => lines[0] = lines[0].Replace("\"since\":null", "\"since\":\"2020-01-01T00:00:00.0000000Z\"", StringComparison.Ordinal)),
            1, "line 1 was changed: line 2 records");

    [Fact]
    public void Tampered_CrLfLineEndings_NamesTheFirstLine()
    {
        var path = Export();
        File.WriteAllText(path, File.ReadAllText(path).Replace("\n", "\r\n", StringComparison.Ordinal));

        AssertFails(path, 1, "line ending became \\r\\n");
    }

    [Fact]
    public void WrongKey_AnotherMachinesFingerprint_FailsAtTheHeader()
    {
        var path = Export();
        using var other = new LedgerSigningKey(Directory.CreateDirectory(Path.Combine(_root, "other")).FullName);

        var result = Verify(path, other.PublicKey.Fingerprint);

        Assert.False(result.IsOk);
        Assert.Equal(1, result.BadLine);
        Assert.Contains($"wrong key: the export is signed by {_key.PublicKey.Fingerprint}, not by the key given ({other.PublicKey.Fingerprint})", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongKey_ForgerResignsWithTheirOwnKey_FailsAtTheHeader()
    {
        // Whoever changes lines and signs again with a key of their own must also put that key in the header.
        using var forger = new LedgerSigningKey(Directory.CreateDirectory(Path.Combine(_root, "forger")).FullName);
        var path = Export(key: forger);

        AssertFails(path, 1, "wrong key");
    }

    [Fact]
    public void Project_ByName_OnlyItsEntries_ProjectItsSessionsTheirApprovalsItsRules()
    {
        var path = Export(new LedgerExportFilter(Project: "web"));

        var result = Verify(path);

        Assert.True(result.IsOk, result.Problem);
        Assert.Equal([_webAdded, _ruleAdded, _webStarted, _webDecided, _commandRun], Seqs(path));
        Assert.Contains($"only entries about project web ({_web.Id})", result.Scope, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_RemovedOne_FoundByTheNameTheLedgerRecorded()
    {
        var path = Export(new LedgerExportFilter(Project: "api"));

        Assert.True(Verify(path).IsOk);
        Assert.Equal([_apiAdded, _apiStarted, _apiAllowed, _apiRemoved], Seqs(path));
    }

    [Fact]
    public void Project_ById_SameAsByName() => Assert.Equal(Seqs(Export(new LedgerExportFilter(Project: _web.Id))), Seqs(Export(new LedgerExportFilter(Project: "web"))));

    [Fact]
    public void Project_Unknown_NothingExported()
    {
        var exception = Assert.Throws<LedgerExportException>(() => Export(new LedgerExportFilter(Project: "nope")));
        Assert.Contains("no project in the ledger has the id or name nope", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Since_OnlyLaterEntries_VerifiesDespiteTheGapBeforeThem()
    {
        var path = Export(new LedgerExportFilter(Since: _clock.GetUtcNow() - TimeSpan.FromDays(1)));

        var result = Verify(path);

        Assert.True(result.IsOk, result.Problem);
        Assert.Equal([.. Enumerable.Range((int)_lastBeforeLater + 1, (int)(Head - _lastBeforeLater)).Select(s => (long)s)], Seqs(path));
        Assert.Contains("since 2026-01-02T12:00:00.0000000Z", result.Scope, StringComparison.Ordinal);
    }

    [Fact]
    public void Since_NothingThatLate_AnEmptyExportStillSignedAndVerified()
    {
        var path = Export(new LedgerExportFilter(Since: _clock.GetUtcNow() + TimeSpan.FromDays(1)));

        var result = Verify(path);

        Assert.True(result.IsOk, result.Problem);
        Assert.Equal(0, result.Entries);
        Assert.Equal(2, Lines(path).Count);
    }

    [Fact]
    public void Csv_OneRowPerEntry_QuotedForSpreadsheets_FormulasDefused()
    {
        var devices = new Devices(_database, _ledger, _clock);
        devices.Redeem(devices.CreatePairingCode().Code, "=HYPERLINK(\"http://x\")");
        using var output = new MemoryStream();

        new LedgerExporter(_database, _ledger, _key, _clock).Write(new LedgerExportFilter(), LedgerExportFormat.Csv, output);

        var rows = Encoding.UTF8.GetString(output.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("seq,at,actor,action,subject,detail,prevHash,hash", rows[0]);
        Assert.Equal(Head + 1, rows.Length);
        var last = _ledger.Page(Head - 1, 1).Single();
        Assert.StartsWith($"{last.Seq},{last.At},\"'=HYPERLINK(\"\"http://x\"\")\",device.paired,{last.Subject},", rows[^1], StringComparison.Ordinal);
        Assert.EndsWith($",{last.PrevHash},{last.Hash}", rows[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenLedger_Refused_NothingSigned()
    {
        using (var connection = new SqliteConnection($"Data Source={_database.FilePath};Pooling=False"))
        {
            connection.Open();
            connection.Execute("UPDATE ledger SET actor = 'mallory' WHERE seq = 7");
        }

        var exception = Assert.Throws<LedgerExportException>(() => Export());
        Assert.Contains("the ledger does not verify (entry 7", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SigningKey_MadeOnce_OwnerOnly_Pkcs8_SameFingerprintWhenReadAgain()
    {
        var fingerprint = _key.PublicKey.Fingerprint;
        var file = Path.Combine(_data, LedgerSigningKey.FileName);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(file), StringComparison.Ordinal);
        using var again = new LedgerSigningKey(_data);
        Assert.Equal(fingerprint, again.PublicKey.Fingerprint);
        Assert.Matches("^SHA256:[A-Za-z0-9+/]{43}$", fingerprint);
        Assert.Equal(fingerprint, "SHA256:" + Convert.ToBase64String(SHA256.HashData(_key.PublicKey.SubjectPublicKeyInfo)).TrimEnd('='));
    }

    [Fact]
    public void SigningKey_Garbled_RefusedNeverReplaced()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "garbled")).FullName;
        var file = Path.Combine(folder, LedgerSigningKey.FileName);
        File.WriteAllText(file, "not a key");
        using var key = new LedgerSigningKey(folder);

        Assert.Throws<IOException>(() => key.PublicKey);
        Assert.Equal("not a key", File.ReadAllText(file));
    }

    [Fact]
    public async Task Cli_ExportThenVerifyWithThePemFile_AndWithTheFingerprint()
    {
        var export = Path.Combine(_root, "ledger.jsonl");
        var pem = Path.Combine(_root, "machine.pem");

        var (exported, _, said) = await RunAsync("ledger", "export", "--data", _data, "--out", export);
        var (keyed, keyOutput, _) = await RunAsync("ledger", "key", "--data", _data);
        var (_, keyJson, _) = await RunAsync("ledger", "key", "--data", _data, "--json");
        await File.WriteAllTextAsync(pem, keyOutput);
        var (byPem, byPemOutput, _) = await RunAsync("ledger", "verify", "--export", export, "--key", pem);
        var (byFingerprint, byFingerprintOutput, _) = await RunAsync("ledger", "verify", "--export", export, "--key", _key.PublicKey.Fingerprint);

        Assert.Equal((0, 0, 0, 0), (exported, keyed, byPem, byFingerprint));
        Assert.Contains($"{Head} of {Head} entries written to {export}, signed by {_key.PublicKey.Fingerprint}", said, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(export));
        Assert.StartsWith($"ok: {Head} entries, signed by {_key.PublicKey.Fingerprint}\n", byPemOutput, StringComparison.Ordinal);
        Assert.Equal(byPemOutput, byFingerprintOutput);
        Assert.Equal(_key.PublicKey.Fingerprint, JsonNode.Parse(keyJson)!["fingerprint"]!.GetValue<string>());
        Assert.Equal(_key.PublicKey.Pem, JsonNode.Parse(keyJson)!["publicKeyPem"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cli_BrokenLedger_ExitOne_NoFileLeft()
    {
        using (var connection = new SqliteConnection($"Data Source={_database.FilePath};Pooling=False"))
        {
            connection.Open();
            connection.Execute("DELETE FROM ledger WHERE seq = 3");
        }

        var export = Path.Combine(_root, "ledger.jsonl");
        var (code, _, said) = await RunAsync("ledger", "export", "--data", _data, "--out", export);

        Assert.Equal(1, code);
        Assert.Contains("nothing exported: the ledger does not verify (entry 3", said, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_root));
    }

    [Fact]
    public async Task Cli_VerifyExport_WithoutKey_UsageError()
    {
        var (code, _, said) = await RunAsync("ledger", "verify", "--export", Export());

        Assert.Equal(2, code);
        Assert.Contains("--export needs --key", said, StringComparison.Ordinal);
    }

    /// <summary>The auditor's machine: the built executable, an empty HOME, no data folder anywhere, the file and the fingerprint.</summary>
    [Fact]
    public async Task CleanMachine_VerifyRunsWithNoDataFolder_OkThenOneLineNamingTheTamperedLine()
    {
        var path = Export();
        var home = Directory.CreateDirectory(Path.Combine(_root, "auditor-home")).FullName;

        var ok = await RunExecutableAsync(home, "ledger", "verify", "--export", path, "--key", _key.PublicKey.Fingerprint);
        Edit(path, lines => lines[(int)_webStarted] = lines[(int)_webStarted].Replace("\"s-web\"", "\"s-evil\"", StringComparison.Ordinal));
        var tampered = await RunExecutableAsync(home, "ledger", "verify", "--export", path, "--key", _key.PublicKey.Fingerprint);

        Assert.True(ok.Code == 0, ok.Error);
        Assert.StartsWith($"ok: {Head} entries, signed by {_key.PublicKey.Fingerprint}", ok.Output, StringComparison.Ordinal);
        Assert.Equal(1, tampered.Code);
        Assert.Equal($"export not verified: line {_webStarted + 1} was changed: entry {_webStarted}'s content does not match its hash\n", tampered.Error);
        Assert.DoesNotContain(Directory.GetFileSystemEntries(home, "*", SearchOption.AllDirectories), e => e.Contains("pocketcoder", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>What the phone shows is the key the CLI signs with, and an export made while the server runs verifies against it.</summary>
    [Fact]
    public async Task Server_KeyEndpointsFingerprint_VerifiesAnExportMadeWhileItRuns()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");
        var shown = await phone.Http.GetOkAsync("/api/ledger/key");
        var head = (await phone.Http.GetOkAsync("/api/ledger/head")).GetProperty("seq").GetInt64();
        var export = Path.Combine(_root, "live.jsonl");

        var (exported, _, said) = await RunAsync("ledger", "export", "--data", server.DataDirectory, "--out", export);
        var (verified, output, _) = await RunAsync("ledger", "verify", "--export", export, "--key", shown.GetProperty("fingerprint").GetString()!);

        Assert.True(exported == 0, said);
        Assert.Equal(0, verified);
        Assert.StartsWith($"ok: {head} {(head == 1 ? "entry" : "entries")}, signed by {shown.GetProperty("fingerprint").GetString()}", output, StringComparison.Ordinal);
        Assert.Equal(LedgerPublicKey.Algorithm, shown.GetProperty("algorithm").GetString());
        Assert.Equal(shown.GetProperty("fingerprint").GetString(), LedgerPublicKey.FromPem(shown.GetProperty("publicKeyPem").GetString()!).Fingerprint);
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("7d", "2026-01-01T12:00:00Z")]
    [InlineData("12h", "2026-01-08T00:00:00Z")]
    [InlineData("30m", "2026-01-08T11:30:00Z")]
    [InlineData("2w", "2025-12-25T12:00:00Z")]
    [InlineData("2026-01-05", "2026-01-05T00:00:00Z")]
    [InlineData("2026-01-05T09:30:00+02:00", "2026-01-05T07:30:00Z")]
    [InlineData("2026-01-05T09:30:00", "2026-01-05T09:30:00Z")]
    public void ParseSince_DurationsBackFromNowAndIsoTimes(string given, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture),
            LedgerCommand.ParseSince(given, new DateTimeOffset(2026, 1, 8, 12, 0, 0, TimeSpan.Zero)));

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("yesterday")]
    [InlineData("7y")]
    [InlineData("1/2/2026")]
    public void ParseSince_Neither_UsageError(string given) =>
        Assert.Throws<CliException>(() => LedgerCommand.ParseSince(given, DateTimeOffset.UnixEpoch));

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")]
    [InlineData(" 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= ", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")]
    [InlineData("SHA256:47DEQpj8HBSa", null)]
    [InlineData("machine.pem", null)]
    public void Fingerprint_AsPastedOrTyped_NormalizedOrRefused(string given, string? expected) =>
        Assert.Equal(expected, LedgerPublicKey.NormalizeFingerprint(given));

    private long Append(string actor, string action, string subject, JsonObject detail) => _database.Write(write => _ledger.Append(write, actor, action, subject, detail)).Seq;

    private string Export(LedgerExportFilter? filter = null, LedgerSigningKey? key = null)
    {
        var path = Path.Combine(_root, $"export-{Guid.NewGuid():N}.jsonl");
        using var file = File.Create(path);
        new LedgerExporter(_database, _ledger, key ?? _key, _clock).Write(filter ?? new LedgerExportFilter(), LedgerExportFormat.Jsonl, file);
        return path;
    }

    private string EditedExport(Action<List<string>> edit)
    {
        var path = Export();
        Edit(path, edit);
        return path;
    }

    private LedgerExportVerification Verify(string path, string? fingerprint = null)
    {
        using var file = File.OpenRead(path);
        return LedgerExportVerifier.Verify(file, fingerprint ?? _key.PublicKey.Fingerprint);
    }

    private void AssertFails(string path, long line, string problem)
    {
        var result = Verify(path);
        Assert.False(result.IsOk);
        Assert.Equal(line, result.BadLine);
        Assert.Contains(problem, result.Problem, StringComparison.Ordinal);
    }

    private static List<string> Lines(string path) => [.. File.ReadAllText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    private static void Edit(string path, Action<List<string>> edit)
    {
        var lines = Lines(path);
        edit(lines);
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));
    }

    private static List<long> Seqs(string path) =>
        [.. Lines(path).Select(l => JsonNode.Parse(l)!.AsObject()).Where(l => l["type"]!.GetValue<string>() == "entry").Select(l => l["seq"]!.GetValue<long>())];

    /// <summary>The line with another detail and the entry's own hash recomputed over it, as a careful forger would.</summary>
    private static string Forged(string line, string detail)
    {
        var node = JsonNode.Parse(line)!.AsObject();
        node["detail"] = JsonNode.Parse(detail);
        node["hash"] = Rehash(node, detail);
        return node.ToJsonString();
    }

    private static string Rehash(JsonObject entry, string? detail = null) => LedgerStore.ComputeHash(entry["seq"]!.GetValue<long>(), entry["at"]!.GetValue<string>(),
        entry["actor"]!.GetValue<string>(), entry["action"]!.GetValue<string>(), entry["subject"]!.GetValue<string>(),
        detail ?? entry["detail"]!.ToJsonString(), entry["prevHash"]!.GetValue<string>());

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static async Task<(int Code, string Output, string Error)> RunExecutableAsync(string home, params string[] args)
    {
        var info = Infrastructure.PocketCoderCommand.Info(args);

        info.Environment["HOME"] = home;
        info.Environment.Remove("XDG_DATA_HOME");
        info.Environment.Remove("POCKETCODER_DATA");
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    public void Dispose()
    {
        _key.Dispose();
        _database.Dispose();
        SqliteConnection.ClearAllPools();
        TempPaths.Delete(_root);
    }
}
