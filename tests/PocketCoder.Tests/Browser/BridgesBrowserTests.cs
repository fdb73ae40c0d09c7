using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Bridges;
using PocketCoder.Tests.Bridges;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The chat bridges on the phone (web/e2e/bridges.mjs) in Debian's Chromium at 390x844: a person linked through Telegram
/// shows under Devices with the platform and their user id; the bridge shows connected; the group they wrote in is bound
/// to a project from the phone (and told so), then Unbind releases it (and the chat is then told it steers nothing).
/// </summary>
public sealed class BridgesBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_ShowsLinkedPersonAndBridge_BindsAndUnbindsTheChat()
    {
        await using var telegram = await FakeTelegram.StartAsync();
        var website = TempPaths.NewGitRepository();
        TestServer? running = null;
        try
        {
            await BrowserScript.RunAsync(output, "bridges.mjs",
                async (server, _, _, _) =>
                {
                    running = server;
                    var laptop = await server.PairAsync("desk");
                    await laptop.Http.PostOkAsync("/api/projects", new { path = website, name = "website" });
                    telegram.Configure(server.DataDirectory);
                    var code = await server.PairingCodeAsync();
                    telegram.Write(111, 111, "alice", $"/pair {code}");
                    await telegram.MessageAsync(111, "Linked");
                    telegram.Write(-500, 111, "alice", "hello?");
                    await telegram.MessageAsync(-500, "steers no project yet");
                },
                async _ =>
                {
                    await telegram.MessageAsync(-500, "now steers website (bound by Bridges phone)");
                    Assert.Empty(running!.Services.GetRequiredService<BridgeStore>().Channels());
                    telegram.Write(-500, 111, "alice", "hello?");
                    await telegram.MessageAsync(-500, "steers no project yet");
                });
        }
        finally
        {
            TempPaths.Delete(website);
        }
    }
}
