using System.Net;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The sandbox's network on the phone (web/e2e/network.mjs), with the REAL Claude Code CLI: a command's connection to a new host
/// is a card, allowed always from it (the rule named first), the command gets its answer, the transcript shows the connection,
/// and Rules lists the network rule.
/// </summary>
public sealed class NetworkBrowserTests(ITestOutputHelper output)
{
    private const string Host = "files.pocketcoder.test";

    [Fact]
    public async Task PhoneApp_ANewHost_ACardAllowedAlways_TheConnectionInTheTranscript_AndTheRuleInRules()
    {
        await using var outside = new OutsideListeners();
        var port = outside.Tcp("the internet", IPAddress.Loopback, "hello from outside");
        await BrowserScript.RunAsync(output, "network.mjs",
            (_, model, _, _) =>
            {
                model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = $"curl -sS --max-time 120 http://{Host}:{port}/", description = "Fetch the page" }),
                    ScriptedReply.Text("Fetched."));
                return Task.CompletedTask;
            },
            _ =>
            {
                Assert.Equal(1, outside.Reached("the internet"));
                return Task.CompletedTask;
            },
            pauseWaitingAfter: null, bubblewrap: null, networkHosts: new Dictionary<string, string> { [Host] = "127.0.0.1" }, "--host", $"{Host}:{port}");
    }
}
