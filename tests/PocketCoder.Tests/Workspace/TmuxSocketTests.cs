using PocketCoder.Agents.FileSystem;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Workspace.Terminal;

namespace PocketCoder.Tests.Workspace;

/// <summary>Whoever reaches the tmux socket can type into the owner's shell, so it never lives where others can.</summary>
public sealed class TmuxSocketTests
{
    [Fact]
    public void SocketFor_ShortDataPath_InTheDataFolder()
    {
        var data = TempPaths.NewDirectory("pc-data");
        Assert.Equal(Path.Combine(data, "tmux.sock"), Terminals.SocketFor(data));
        TempPaths.Delete(data);
    }

    [Fact]
    public void SocketFor_LongDataPath_InAPrivateDirectoryOfThisUser()
    {
        var socket = Terminals.SocketFor("/" + new string('d', 150));
        var directory = Path.GetDirectoryName(socket)!;
        var status = UnixFiles.Stat(directory);
        Assert.NotNull(status);
        Assert.True(status.IsDirectory);
        Assert.Equal(UnixFiles.CurrentUser, status.Owner);
        Assert.Equal(0x1C0, status.Permissions);
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/') + "/pocketcoder-tmux-", socket, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsurePrivateDirectory_WorldWritableOwnDirectory_NarrowedTo0700()
    {
        var parent = TempPaths.NewDirectory("pc-private");
        var directory = Path.Combine(parent, "sockets");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        UnixFiles.EnsurePrivateDirectory(directory);
        Assert.Equal(0x1C0, UnixFiles.Stat(directory)!.Permissions);
        TempPaths.Delete(parent);
    }

    [Fact]
    public void EnsurePrivateDirectory_SymlinkPlantedByAnother_Refused()
    {
        // An attacker who guesses the name plants a link to a directory they control: it must not be used.
        var parent = TempPaths.NewDirectory("pc-private");
        var theirs = Directory.CreateDirectory(Path.Combine(parent, "theirs")).FullName;
        var planted = Path.Combine(parent, "pocketcoder-0");
        File.CreateSymbolicLink(planted, theirs);
        Assert.Throws<IOException>(() => UnixFiles.EnsurePrivateDirectory(planted));
        TempPaths.Delete(parent);
    }

    [Fact]
    public void EnsurePrivateDirectory_OwnedBySomeoneElse_Refused()
    {
        if (!OtherUser.CanGiveAway)
        {
            return; // Giving a directory to another user needs root (CI runs as root).
        }

        var parent = TempPaths.NewDirectory("pc-private");
        var directory = Directory.CreateDirectory(Path.Combine(parent, "other")).FullName;
        OtherUser.Own(directory);
        Assert.Throws<IOException>(() => UnixFiles.EnsurePrivateDirectory(directory));
        TempPaths.Delete(parent);
    }
}
