using PocketCoder.Data;

namespace PocketCoder.Cli;

/// <summary><c>pocketcoder ledger verify</c>: exit 0 with <c>ok N entries</c>, or exit 1 naming the first bad entry.</summary>
public static class LedgerCommand
{
    public static int Run(CliArguments arguments, TextWriter output, TextWriter error)
    {
        var directory = CommandLine.DataDirectory(arguments);
        if (!File.Exists(Path.Combine(directory, Database.FileName)))
        {
            error.WriteLine($"pocketcoder: no PocketCoder data in {directory}");
            return 1;
        }

        using var database = new Database(directory);
        var result = new Ledger.LedgerStore(database, TimeProvider.System).Verify();
        if (result.IsOk)
        {
            output.WriteLine($"ok {result.Entries} entries");
            return 0;
        }

        error.WriteLine($"ledger broken at entry {result.BadSeq}: {result.Problem}");
        return 1;
    }
}
