using PocketCoder.Agents.Codex;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>Codex is made to ask before every MCP tool of the owner's config.toml runs, whatever the server or the config says.</summary>
[Trait("Category", "Unit")]
public sealed class CodexMcpApprovalsTests
{
    private static (IReadOnlyList<string> Arguments, IReadOnlyList<string> Servers, string? Problem) For(string toml)
    {
        var folder = TempPaths.NewDirectory("codex-config");
        try
        {
            var path = Path.Combine(folder, "config.toml");
            File.WriteAllText(path, toml);
            return CodexMcpApprovals.For(path);
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    [Fact]
    public void EveryServerAndToolSection_IsMadeToPrompt()
    {
        var (arguments, servers, problem) = For("""
            model = "x"
            [mcp_servers.probe]
            command = "node"
            [mcp_servers.probe.tools.touch_file]  # written by "don't ask again"
            approval_mode = "approve"
            [mcp_servers.github-tools]
            url = "http://127.0.0.1:1/mcp"
            [profiles.fast]
            model = "y"
            """);
        Assert.Null(problem);
        Assert.Equal(["probe", "github-tools"], servers);
        Assert.Equal(
            ["-c", "mcp_servers.probe.default_tools_approval_mode=\"prompt\"", "-c", "mcp_servers.probe.tools.touch_file.approval_mode=\"prompt\"",
             "-c", "mcp_servers.github-tools.default_tools_approval_mode=\"prompt\""],
            arguments);
    }

    [Theory]
    [InlineData("[mcp_servers.\"my server\"]\ncommand = \"x\"")]
    [InlineData("mcp_servers.probe = { command = \"node\" }")]
    [InlineData("mcp_servers = { probe = { command = \"node\" } }")]
    public void WhatCannotBeOverridden_RefusesToStart(string toml) => Assert.NotNull(For(toml).Problem);

    [Fact]
    public void NoConfig_NothingToDo()
    {
        var (arguments, servers, problem) = CodexMcpApprovals.For("/nonexistent/config.toml");
        Assert.Empty(arguments);
        Assert.Empty(servers);
        Assert.Null(problem);
    }
}

/// <summary>What goes to an agent's system prompt fits one command-line argument, whatever a repository's file holds.</summary>
[Trait("Category", "Unit")]
public sealed class ProjectInstructionsTests
{
    [Fact]
    public void InvalidUtf8ClaudeMd_StillFitsOneArgument_TheOwnersInstructionsKeptWhole()
    {
        var repository = TempPaths.NewDirectory("instructions");
        try
        {
            File.WriteAllBytes(Path.Combine(repository, "CLAUDE.md"), Enumerable.Repeat((byte)0xFF, 64 * 1024).ToArray());
            var read = PocketCoder.Agents.Sessions.ProjectInstructions.Read(repository, PocketCoder.Agents.Sessions.ProjectInstructions.Claude);
            Assert.True(System.Text.Encoding.UTF8.GetByteCount(read!) > 128 * 1024); // What would not have started.
            var owner = new string('é', 16_000);
            var handed = PocketCoder.Agents.Sessions.ProjectInstructions.With(read, owner)!;
            Assert.True(System.Text.Encoding.UTF8.GetByteCount(handed) <= PocketCoder.Agents.Sessions.ProjectInstructions.MaxHandedOver);
            Assert.EndsWith(owner + "\n", handed, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }
}
