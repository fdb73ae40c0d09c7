using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reliability;

/// <summary>
/// Every connection the server opens enforces foreign keys, waits for another process's write instead of failing, and
/// syncs as the store promises, whether it is new or comes back from the pool (the PRAGMAs run once per native connection).
/// </summary>
public sealed class ConnectionPragmaTests
{
    [Fact]
    public void NewAndPooledConnections_AllCarryTheSettings()
    {
        var data = TempPaths.NewDirectory("pc-pragma");
        try
        {
            using var database = new Database(data);
            database.Migrate();
            for (var open = 0; open < 3; open++)
            {
                using (var connection = database.Open())
                {
                    AssertSettings(connection);
                }

                // A connection the pool closed comes back new, and is given them again.
                if (open == 1)
                {
                    SqliteConnection.ClearAllPools();
                }
            }

            // Two at once: the second is another native connection.
            using var first = database.Open();
            using var second = database.Open();
            AssertSettings(first);
            AssertSettings(second);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TempPaths.Delete(data);
        }
    }

    private static void AssertSettings(SqliteConnection connection)
    {
        Assert.Equal(1L, connection.Scalar<long>("PRAGMA foreign_keys;"));
        Assert.Equal(10000L, connection.Scalar<long>("PRAGMA busy_timeout;"));
        Assert.Equal(1L, connection.Scalar<long>("PRAGMA synchronous;"));
    }
}
