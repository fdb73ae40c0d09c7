using PocketCoder.Agents.Processes;
using PocketCoder.Cli;
using PocketCoder.Health;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>An agent CLI newer than the newest PocketCoder was checked with is named by doctor and the phone's health answer.</summary>
public sealed class CheckedVersionsTests
{
    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("0.169.0", null)]
    [InlineData("0.168.9", null)]
    [InlineData("0.169.1", "1 patch release newer")]
    [InlineData("0.169.12", "12 patch releases newer")]
    [InlineData("0.171.0", "2 minor versions newer")]
    [InlineData("v1.0.0", "1 major version newer")]
    [InlineData("0.170.0-alpha.3", "1 minor version newer")]
    [InlineData("not a version", null)]
    [InlineData("", null)]
    public void Newer_SaysByHowMuch_OnlyWhenNewer(string installed, string? expected)
    {
        var record = CheckedVersions.For("codex");
        Assert.Equal("0.169.0", record);
        var words = CheckedVersions.Newer("codex", installed);
        if (expected is null)
        {
            Assert.Null(words);
        }
        else
        {
            Assert.NotNull(words);
            Assert.StartsWith($"{installed} is {expected} than 0.169.0, the newest PocketCoder was checked with (on {CheckedVersions.Date})", words, StringComparison.Ordinal);
        }
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void EveryNamedAgent_HasACheckedVersion_TheOwnersOwnHasNone()
    {
        foreach (var agent in EndToEnd.AgentWorld.Named)
        {
            Assert.NotNull(CheckedVersions.Parse(CheckedVersions.For(agent) ?? "none"));
        }

        Assert.Null(CheckedVersions.For("my-own-acp-agent"));
        Assert.Null(CheckedVersions.Newer("my-own-acp-agent", "99.0.0"));
    }

    [Fact]
    public async Task Health_ANewerClaudeInstalled_SaysSoWithTheCheckedVersion()
    {
        var claude = StandIn("99.0.0 (Claude Code)");
        await using var server = await TestServer.StartAsync(agents: new Dictionary<string, AgentCommand>
        {
            ["claude-code"] = new AgentCommand(claude, new Dictionary<string, string?>()),
        });
        var phone = await server.PairAsync();

        var agent = (await phone.Http.GetOkAsync("/api/health")).GetProperty("agents").EnumerateArray()
            .Single(a => a.GetProperty("id").GetString() == "claude-code");

        Assert.Equal("99.0.0", agent.GetProperty("version").GetString());
        Assert.Equal(CheckedVersions.For("claude-code"), agent.GetProperty("checkedVersion").GetString());
        Assert.StartsWith("99.0.0 is ", agent.GetProperty("newerThanChecked").GetString(), StringComparison.Ordinal);
    }

    /// <summary>An agent refused by name says so too when a newer CLI is installed than the one its reason was seen on (read from its
    /// npm package: a refused agent is never run, <c>Agents/RefusedAgentTests</c>).</summary>
    [Fact]
    public async Task Health_ANewerRefusedAgentInstalled_SaysItsReasonMayNoLongerHold()
    {
        var folder = TempPaths.NewDirectory("pc-agent");
        try
        {
            var auggie = Agents.RefusedAgentTests.NpmStandIn(folder, "@augmentcode/auggie", "9.0.0", "exit 1");
            await using var server = await TestServer.StartAsync(agents: new Dictionary<string, AgentCommand>
            {
                ["auggie"] = new AgentCommand(auggie, new Dictionary<string, string?>()),
            });
            var phone = await server.PairAsync();

            var agent = (await phone.Http.GetOkAsync("/api/health")).GetProperty("agents").EnumerateArray()
                .Single(a => a.GetProperty("id").GetString() == "auggie");

            Assert.False(agent.GetProperty("available").GetBoolean());
            Assert.Equal("9.0.0", agent.GetProperty("version").GetString());
            Assert.StartsWith("PocketCoder does not start Auggie:", agent.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.StartsWith("9.0.0 is 9 major versions newer than 0.36.0", agent.GetProperty("newerThanChecked").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    [Fact]
    public async Task Doctor_ANewerClaudeInstalled_NamesItWithoutCountingAProblem()
    {
        var data = TempPaths.NewDirectory("pc-doctor");
        try
        {
            var claude = StandIn("99.0.0 (Claude Code)");
            await File.WriteAllTextAsync(Path.Combine(data, PocketCoder.Server.ServeSettings.FileName), $$"""{"ClaudePath":"{{claude}}"}""");
            using var output = new StringWriter();
            await CommandLine.RunAsync(["doctor", "--data", data], output, TextWriter.Null);

            var line = output.ToString().Split('\n').Single(l => l.Contains("agent claude-code", StringComparison.Ordinal));
            Assert.Equal($"!    agent claude-code: {CheckedVersions.Newer("claude-code", "99.0.0")}", line);
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    [Fact]
    public async Task Doctor_WithoutSetsid_SaysSoOnce_AndNamesNoAgentAsMissing()
    {
        var data = TempPaths.NewDirectory("pc-doctor");
        var bin = TempPaths.NewDirectory("pc-path");
        try
        {
            // A PATH with everything the machine has but setsid (a machine without util-linux), and an agent installed.
            foreach (var folder in new[] { "/usr/bin", "/bin" }.Where(Directory.Exists))
            {
                foreach (var program in Directory.EnumerateFiles(folder).Where(p => Path.GetFileName(p) != "setsid"))
                {
                    var link = Path.Combine(bin, Path.GetFileName(program));
                    if (!File.Exists(link))
                    {
                        File.CreateSymbolicLink(link, program);
                    }
                }
            }

            var claude = StandIn("2.0.0 (Claude Code)");
            await File.WriteAllTextAsync(Path.Combine(data, PocketCoder.Server.ServeSettings.FileName), $$"""{"ClaudePath":"{{claude}}"}""");
            var info = PocketCoderCommand.Info("doctor", "--data", data);
            info.Environment["PATH"] = bin;
            using var doctor = System.Diagnostics.Process.Start(info)!;
            var stdout = doctor.StandardOutput.ReadToEndAsync();
            var stderr = await doctor.StandardError.ReadToEndAsync();
            await doctor.WaitForExitAsync();

            // Told as one thing to fix, not as an exception, nor as each agent "not installed".
            Assert.DoesNotContain("Exception", stderr + await stdout, StringComparison.Ordinal);
            var lines = (await stdout).Split('\n');
            Assert.Contains("FIX  setsid: not found", lines);
            Assert.Contains("FIX  no agent can start", lines);
            Assert.DoesNotContain(lines, l => l.Contains("agent claude-code: not installed", StringComparison.Ordinal));
            Assert.Equal(1, doctor.ExitCode);
        }
        finally
        {
            TempPaths.Delete(data);
            TempPaths.Delete(bin);
        }
    }

    /// <summary>An executable that answers <c>--version</c> as an agent CLI would.</summary>
    private static string StandIn(string version)
    {
        var path = Path.Combine(TempPaths.NewDirectory("pc-agent"), "claude");
        File.WriteAllText(path, $"#!/bin/sh\necho '{version}'\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
