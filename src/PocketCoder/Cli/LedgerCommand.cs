using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PocketCoder.Data;
using PocketCoder.Ledger;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder ledger verify</c> (the database's chain, or an export with <c>--export</c>), <c>ledger export</c> and
/// <c>ledger key</c>. docs/security.md, "The audit export", says what an export proves.
/// </summary>
internal sealed class LedgerCommand() : VerbGroup("ledger", "The decision ledger.", new Verify(), new Export(), new Key())
{
    /// <summary>
    /// An ISO-8601 date or time (UTC unless it says otherwise), or a duration back from <paramref name="now"/>:
    /// <c>30m</c>, <c>12h</c>, <c>7d</c>, <c>2w</c>.
    /// </summary>
    internal static DateTimeOffset ParseSince(string text, DateTimeOffset now)
    {
        var value = text.Trim();
        if (value.Length > 1 && long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count <= 100_000 && value[^1] switch
            {
                's' => TimeSpan.FromSeconds(count),
                'm' => TimeSpan.FromMinutes(count),
                'h' => TimeSpan.FromHours(count),
                'd' => TimeSpan.FromDays(count),
                'w' => TimeSpan.FromDays(7 * count),
                _ => (TimeSpan?)null,
            } is { } back)
        {
            return now - back;
        }

        return value.Length >= 10 && char.IsAsciiDigit(value[0])
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
                ? at
                : throw new CliException($"--since {text} is neither a time (2026-05-01, 2026-05-01T09:00:00Z) nor a duration back from now (30m, 12h, 7d, 2w).");
    }

    private static bool HasData(string directory) => File.Exists(Path.Combine(directory, Database.FileName));

    private sealed class Verify : Verb
    {
        private readonly Option<string> _export = Named("--export", "FILE",
            "Check an export file instead of this machine's ledger: needs no database or data folder, only --key.");

        private readonly Option<string> _key = Named("--key", "KEY",
            "With --export: the machine's public key, a PEM file (`pocketcoder ledger key` there) or its fingerprint (SHA256:…, shown on the phone under Devices).");

        public Verify() : base("verify", "Check the ledger's hash chain: exit 0 with `ok N entries`, or 1 naming the first bad entry. With --export, check an export file.") =>
            Declare(_export, _key);

        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            if (parsed.GetValue(_export) is { } export)
            {
                return await VerifyExportAsync(export, parsed.GetValue(_key)
                    ?? throw new CliException("--export needs --key: the machine's public key file or its fingerprint."), output, error);
            }

            if (parsed.GetValue(_key) is not null)
            {
                throw new CliException("--key goes with --export FILE.");
            }

            var directory = DataDirectory(parsed);
            if (!HasData(directory))
            {
                await error.WriteLineAsync($"pocketcoder: no PocketCoder data in {directory}");
                return 1;
            }

            using var database = new Database(directory);
            var result = new LedgerStore(database, TimeProvider.System).Verify();
            if (result.IsOk)
            {
                await output.WriteLineAsync($"ok {result.Entries} entries");
                return 0;
            }

            await error.WriteLineAsync($"ledger broken at entry {result.BadSeq}: {result.Problem}");
            return 1;
        }

        /// <summary>Touches no data folder: this runs on the auditor's machine.</summary>
        private static async Task<int> VerifyExportAsync(string export, string key, TextWriter output, TextWriter error)
        {
            string fingerprint;
            if (File.Exists(key))
            {
                try
                {
                    fingerprint = LedgerPublicKey.FromPem(await File.ReadAllTextAsync(key)).Fingerprint;
                }
                catch (CryptographicException exception)
                {
                    throw new CliException($"--key {key} holds no ECDSA P-256 public key in PEM ({exception.Message})");
                }
            }
            else
            {
                fingerprint = LedgerPublicKey.NormalizeFingerprint(key)
                    ?? throw new CliException($"--key {key} is neither a PEM file nor a fingerprint (SHA256: and 43 characters of base64)");
            }

            LedgerExportVerification result;
            try
            {
                await using var file = File.OpenRead(export);
                result = LedgerExportVerifier.Verify(file, fingerprint);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"pocketcoder: cannot read {export}: {exception.Message}");
                return 1;
            }

            if (!result.IsOk)
            {
                await error.WriteLineAsync($"export not verified: {result.Problem}");
                return 1;
            }

            await output.WriteLineAsync($"ok: {result.Entries} {(result.Entries == 1 ? "entry" : "entries")}, signed by {result.Fingerprint}");
            await output.WriteLineAsync(result.Scope);
            return 0;
        }
    }

    private sealed class Export : Verb
    {
        private readonly Option<string> _since = Named("--since", "WHEN",
            "Only entries from this time on: an ISO-8601 date or time (UTC unless it says), or a duration back from now (30m, 12h, 7d, 2w).");

        private readonly Option<string> _project = Named("--project", "PROJECT",
            "Only entries about this project (its id or name): the project, its sessions and their approvals, its rules, schedules, tasks, files, git and terminal.");

        private readonly Option<string> _format = new Option<string>("--format")
        {
            Description = "jsonl (signed, what `ledger verify --export` checks) or csv (for a spreadsheet, unsigned).",
            DefaultValueFactory = _ => "jsonl",
        }.AcceptOnlyFromAmong("jsonl", "csv");

        private readonly Option<string> _out = Named("--out", "FILE",
            "Write to this file (owner-only, as the ledger is) instead of standard output.");

        public Export() : base("export", "Write the ledger (every decision, rule, device and project change) signed by this machine's key, for an auditor.") =>
            Declare(_since, _project, _format, _out);

        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var since = parsed.GetValue(_since) is { } given ? ParseSince(given, DateTimeOffset.UtcNow) : (DateTimeOffset?)null;
            var format = parsed.GetValue(_format) == "csv" ? LedgerExportFormat.Csv : LedgerExportFormat.Jsonl;
            var directory = DataDirectory(parsed);
            if (!HasData(directory))
            {
                await error.WriteLineAsync($"pocketcoder: no PocketCoder data in {directory}");
                return 1;
            }

            using var database = new Database(directory);
            using var key = new LedgerSigningKey(directory);
            var exporter = new LedgerExporter(database, new LedgerStore(database, TimeProvider.System), key, TimeProvider.System);
            var filter = new LedgerExportFilter(parsed.GetValue(_project), since);
            var path = parsed.GetValue(_out) is { } file ? Path.GetFullPath(file) : null;
            LedgerExportSummary summary;
            try
            {
                summary = path is null ? await ToOutputAsync(exporter, filter, format, output) : ToFile(exporter, filter, format, path);
            }
            catch (LedgerExportException exception)
            {
                await error.WriteLineAsync($"pocketcoder: nothing exported: {exception.Message}");
                return 1;
            }

            var where = path is null ? "" : $" to {path}";
            await error.WriteLineAsync(format == LedgerExportFormat.Csv
                ? $"{summary.Entries} of {summary.LedgerEntries} entries written{where} (CSV is not signed: the jsonl export is the one that verifies)."
                : $"{summary.Entries} of {summary.LedgerEntries} entries written{where}, signed by {summary.Fingerprint}. " +
                    $"Check it anywhere with: pocketcoder ledger verify --export {(path is null ? "FILE" : Quote(path))} --key {summary.Fingerprint}");
            return 0;
        }

        /// <summary>Written aside and renamed: a refused or failed export leaves no half file under the name.</summary>
        private static LedgerExportSummary ToFile(LedgerExporter exporter, LedgerExportFilter filter, LedgerExportFormat format, string path)
        {
            var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                LedgerExportSummary summary;
                using (var file = new FileStream(temporary, options))
                {
                    summary = exporter.Write(filter, format, file);
                }

                File.Move(temporary, path, overwrite: true);
                return summary;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new LedgerExportException($"cannot write {path}: {exception.Message}");
            }
            finally
            {
                if (File.Exists(temporary))
                {
                    File.Delete(temporary);
                }
            }
        }

        /// <summary>
        /// The signature covers exact bytes, so they go to standard output as bytes: a console encoding other than UTF-8
        /// must not re-encode them. (A writer that is not the console, a test's, gets the same text.)
        /// </summary>
        private static async Task<LedgerExportSummary> ToOutputAsync(LedgerExporter exporter, LedgerExportFilter filter, LedgerExportFormat format, TextWriter output)
        {
            if (ReferenceEquals(output, Console.Out))
            {
                await output.FlushAsync();
                await using var stdout = Console.OpenStandardOutput();
                return exporter.Write(filter, format, stdout);
            }

            using var buffer = new MemoryStream();
            var summary = exporter.Write(filter, format, buffer);
            await output.WriteAsync(Encoding.UTF8.GetString(buffer.ToArray()));
            return summary;
        }

        private static string Quote(string path) => path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_') ? path : $"'{path.Replace("'", "'\\''", StringComparison.Ordinal)}'";
    }

    private sealed class Key : Verb
    {
        private readonly Option<bool> _json = Json();

        public Key() : base("key", "Print the public key that signs this machine's ledger exports (PEM) and its fingerprint (made on first use).") =>
            Declare(_json);

        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var directory = DataDirectory(parsed);
            if (!HasData(directory))
            {
                await error.WriteLineAsync($"pocketcoder: no PocketCoder data in {directory}");
                return 1;
            }

            DataFolder.Secure(directory);
            using var key = new LedgerSigningKey(directory);
            var response = LedgerKeyResponse.From(key.PublicKey);
            if (parsed.GetValue(_json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(response, WireJson.Default.LedgerKeyResponse));
                return 0;
            }

            // The PEM first and whole: `pocketcoder ledger key > machine.pem` is a key file (PEM readers stop at its END line).
            await output.WriteAsync(response.PublicKeyPem);
            await output.WriteLineAsync($"fingerprint {response.Fingerprint} ({response.Algorithm}); the phone shows it under Devices");
            return 0;
        }
    }
}
