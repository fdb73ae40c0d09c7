using PocketCoder.Agents.FileSystem;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>The data folder holds token hashes, the pairing key, the ledger and transcripts: only its owner may enter it.</summary>
public sealed class DataFolderTests
{
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    [Fact]
    public async Task FreshDataFolder_AfterUse_FolderIs0700AndEveryFileIsPrivate()
    {
        var parent = TempPaths.NewDirectory("pc-parent");
        var data = Path.Combine(parent, "data");
        try
        {
            await using (var server = await TestServer.StartAsync(data))
            {
                var phone = await server.PairAsync();
                await phone.Http.PostOkAsync("/api/projects", new { path = parent });
            }

            Assert.Equal(0x1C0, UnixFiles.Stat(data)!.Permissions);
            Assert.All(Directory.GetDirectories(data, "*", SearchOption.AllDirectories), d => Assert.Equal(0x1C0, UnixFiles.Stat(d)!.Permissions));
            var files = Directory.GetFiles(data, "*", SearchOption.AllDirectories);
            Assert.Contains(files, f => f.EndsWith(Database.FileName, StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith("ledger.head", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith("pairing.key", StringComparison.Ordinal));
            foreach (var file in files.Where(f => !f.EndsWith(".sock", StringComparison.Ordinal)))
            {
                Assert.True((File.GetUnixFileMode(file) & GroupOrOther) == 0, $"{file} is {File.GetUnixFileMode(file)}");
            }
        }
        finally
        {
            TempPaths.Delete(parent);
        }
    }

    [Fact]
    public void ExistingWorldReadableFolder_Opened_NarrowedAndReported()
    {
        var data = TempPaths.NewDirectory("pc-data");
        try
        {
            File.SetUnixFileMode(data, (UnixFileMode)0x1ED); // 0755
            var leaked = Path.Combine(data, "old.log");
            File.WriteAllText(leaked, "transcript");
            File.SetUnixFileMode(leaked, (UnixFileMode)0x1A4); // 0644

            using var database = new Database(data);

            Assert.Equal(0x1C0, UnixFiles.Stat(data)!.Permissions);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(leaked));
            Assert.Equal(2, database.PermissionFixes.Count);
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    [Fact]
    public void FolderOfAnotherUser_Refused()
    {
        if (!OtherUser.CanGiveAway)
        {
            return; // Giving a folder to another user needs root (CI runs as root).
        }

        var data = TempPaths.NewDirectory("pc-data");
        try
        {
            OtherUser.Own(data);
            var refused = Assert.Throws<IOException>(() => new Database(data));
            Assert.Contains("refusing", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }
}
