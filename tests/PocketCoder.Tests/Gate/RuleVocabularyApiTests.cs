using System.Net;
using System.Net.Http.Json;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Tests.Workspace;

namespace PocketCoder.Tests.Gate;

/// <summary>Rules name a kind (shell, read, edit, write, fetch, mcp), an agent's own tool, or "*"; nothing else.</summary>
public sealed class RuleVocabularyApiTests
{
    [Fact]
    public async Task AddRule_KindWordsAndToolNamesAccepted_NonsenseRefused()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        foreach (var tool in new[] { "shell", "read", "edit", "write", "fetch", "mcp", "Bash", "run_shell_command", "mcp__github__create_issue", "*" })
        {
            var created = await world.Http.PostOkAsync($"{world.Api}/rules", new { tool, pattern = "*", action = "ask" });
            Assert.Equal(tool, created.GetProperty("tool").GetString());
        }

        foreach (var tool in new[] { "rm -rf /", "../etc", "**", "Bash;ls", new string('a', 101) })
        {
            await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/rules", new { tool, pattern = "*", action = "allow" }),
                HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        }

        Assert.Equal(10, (await world.Http.GetOkAsync($"{world.Api}/rules")).GetArrayLength());
    }
}
