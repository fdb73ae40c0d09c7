using System.Runtime.InteropServices;
using PocketCoder.Agents.FileSystem;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>Gives a path to another user (nobody), for tests of what must refuse someone else's files. Needs root, as CI runs.</summary>
internal static class OtherUser
{
    public static bool CanGiveAway => UnixFiles.CurrentUser == 0;

    public static void Own(string path) => Assert.Equal(0, Chown(path, 65534, 65534));

    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int Chown(string path, int owner, int group);
}
