using PocketCoder.Cli;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>
/// What serve tells the owner to type to pair a phone is a command that runs here (#51): after <c>dotnet run … serve</c> there is
/// no <c>pocketcoder</c> on PATH, and "command not found" was all the documented line gave.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SelfCommandTests : IDisposable
{
    private readonly string _folder = TempPaths.NewDirectory("pc-self");

    public void Dispose() => TempPaths.Delete(_folder);

    [Fact]
    public void For_RunByDotnet_NamesThisBuildsAssemblyThroughDotnet()
    {
        Assert.Equal("dotnet /src/PocketCoder/bin/Release/net10.0/pocketcoder.dll pair",
            SelfCommand.For("pair", "/usr/share/dotnet/dotnet", "/src/PocketCoder/bin/Release/net10.0/", "/usr/bin:/bin"));
    }

    /// <summary>The phone's help names this (health's pairCommand, #67): the data folder given where pair would not find it by itself.</summary>
    [Fact]
    public void Pair_AnotherDataFolder_IsGivenWithData_QuotedWhenItHasASpace()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_folder, "my data")).FullName;

        Assert.Equal(SelfCommand.For("pair"), SelfCommand.Pair(PocketCoder.Server.PocketCoderOptions.DefaultDataDirectory()));
        Assert.Equal($"{SelfCommand.For("pair")} --data '{folder}'", SelfCommand.Pair(folder));
    }

    [Fact]
    public void For_ABinaryOnPath_IsTheBareCommand()
    {
        var binary = Path.Combine(_folder, "pocketcoder");
        File.WriteAllText(binary, "");

        Assert.Equal("pocketcoder pair", SelfCommand.For("pair", binary, _folder, $"/usr/bin:{_folder}"));
    }

    [Fact]
    public void For_ABinaryOffPath_IsItsPath_QuotedWhenItHasASpace()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_folder, "my tools")).FullName;
        var binary = Path.Combine(folder, "pocketcoder");
        File.WriteAllText(binary, "");
        // Another pocketcoder on PATH is not this one: the line must run this server's own build.
        var other = Directory.CreateDirectory(Path.Combine(_folder, "other")).FullName;
        File.WriteAllText(Path.Combine(other, "pocketcoder"), "");

        Assert.Equal($"'{binary}' pair", SelfCommand.For("pair", binary, folder, $"/usr/bin:{other}"));
    }
}
