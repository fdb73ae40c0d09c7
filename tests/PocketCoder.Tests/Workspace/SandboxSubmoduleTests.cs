using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Sessions;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Tests.Workspace;

/// <summary>
/// Which submodule paths a sandbox keeps as they are (<see cref="SubmoduleMounts"/>), read from the index as the owner's git
/// reads it: a populated submodule's <c>.git</c> (and its own submodules', which git status enters in turn), an uninitialised
/// one's whole folder, made where missing; and the folders above them pinned. <c>SandboxTests</c> has the real agent try them.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SandboxSubmoduleTests : IDisposable
{
    private static readonly string[] Owner = ["-c", "user.email=owner@example.invalid", "-c", "user.name=Owner", "-c", "protocol.file.allow=always"];

    private readonly string _data = TempPaths.NewDirectory("pc-data");
    private readonly string _sources = TempPaths.NewDirectory("pc-sources");
    private readonly Database _database;
    private readonly GitCli _git;

    public SandboxSubmoduleTests()
    {
        _database = new Database(_data);
        _database.Migrate();
        _git = new GitCli(new GitLocations(_database));
    }

    [Fact]
    public async Task NestedPopulatedAndUninitialised_DotGitsReadOnly_EmptyFolderReadOnlyWhole_FoldersAbovePinned()
    {
        var inner = Repository("inner");
        var middle = Repository("middle");
        TempPaths.Git(middle, [.. Owner, "submodule", "add", "-q", inner, "deep/inner"]);
        TempPaths.Git(middle, [.. Owner, "commit", "-q", "-m", "inner"]);
        var top = Repository("top");
        TempPaths.Git(top, [.. Owner, "submodule", "add", "-q", middle, "libs/middle"]);
        TempPaths.Git(top, [.. Owner, "submodule", "add", "-q", inner, "empty"]);
        TempPaths.Git(top, [.. Owner, "commit", "-q", "-m", "submodules"]);
        TempPaths.Git(top, [.. Owner, "submodule", "update", "-q", "--init", "--recursive"]);
        TempPaths.Git(top, "submodule", "deinit", "-q", "-f", "empty");

        var mounts = await SubmoduleMounts.ReadAsync(_git, top, CancellationToken.None);

        Assert.Equal(["libs", "libs/middle", "libs/middle/deep", "libs/middle/deep/inner"], mounts.Pinned.Select(p => Path.GetRelativePath(top, p)));
        Assert.Equal(["empty", "libs/middle/.git", "libs/middle/deep/inner/.git"], mounts.Protected.Select(p => Path.GetRelativePath(top, p)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MissingFolder_MadeEmptyAsGitWould_AndReadOnly_AFileThereReadOnly()
    {
        var top = Repository("top");
        TempPaths.Git(top, [.. Owner, "submodule", "add", "-q", Repository("library"), "vendor/gone"]);
        TempPaths.Git(top, [.. Owner, "submodule", "add", "-q", Repository("other"), "file"]);
        TempPaths.Git(top, [.. Owner, "commit", "-q", "-m", "submodules"]);
        TempPaths.Git(top, "submodule", "deinit", "-q", "-f", "--all");
        Directory.Delete(Path.Combine(top, "vendor"), recursive: true);
        Directory.Delete(Path.Combine(top, "file"));
        File.WriteAllText(Path.Combine(top, "file"), "a file where the submodule was\n");

        var mounts = await SubmoduleMounts.ReadAsync(_git, top, CancellationToken.None);

        Assert.True(Directory.Exists(Path.Combine(top, "vendor", "gone")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(top, "vendor", "gone")));
        Assert.Equal(["vendor"], mounts.Pinned.Select(p => Path.GetRelativePath(top, p)));
        Assert.Equal(["file", "vendor/gone"], mounts.Protected.Select(p => Path.GetRelativePath(top, p)).Order(StringComparer.Ordinal));
    }

    /// <summary>No mount can stand for a link: the agent could swap it for a folder holding a repository of its own.</summary>
    [Fact]
    public async Task LinkOnASubmodulesPath_Refused()
    {
        var top = Repository("top");
        TempPaths.Git(top, [.. Owner, "submodule", "add", "-q", Repository("library"), "vendor/lib"]);
        TempPaths.Git(top, [.. Owner, "commit", "-q", "-m", "submodule"]);
        Directory.Move(Path.Combine(top, "vendor"), Path.Combine(top, "vendor.real"));
        File.CreateSymbolicLink(Path.Combine(top, "vendor"), "vendor.real");

        var refused = await Assert.ThrowsAsync<ApiProblem>(() => SubmoduleMounts.ReadAsync(_git, top, CancellationToken.None));
        Assert.Equal(ErrorCodes.GitRedirected, refused.Code);
        Assert.Contains("vendor is a symbolic link", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotARepository_Nothing()
    {
        var plain = Directory.CreateDirectory(Path.Combine(_sources, "plain")).FullName;
        var mounts = await SubmoduleMounts.ReadAsync(_git, plain, CancellationToken.None);
        Assert.Empty(mounts.Pinned);
        Assert.Empty(mounts.Protected);
    }

    private string Repository(string name)
    {
        var path = Directory.CreateDirectory(Path.Combine(_sources, name)).FullName;
        TempPaths.Git(path, "init", "-q", "-b", "main");
        File.WriteAllText(Path.Combine(path, "README.md"), name + "\n");
        TempPaths.Git(path, "add", ".");
        TempPaths.Git(path, [.. Owner, "commit", "-q", "-m", name]);
        return path;
    }

    public void Dispose()
    {
        _database.Dispose();
        TempPaths.Delete(_data);
        TempPaths.Delete(_sources);
    }
}
