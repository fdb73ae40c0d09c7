using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// The npm launchers of Copilot CLI and Qwen Code are skipped for the program they start; anything else starts as it is. The
/// agents' own tests (PausedWaitMatrixTests, QwenBypassTests, the Copilot gate tests) then run the real CLIs started this way.
/// </summary>
public sealed class NpmLaunchersTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pc-launchers-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void InstalledCopilot_StartsItsPlatformBinary_WithNoArgumentsOfItsOwn()
    {
        var direct = NpmLaunchers.Of(AgentPackages.File(".bin", "copilot"), new AgentCommand("copilot", new Dictionary<string, string?>()));

        Assert.NotNull(direct);
        Assert.Equal(AgentPackages.File("@github", "copilot-linux-x64", "copilot"), direct.Executable);
        Assert.Empty(direct.Arguments);
        Assert.Empty(direct.Environment);
    }

    [Fact]
    public void InstalledQwen_StartsNodeOnItsCli_ItsOwnNameKeptForCallingItself()
    {
        var launcher = AgentPackages.File(".bin", "qwen");
        var direct = NpmLaunchers.Of(launcher, new AgentCommand("qwen", new Dictionary<string, string?>()));

        Assert.NotNull(direct);
        Assert.Equal("node", Path.GetFileName(direct.Executable));
        Assert.Equal(["--expose-gc", AgentPackages.File("@qwen-code", "qwen-code", "cli.js")], direct.Arguments);
        Assert.Equal(launcher, direct.Environment["QWEN_CODE_CLI"]);
    }

    [Fact]
    public void QwenWithoutNodeOnTheAgentsPath_StartsItsLauncher()
    {
        var launcher = AgentPackages.File(".bin", "qwen");
        var noNode = new AgentCommand("qwen", new Dictionary<string, string?> { ["PATH"] = _root });

        Assert.Null(NpmLaunchers.Of(launcher, noNode));
    }

    [Theory]
    // Another package's file of the same name: only these two packages' launchers are known.
    [InlineData("someone-else", "npm-loader.js")]
    [InlineData("someone-else", "cli-entry.js")]
    // The known package, another file.
    [InlineData("@github/copilot", "index.js")]
    [InlineData("@qwen-code/qwen-code", "cli.js")]
    public void AnythingElse_StartsAsItIs(string package, string file)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "pkg")).FullName;
        File.WriteAllText(Path.Combine(folder, "package.json"), $$"""{ "name": "{{package}}" }""");
        File.WriteAllText(Path.Combine(folder, file), "#!/usr/bin/env node\n");
        File.WriteAllText(Path.Combine(folder, "cli.js"), "");
        Directory.CreateDirectory(Path.Combine(_root, "copilot-linux-x64"));
        File.WriteAllText(Path.Combine(_root, "copilot-linux-x64", "copilot"), "");

        Assert.Null(NpmLaunchers.Of(Path.Combine(folder, file), new AgentCommand("agent", new Dictionary<string, string?>())));
    }

    [Fact]
    public void CopilotLoaderWithoutItsPlatformPackage_StartsTheLoader()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "copilot")).FullName;
        File.WriteAllText(Path.Combine(folder, "package.json"), """{ "name": "@github/copilot" }""");
        File.WriteAllText(Path.Combine(folder, "npm-loader.js"), "");

        Assert.Null(NpmLaunchers.Of(Path.Combine(folder, "npm-loader.js"), new AgentCommand("copilot", new Dictionary<string, string?>())));
    }

    [Fact]
    public void CopilotInstalledGlobally_ItsNestedPlatformPackageWins_OnlyOfTheLoadersVersion()
    {
        // npm install -g nests the platform package in the loader's own node_modules; a stray one above must not run instead.
        var modules = Directory.CreateDirectory(Path.Combine(_root, "lib", "node_modules")).FullName;
        var loader = Package(Path.Combine(modules, "@github", "copilot"), "@github/copilot", "1.0.102", "npm-loader.js");
        var nested = Package(Path.Combine(loader, "node_modules", "@github", "copilot-linux-x64"), "@github/copilot-linux-x64", "1.0.102", "copilot");
        Package(Path.Combine(modules, "@github", "copilot-linux-x64"), "@github/copilot-linux-x64", "0.9.0", "copilot");
        var command = new AgentCommand("copilot", new Dictionary<string, string?>());

        Assert.Equal(Path.Combine(nested, "copilot"), NpmLaunchers.Of(Path.Combine(loader, "npm-loader.js"), command)?.Executable);

        // Only a platform package of another version: the loader starts, and says what it finds.
        Directory.Delete(Path.Combine(loader, "node_modules"), recursive: true);
        Assert.Null(NpmLaunchers.Of(Path.Combine(loader, "npm-loader.js"), command));
    }

    [Fact]
    public void QwenWithARelativePathEntry_NeverStartsANodeOfTheProjects()
    {
        // "./bin" on the agent's PATH would be the project's own folder where the agent runs.
        var bin = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "node"), "");
        var relative = new AgentCommand("qwen", new Dictionary<string, string?> { ["PATH"] = Path.GetRelativePath(Environment.CurrentDirectory, bin) });

        Assert.Null(NpmLaunchers.Of(AgentPackages.File(".bin", "qwen"), relative));
    }

    private static string Package(string folder, string name, string version, string file)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "package.json"), $$"""{ "name": "{{name}}", "version": "{{version}}" }""");
        File.WriteAllText(Path.Combine(folder, file), "");
        return folder;
    }

    [Fact]
    public void BrokenPackageJson_StartsAsItIs()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "broken")).FullName;
        File.WriteAllText(Path.Combine(folder, "package.json"), "{ not json");
        File.WriteAllText(Path.Combine(folder, "cli-entry.js"), "");

        Assert.Null(NpmLaunchers.Of(Path.Combine(folder, "cli-entry.js"), new AgentCommand("qwen", new Dictionary<string, string?>())));
    }
}
