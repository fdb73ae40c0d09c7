using System.Diagnostics;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>`pocketcoder service install` writes a systemd user unit that runs this executable on this data folder, valid to systemd.</summary>
public sealed class ServiceCommandTests
{
    [Fact]
    public async Task Install_WritesAValidUserUnit_ForThisExecutableAndDataFolder_UninstallRemovesIt()
    {
        var config = TempPaths.NewDirectory("pc-xdg");
        var data = Path.Combine(config, "my data");
        try
        {
            var (exit, output) = await RunAsync(config, "service", "install", "--no-start", "--data", data);
            Assert.Equal(0, exit);
            var unit = Path.Combine(config, "systemd", "user", "pocketcoder.service");
            Assert.Contains($"Wrote {unit}.", output, StringComparison.Ordinal);
            var text = await File.ReadAllTextAsync(unit);
            Assert.Contains($"ExecStart={string.Join(' ', PocketCoderCommand.Prefix)} serve --data \"{data}\"", text, StringComparison.Ordinal);
            Assert.Contains("WantedBy=default.target", text, StringComparison.Ordinal);
            Assert.Contains("Environment=", text, StringComparison.Ordinal);

            // systemd itself reads it (scripts/test.sh installs systemd's tools where they are missing).
            var verify = Process.Start(new ProcessStartInfo("systemd-analyze", ["verify", unit]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            var complaints = await verify.StandardError.ReadToEndAsync();
            await verify.WaitForExitAsync();
            Assert.True(verify.ExitCode == 0, complaints);

            await RunAsync(config, "service", "uninstall", "--data", data);
            Assert.False(File.Exists(unit));
        }
        finally
        {
            TempPaths.Delete(config);
        }
    }

    /// <summary>Runs the built pocketcoder as its own process, with the systemd config folder pointed at <paramref name="config"/>.</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string config, params string[] arguments)
    {
        var info = PocketCoderCommand.Info(arguments);

        info.Environment["XDG_CONFIG_HOME"] = config;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
