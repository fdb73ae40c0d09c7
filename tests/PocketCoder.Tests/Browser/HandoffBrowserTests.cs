using FakeLlm;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Desk and phone in Debian's Chromium at 390x844 (web/e2e/handoff.mjs), with the REAL Claude Code CLI: a conversation
/// begun with `claude -p` in the project folder is continued from the phone's Conversations and handed back.
/// </summary>
public sealed class HandoffBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public Task PhoneApp_TerminalConversation_ContinuedHere_HandedBack() =>
        BrowserScript.RunAsync(output, "handoff.mjs",
            async (model, repository, home) =>
            {
                model.Enqueue(ScriptedReply.Text("I will remember heron."));
                await ClaudeCli.RunInTerminalAsync(model, home, repository, "-p", "Remember the word heron", "--session-id", Guid.NewGuid().ToString());
            },
            _ => Task.CompletedTask);
}
