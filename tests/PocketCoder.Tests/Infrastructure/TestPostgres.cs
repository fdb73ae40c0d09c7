using System.Diagnostics;
using System.Security.Cryptography;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of the test's own (Debian's binaries, a fresh cluster in a temp folder, loopback only, a random
/// password), for hub instances that share a database. PostgreSQL refuses to run as root: as root (CI) it runs as the
/// postgres user the Debian package creates, in a folder given to that user.
/// </summary>
internal sealed class TestPostgres : IAsyncDisposable
{
    private readonly string _folder;
    private readonly ReadyProcess _server;

    private TestPostgres(string folder, ReadyProcess server, string connectionString)
    {
        _folder = folder;
        _server = server;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<TestPostgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        Assert.True(bin is not null, "PostgreSQL is not installed: Debian's postgresql package (scripts/test.sh installs it).");

        var folder = TempPaths.NewDirectory("pc-postgres");
        var asRoot = OtherUser.CanGiveAway;
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(folder, "password");
        await File.WriteAllTextAsync(passwordFile, password);
        if (asRoot)
        {
            Assert.True(CanPostgresReach(folder),
                $"The postgres user cannot reach {folder}: a folder on the way is closed to other users (scripts/test.sh opens its temp root).");
            await RunAsync("chown", ["-R", "postgres:postgres", folder]);
        }

        var data = Path.Combine(folder, "data");
        await RunAsync(Program(bin!, "initdb", asRoot), [.. Prefix(bin!, "initdb", asRoot), "-D", data, "-U", "pocketcoder", "--auth=scram-sha-256",
            "--pwfile=" + passwordFile, "-E", "UTF8", "--no-sync"]);
        var port = ReadyProcess.FreePort();
        var start = new ProcessStartInfo(Program(bin!, "postgres", asRoot));
        foreach (var argument in (string[])[.. Prefix(bin!, "postgres", asRoot), "-D", data, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-k", folder, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"])
        {
            start.ArgumentList.Add(argument);
        }

        var server = await ReadyProcess.StartAsync(start, "database system is ready to accept connections");
        return new TestPostgres(folder, server,
            $"Host=127.0.0.1;Port={port};Username=pocketcoder;Password={password};Database=postgres");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        TempPaths.Delete(_folder);
    }

    // As root: setpriv runs the program as postgres in place (no child to outlive a kill), unlike su or runuser.
    private static string Program(string bin, string name, bool asRoot) => asRoot ? "setpriv" : Path.Combine(bin, name);

    private static string[] Prefix(string bin, string name, bool asRoot) =>
        asRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", Path.Combine(bin, name)] : [];

    /// <summary>Every folder above must let others pass (x) for a server running as postgres to open its data folder.</summary>
    private static bool CanPostgresReach(string folder)
    {
        for (var directory = Path.GetDirectoryName(folder); directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (!File.GetUnixFileMode(directory).HasFlag(UnixFileMode.OtherExecute))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task RunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed:\n{await output}\n{await error}");
    }
}
