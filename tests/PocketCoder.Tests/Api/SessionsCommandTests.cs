using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>
/// <c>pocketcoder sessions</c> prints session titles, which are other people's words (a linked chat's message, an agent
/// transcript's title): an escape sequence in one must not reach the owner's terminal (retitle its window, hide what
/// follows, or worse).
/// </summary>
public sealed class SessionsCommandTests
{
    [Fact]
    public async Task TitleWithEscapeSequences_IsListedWithoutThem()
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        var id = await world.StartSessionAsync("Fix the build \u001b]0;owned\u0007\u001b[8mhidden");

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await PocketCoder.Cli.CommandLine.RunAsync(["sessions", "--url", world.Server.BaseUrl.ToString(), "--data", world.Server.DataDirectory],
            output, error);

        Assert.Equal(0, exit);
        var line = output.ToString().Split('\n').Single(l => l.StartsWith(id[..8], StringComparison.Ordinal));
        Assert.Contains("Fix the build", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', line);
        Assert.DoesNotContain('\u0007', line);
    }
}
