using System.Diagnostics;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>
/// PocketCoder installs like a real tool: `dotnet pack` makes a .NET tool package, `dotnet tool install` from that folder
/// gives a `pocketcoder` command, and that command serves the phone app from wherever it was installed.
/// </summary>
public sealed class ToolPackageTests
{
    [Fact]
    public async Task Pack_ThenToolInstall_GivesAPocketcoderThatHelpsAndServesTheApp()
    {
        var root = ClaudeCli.RepositoryRoot();
        var work = TempPaths.NewDirectory("pc-tool");
        try
        {
            var packages = Path.Combine(work, "packages");
            // The build the tests run on (Release, as scripts/test.sh builds it), packed as is.
            await RunAsync("dotnet", ["pack", Path.Combine(root, "src", "PocketCoder"), "-c", "Release", "--no-build", "--nologo", "-o", packages], root);
            Assert.Single(Directory.GetFiles(packages, "PocketCoder.*.nupkg"));
            var tools = Path.Combine(work, "tools");
            await RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources", "PocketCoder"], work);
            var pocketcoder = Path.Combine(tools, "pocketcoder");

            var help = await RunAsync(pocketcoder, ["--help"], work);
            Assert.Contains("handoff", help, StringComparison.Ordinal);

            await using var server = await ServerProcess.StartAsync(Path.Combine(work, "data"), new Dictionary<string, string?>(), pocketcoder);
            using var http = new HttpClient { BaseAddress = server.BaseUrl };
            var page = await http.GetStringAsync("/");
            Assert.Contains("<div id=\"app\"", page, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(work);
        }
    }

    private static async Task<string> RunAsync(string file, string[] arguments, string directory)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}");
        return await output;
    }
}
