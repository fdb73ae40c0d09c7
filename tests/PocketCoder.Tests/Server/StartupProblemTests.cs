using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PocketCoder.Cli;
using PocketCoder.Server;
using PocketCoder.Sessions;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Tests.Reach;

namespace PocketCoder.Tests.Server;

/// <summary>
/// What this machine puts in the way of <c>serve</c> (the port taken, a data folder it cannot write, certificate files
/// that cannot serve) stops the real executable with one line on stderr that names the problem and its fix, exit 1, no
/// stack trace; <c>doctor</c> finds the same, and says whether new projects' agents run sandboxed.
/// </summary>
public sealed class StartupProblemTests : IDisposable
{
    private readonly string _files = TempPaths.NewDirectory("pc-startup");
    private readonly TestCertificates _certificates = new();

    public void Dispose() => TempPaths.Delete(_files);

    [Fact]
    public async Task Serve_PortHeldByAnotherProgram_OneLineNamingTheAddressAndListen_ExitOne()
    {
        using var holder = HoldLoopbackPort();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (exit, output, error) = await PocketCoderAsync(null, "serve", "--listen", $"http://127.0.0.1:{port}", "--data", File("data"));

        AssertStoppedWithOneLine(exit, output, error, $"127.0.0.1:{port} is already in use", "--listen");
    }

    [Fact]
    public async Task Serve_PortHeldByThisDataFoldersRunningServer_OneLineSayingItRunsAlready_ExitOne()
    {
        var data = File("running");
        await using var server = await TestServer.StartAsync(data);

        var (exit, output, error) = await PocketCoderAsync(null, "serve", "--listen", $"http://127.0.0.1:{server.BaseUrl.Port}", "--data", data);

        AssertStoppedWithOneLine(exit, output, error, $"PocketCoder is already running on 127.0.0.1:{server.BaseUrl.Port} with the data folder {data}",
            "--listen");
    }

    [Fact]
    public async Task Serve_DataFolderUnderAFile_OneLineNamingTheFileAndData_ExitOne()
    {
        await System.IO.File.WriteAllTextAsync(File("file.txt"), "not a folder");

        // Root passes every permission check; a path whose parent is a file fails for everyone.
        var (exit, output, error) = await PocketCoderAsync(null, "serve", "--listen", "http://127.0.0.1:0", "--data", File("file.txt/data"));

        AssertStoppedWithOneLine(exit, output, error, $"The data folder {File("file.txt/data")} cannot be made", $"{File("file.txt")} is a file",
            "--data");
    }

    [Fact]
    public async Task Serve_DataFolderWhereNoFolderCanBeMade_OneLineNamingTheFolderAndData_ExitOne()
    {
        // /proc takes no new folders, not even from root.
        var data = $"/proc/pocketcoder-{Guid.NewGuid():N}";

        var (exit, output, error) = await PocketCoderAsync(null, "serve", "--listen", "http://127.0.0.1:0", "--data", data);

        AssertStoppedWithOneLine(exit, output, error, $"The data folder {data} cannot be made", "--data");
    }

    [Theory]
    [InlineData("missing", "Could not find file")]
    [InlineData("unreadable", "denied")]
    [InlineData("not PEM", "PEM")]
    [InlineData("another key", "The key is not this certificate's key.")]
    [InlineData("expired", "not now")]
    public async Task Serve_CertificateThatCannotServe_OneLineNamingCertKeyAndWhy_ExitOne(string problem, string why)
    {
        var (certificate, key) = WriteCertificate(problem);

        var (exit, output, error) = await PocketCoderAsync(null, "serve", "--listen", "https://127.0.0.1:0", "--cert", certificate, "--key", key,
            "--data", File("data"));

        AssertStoppedWithOneLine(exit, output, error, "(--cert, --key)", why);
    }

    /// <summary>The port taken between serve's check and Kestrel's bind: Kestrel's own failure becomes the same line.</summary>
    [Fact]
    public async Task StartFailure_PortTakenAfterTheCheck_ReadAsTheSameLine()
    {
        using var holder = HoldLoopbackPort();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var listen = $"http://127.0.0.1:{port}";
        await using var app = PocketCoderServer.Build(
            new PocketCoderOptions { DataDirectory = File("data"), Listen = listen, ConsoleLogging = false });

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        await app.StopAsync();

        Assert.Equal($"127.0.0.1:{port} is already in use by another program: stop it, or choose another port with --listen http://127.0.0.1:<port>.",
            ListenPort.FromStartFailure(listen, failure));
    }

    [Fact]
    public async Task Doctor_PortHeldByAnotherProgram_FixNamingListen()
    {
        using var holder = HoldLoopbackPort();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var data = Settings($$"""{"Listen":"http://127.0.0.1:{{port}}"}""");

        var (exit, text) = await DoctorAsync(data);

        Assert.Equal(1, exit);
        Assert.Contains($"FIX  port 127.0.0.1:{port} is in use\n      127.0.0.1:{port} is already in use by another program", text, StringComparison.Ordinal);
        Assert.Contains("--listen http://127.0.0.1:<port>", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_PortHeldByThisDataFoldersServer_Ok()
    {
        var data = File("running");
        await using var server = await TestServer.StartAsync(data);
        Settings($$"""{"Listen":"http://127.0.0.1:{{server.BaseUrl.Port}}"}""", data);

        var (_, text) = await DoctorAsync(data);

        Assert.Contains($"ok   port 127.0.0.1:{server.BaseUrl.Port}: this data folder's PocketCoder is running there", text, StringComparison.Ordinal);
    }

    /// <summary>Started with a --listen its settings do not hold: doctor checks the port it runs on, not the default 7420 (#51).</summary>
    [Fact]
    public async Task Doctor_ServerStartedOnAnotherPortThanTheSettings_ChecksThePortItRunsOn()
    {
        var data = File("elsewhere");
        await using var server = await TestServer.StartAsync(data);

        var (_, text) = await DoctorAsync(data);

        Assert.Contains($"ok   port 127.0.0.1:{server.BaseUrl.Port}: this data folder's PocketCoder is running there", text, StringComparison.Ordinal);
        Assert.DoesNotContain("port 127.0.0.1:7420", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_DataFolderUnderAFile_FixNamingTheFile()
    {
        await System.IO.File.WriteAllTextAsync(File("file.txt"), "not a folder");

        var (exit, text) = await DoctorAsync(File("file.txt/data"));

        Assert.Equal(1, exit);
        Assert.Contains($"FIX  data folder {File("file.txt/data")}\n", text, StringComparison.Ordinal);
        Assert.Contains($"{File("file.txt")} is a file, not a folder.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_CertificateThatCannotServe_FixNamingCertKey_AndTheOtherChecksStillRun()
    {
        var (certificate, key) = WriteCertificate("another key");
        var data = Settings($$"""{"Listen":"https://127.0.0.1:0","Cert":"{{certificate}}","Key":"{{key}}"}""");

        var (exit, text) = await DoctorAsync(data);

        Assert.Equal(1, exit);
        Assert.Contains("FIX  certificate\n      Cert and Key (--cert, --key): ", text, StringComparison.Ordinal);
        Assert.Contains("The key is not this certificate's key.", text, StringComparison.Ordinal);
        Assert.Contains("git: git version", text, StringComparison.Ordinal);
        Assert.Contains("agent claude-code", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_UsableCertificate_OkWithItsEnd()
    {
        var (certificate, key) = WriteCertificate("usable");
        var data = Settings($$"""{"Listen":"https://127.0.0.1:0","Cert":"{{certificate}}","Key":"{{key}}"}""");

        var (_, text) = await DoctorAsync(data);

        Assert.Contains("ok   certificate: CN=localhost, valid until ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_SaysWhetherAgentsRunSandboxed_AsTheSandboxProbeFoundIt()
    {
        var (_, text) = await DoctorAsync(File("data"));

        Assert.Contains(Sandboxing.MachineProblem is null
            ? "ok   sandbox: bubblewrap works; agents run sandboxed unless a project is set to none"
            : $"FIX  sandbox: unavailable: {Sandboxing.MachineProblem}", text, StringComparison.Ordinal);
        if (Sandboxing.MachineProblem is null)
        {
            Assert.Contains("ok   network: each sandbox has its own, with PocketCoder's proxy its one way out", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Doctor_NoBubblewrap_FixSayingInstallItOrSetTheSandboxToNone()
    {
        // A PATH without bwrap (the real executable finds it on PATH, as it finds every tool).
        var path = Directory.CreateDirectory(File("empty-path")).FullName;

        var (exit, output, _) = await PocketCoderAsync(new Dictionary<string, string> { ["PATH"] = path }, "doctor", "--data", File("data"));

        Assert.Equal(1, exit);
        Assert.Contains("FIX  sandbox: unavailable: bubblewrap (bwrap) is not installed. Sessions of sandboxed projects (the default) do not start\n",
            output, StringComparison.Ordinal);
        Assert.Contains("apt-get install bubblewrap", output, StringComparison.Ordinal);
        Assert.Contains("set a project's sandbox to none", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Agents refused by name are not the owner's to fix: doctor gives an installed one a short line of its own and names the
    /// others together, pointing at docs/agents.md for the reasons (which were a paragraph each, five of them, #67).
    /// </summary>
    [Fact]
    public async Task Doctor_RefusedAgents_OneShortLineEach_NotAParagraph()
    {
        var path = Directory.CreateDirectory(File("refused-path")).FullName;
        // Installed as npm installs it: the command a link to its package's script, whose package.json says the version (a
        // refused agent is never run, so its version is read there).
        var package = Directory.CreateDirectory(File("npm/lib/node_modules/@augmentcode/auggie")).FullName;
        await System.IO.File.WriteAllTextAsync(Path.Combine(package, "package.json"), """{"name":"@augmentcode/auggie","version":"0.36.0"}""");
        var script = Path.Combine(package, "augment.mjs");
        await System.IO.File.WriteAllTextAsync(script, "#!/bin/sh\nexit 3\n");
        System.IO.File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        System.IO.File.CreateSymbolicLink(Path.Combine(path, "auggie"), script);
        // Agent probes start through setsid, found on PATH.
        System.IO.File.CreateSymbolicLink(Path.Combine(path, "setsid"), System.IO.File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "/bin/setsid");

        var (_, output, _) = await PocketCoderAsync(new Dictionary<string, string> { ["PATH"] = path }, "doctor", "--data", File("data"));

        var lines = output.Split('\n');
        var installed = Array.FindIndex(lines, l => l.StartsWith("-    agent auggie:", StringComparison.Ordinal));
        Assert.True(installed >= 0, output);
        Assert.Equal("-    agent auggie: 0.36.0 installed, not started (refused by name)", lines[installed]);
        Assert.False(lines[installed + 1].StartsWith("      ", StringComparison.Ordinal), output);
        Assert.Contains("-    not installed, and refused by name: grok, amp, droid, crush\n", output, StringComparison.Ordinal);
        Assert.Contains("why each is refused: docs/agents.md", output, StringComparison.Ordinal);
        Assert.DoesNotContain("PocketCoder does not start", output, StringComparison.Ordinal);
        Assert.DoesNotContain("would not start it", output, StringComparison.Ordinal);
    }

    private static void AssertStoppedWithOneLine(int exit, string output, string error, params string[] names)
    {
        Assert.True(exit == 1, $"exit {exit}\nstderr:\n{error}\nstdout:\n{output}");
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pocketcoder: ", line, StringComparison.Ordinal);
        foreach (var name in names)
        {
            Assert.Contains(name, line, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", output + error, StringComparison.Ordinal);
    }

    /// <summary>A port held the way another program holds it: listening on 127.0.0.1.</summary>
    private static TcpListener HoldLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    /// <summary>A certificate and key that cannot serve for the given reason ("usable": one that can).</summary>
    private (string Certificate, string Key) WriteCertificate(string problem)
    {
        var (certificate, key) = (File($"{problem}.pem"), File($"{problem}.key"));
        switch (problem)
        {
            case "missing":
                return (File("nowhere.pem"), key);
            case "unreadable":
                // A folder where the file should be: root reads any file, but no one reads a folder as one.
                _certificates.WriteServerCertificate(certificate, key);
                return (Directory.CreateDirectory(File("a-folder.pem")).FullName, key);
            case "not PEM":
                _certificates.WriteServerCertificate(certificate, key);
                System.IO.File.WriteAllText(certificate, "this is not a certificate\n");
                return (certificate, key);
            case "another key":
                _certificates.WriteServerCertificate(certificate, File("unused.key"));
                _certificates.WriteServerCertificate(File("other.pem"), key);
                return (certificate, key);
            case "expired":
                using (var expiredKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    using var expired = new CertificateRequest("CN=localhost", expiredKey, HashAlgorithmName.SHA256)
                        .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
                    System.IO.File.WriteAllText(certificate, expired.ExportCertificatePem());
                    System.IO.File.WriteAllText(key, expiredKey.ExportPkcs8PrivateKeyPem());
                }

                return (certificate, key);
            default:
                _certificates.WriteServerCertificate(certificate, key);
                return (certificate, key);
        }
    }

    /// <summary>A data folder holding this pocketcoder.json (a new one unless given).</summary>
    private string Settings(string json, string? data = null)
    {
        data ??= Directory.CreateDirectory(File($"data-{Guid.NewGuid():N}")).FullName;
        System.IO.File.WriteAllText(Path.Combine(data, ServeSettings.FileName), json);
        return data;
    }

    private static async Task<(int Exit, string Output)> DoctorAsync(string data)
    {
        using var output = new StringWriter();
        var exit = await CommandLine.RunAsync(["doctor", "--data", data], output, TextWriter.Null);
        return (exit, output.ToString());
    }

    /// <summary>The built executable as its own process, as a user runs it: what it prints on each stream, and its exit code.</summary>
    private static async Task<(int Exit, string Output, string Error)> PocketCoderAsync(
        IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var info = PocketCoderCommand.Info(arguments);

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            // A serve that started after all runs until stopped: stop it, and fail saying what it printed.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"pocketcoder {string.Join(' ', arguments)} did not stop:\n{await output}\n{await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    private string File(string name) => Path.Combine(_files, name);
}
