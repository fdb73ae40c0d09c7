using System.CommandLine;
using PocketCoder.Data;

namespace PocketCoder.Cli;

/// <summary><c>pocketcoder ledger verify</c>: exit 0 with <c>ok N entries</c>, or exit 1 naming the first bad entry.</summary>
internal sealed class LedgerCommand() : VerbGroup("ledger", "The decision ledger.", new Verify())
{
    private sealed class Verify() : Verb("verify", "Check the ledger's hash chain: exit 0 with `ok N entries`, or 1 naming the first bad entry.")
    {
        protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var directory = DataDirectory(parsed);
            if (!File.Exists(Path.Combine(directory, Database.FileName)))
            {
                await error.WriteLineAsync($"pocketcoder: no PocketCoder data in {directory}");
                return 1;
            }

            using var database = new Database(directory);
            var result = new Ledger.LedgerStore(database, TimeProvider.System).Verify();
            if (result.IsOk)
            {
                await output.WriteLineAsync($"ok {result.Entries} entries");
                return 0;
            }

            await error.WriteLineAsync($"ledger broken at entry {result.BadSeq}: {result.Problem}");
            return 1;
        }
    }
}
