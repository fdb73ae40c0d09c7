using PocketCoder.Data;

namespace PocketCoder.Tests.Server;

/// <summary>
/// Checkpoints run off the commit path (<c>Database.CheckpointLoop</c>): what is committed reaches the database file
/// within a few seconds though no commit crossed SQLite's own threshold, and a commit never waits for it.
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("pc-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task CommittedPages_ReachTheDatabaseFile_WithinSeconds_WithoutACommitCheckpointing()
    {
        using var database = new Database(_data);
        database.Migrate();
        var file = new FileInfo(database.FilePath);
        var before = file.Length;

        // ~100 pages of rows: far below the 1,000 pages SQLite's automatic checkpoint would wait for in a commit.
        var text = new string('x', 4000);
        for (var i = 0; i < 100; i++)
        {
            database.Write(write => write.Execute("INSERT INTO server_settings (key, value) VALUES ($key, $value)",
                ("$key", $"checkpoint-test-{i}"), ("$value", text)));
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (new FileInfo(database.FilePath).Length <= before + (50 * 4096) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(new FileInfo(database.FilePath).Length > before + (50 * 4096),
            $"The database file is {new FileInfo(database.FilePath).Length} bytes, {before} before the writes: nothing was checkpointed.");
    }
}
