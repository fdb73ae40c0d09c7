using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Tests.Workspace;

/// <summary>
/// Putting files back from one snapshot to another (<see cref="WorktreeSnapshots.RestoreAsync"/>, what a rewind and a fork do)
/// never follows a link out of the project, whichever way a path changed kind: folder to link, link to folder, file to link, a
/// link planted where the restore writes, a folder swapped for a link between the snapshot and the restore. Each has a folder
/// "outside" (an owner's home) holding a precious file that must come through untouched. Real git, real files.
/// </summary>
[Trait("Category", "Unit")]
public sealed class RestoreThroughLinksTests : IDisposable
{
    private static readonly string[] Owner = ["-c", "user.email=owner@example.invalid", "-c", "user.name=Owner"];

    private readonly string _data = TempPaths.NewDirectory("pc-data");
    private readonly string _outside = TempPaths.NewDirectory("pc-home");
    private readonly string _repository = TempPaths.NewGitRepository();
    private readonly Database _database;
    private readonly WorktreeSnapshots _snapshots;

    public RestoreThroughLinksTests()
    {
        _database = new Database(_data);
        _database.Migrate();
        _snapshots = new WorktreeSnapshots(new GitCli(new GitLocations(_database)));
        Directory.CreateDirectory(Path.Combine(_outside, "precious"));
        File.WriteAllText(Path.Combine(_outside, "precious", "keep.txt"), "the owner's\n");
    }

    private string Precious => Path.Combine(_outside, "precious", "keep.txt");

    /// <summary>The exploit: a committed link to a folder outside, replaced by a real folder; restoring the link deleted the file outside.</summary>
    [Fact]
    public async Task FolderBackToLink_TheLinkIsRestored_TheFileBeyondItIsNotDeleted()
    {
        var cache = Path.Combine(_repository, "cache");
        Directory.CreateSymbolicLink(cache, Path.Combine(_outside, "precious"));
        var before = await TakeAsync();
        File.Delete(cache);
        Directory.CreateDirectory(cache);
        File.WriteAllText(Path.Combine(cache, "keep.txt"), "made in the project\n");
        var now = await TakeAsync();

        await _snapshots.RestoreAsync(_repository, now, before, CancellationToken.None);

        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Equal(Path.Combine(_outside, "precious"), new DirectoryInfo(cache).LinkTarget);
        Assert.Equal(before, await TakeAsync());
    }

    /// <summary>The other way: a folder the agent swapped for a link to the owner's folder (a file of the same name there) goes back to a folder.</summary>
    [Fact]
    public async Task LinkBackToFolder_TheFolderIsRestored_NothingIsWrittenOrDeletedOutside()
    {
        var cache = Path.Combine(_repository, "cache");
        Directory.CreateDirectory(cache);
        File.WriteAllText(Path.Combine(cache, "keep.txt"), "the project's\n");
        var before = await TakeAsync();
        Directory.Delete(cache, recursive: true);
        Directory.CreateSymbolicLink(cache, Path.Combine(_outside, "precious"));
        var now = await TakeAsync();

        await _snapshots.RestoreAsync(_repository, now, before, CancellationToken.None);

        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Null(new DirectoryInfo(cache).LinkTarget);
        Assert.Equal("the project's\n", File.ReadAllText(Path.Combine(cache, "keep.txt")));
        Assert.Equal(before, await TakeAsync());
    }

    /// <summary>A file the agent replaced with a link to the owner's file: the file comes back, written in the project, not through the link.</summary>
    [Fact]
    public async Task LinkBackToFile_TheFileIsRestored_TheTargetKeepsItsContent()
    {
        var file = Path.Combine(_repository, "notes.txt");
        File.WriteAllText(file, "the project's notes\n");
        var before = await TakeAsync();
        File.Delete(file);
        File.CreateSymbolicLink(file, Precious);
        var now = await TakeAsync();

        await _snapshots.RestoreAsync(_repository, now, before, CancellationToken.None);

        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Null(new FileInfo(file).LinkTarget);
        Assert.Equal("the project's notes\n", File.ReadAllText(file));
    }

    /// <summary>File to link: the link the snapshot had comes back as a link, and nothing outside is touched.</summary>
    [Fact]
    public async Task FileBackToLink_TheLinkIsRestored()
    {
        var file = Path.Combine(_repository, "keep.txt");
        File.CreateSymbolicLink(file, Precious);
        var before = await TakeAsync();
        File.Delete(file);
        File.WriteAllText(file, "a file now\n");
        var now = await TakeAsync();

        await _snapshots.RestoreAsync(_repository, now, before, CancellationToken.None);

        Assert.Equal(Precious, new FileInfo(file).LinkTarget);
        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
    }

    /// <summary>
    /// Links no snapshot sees (ignored), planted where the restore writes: as the folder of a file it writes and as the file itself.
    /// The restore writes in the project and never beyond either link.
    /// </summary>
    [Fact]
    public async Task IgnoredLinksPlantedWhereTheRestoreWrites_AreReplaced_NotWrittenThrough()
    {
        Directory.CreateDirectory(Path.Combine(_repository, "out"));
        File.WriteAllText(Path.Combine(_repository, "out", "keep.txt"), "the project's\n");
        File.WriteAllText(Path.Combine(_repository, "log.txt"), "the project's log\n");
        var before = await TakeAsync();
        File.WriteAllText(Path.Combine(_repository, ".gitignore"), "out\nlog.txt\n");
        Directory.Delete(Path.Combine(_repository, "out"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_repository, "out"), Path.Combine(_outside, "precious"));
        File.Delete(Path.Combine(_repository, "log.txt"));
        File.CreateSymbolicLink(Path.Combine(_repository, "log.txt"), Precious);
        var now = await TakeAsync();

        await _snapshots.RestoreAsync(_repository, now, before, CancellationToken.None);

        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Single(Directory.GetFiles(Path.Combine(_outside, "precious")));
        Assert.Equal("the project's\n", File.ReadAllText(Path.Combine(_repository, "out", "keep.txt")));
        Assert.Equal("the project's log\n", File.ReadAllText(Path.Combine(_repository, "log.txt")));
        Assert.Null(new FileInfo(Path.Combine(_repository, "log.txt")).LinkTarget);
    }

    /// <summary>A folder swapped for a link after the snapshot was taken (a process still running): its file is not there to remove, and nothing beyond is.</summary>
    [Fact]
    public async Task FolderSwappedForALinkAfterTheSnapshot_TheRemovalDoesNotFollowIt()
    {
        var before = await TakeAsync();
        Directory.CreateDirectory(Path.Combine(_repository, "cache"));
        File.WriteAllText(Path.Combine(_repository, "cache", "keep.txt"), "made in the project\n");
        var now = await TakeAsync();
        Directory.Delete(Path.Combine(_repository, "cache"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_repository, "cache"), Path.Combine(_outside, "precious"));

        await _snapshots.RestoreAsync(_repository, now, before, CancellationToken.None);

        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
    }

    /// <summary>
    /// What the restore leaves to git, checked rather than assumed: <c>git checkout-index --force</c> with a link where a folder of
    /// the path must be replaces the link with a folder and writes there, never beyond it.
    /// </summary>
    [Fact]
    public void GitCheckoutIndex_ALinkOnTheWay_IsReplaced_NotWrittenThrough()
    {
        Directory.CreateDirectory(Path.Combine(_repository, "out"));
        File.WriteAllText(Path.Combine(_repository, "out", "keep.txt"), "the project's\n");
        TempPaths.Git(_repository, "add", "out");
        TempPaths.Git(_repository, [.. Owner, "commit", "-q", "-m", "out"]);
        Directory.Delete(Path.Combine(_repository, "out"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_repository, "out"), Path.Combine(_outside, "precious"));

        TempPaths.Git(_repository, "checkout-index", "--force", "--", "out/keep.txt");

        Assert.Equal("the owner's\n", File.ReadAllText(Precious));
        Assert.Null(new DirectoryInfo(Path.Combine(_repository, "out")).LinkTarget);
        Assert.Equal("the project's\n", File.ReadAllText(Path.Combine(_repository, "out", "keep.txt")));
    }

    /// <summary>A file only the later snapshot has goes, and so does the folder it leaves empty (as git's checkout removes it).</summary>
    [Fact]
    public async Task AddedFileRemoved_ItsEmptiedFoldersToo()
    {
        var before = await TakeAsync();
        Directory.CreateDirectory(Path.Combine(_repository, "new", "deep"));
        File.WriteAllText(Path.Combine(_repository, "new", "deep", "a.txt"), "a\n");
        var now = await TakeAsync();

        await _snapshots.RestoreAsync(_repository, now, before, CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(_repository, "new")));
        Assert.Equal(before, await TakeAsync());
    }

    private async Task<string> TakeAsync() => (await _snapshots.TakeAsync(_repository, CancellationToken.None))!;

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
        TempPaths.Delete(_repository);
        TempPaths.Delete(_outside);
    }
}
