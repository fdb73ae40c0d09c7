using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Workspace.Terminal;

namespace PocketCoder.Tests.Workspace;

public sealed class TerminalTests
{
    [Fact]
    public async Task Terminal_OpenTypeReadResizeStreamClose_Works()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        try
        {
            var opened = await world.Http.PostOkAsync($"{world.Api}/terminal", new { cols = 80, rows = 24 });
            Assert.True(opened.GetProperty("created").GetBoolean());
            Assert.Equal(80, opened.GetProperty("screen").GetProperty("cols").GetInt32());

            await InputAsync(world, new { text = "echo hello-$((6*7))", keys = new[] { "Enter" } });
            await ScreenContainsAsync(world, "hello-42");

            var resized = await world.Http.PostOkAsync($"{world.Api}/terminal/resize", new { cols = 100, rows = 30 });
            Assert.Equal(100, resized.GetProperty("cols").GetInt32());
            Assert.Equal(30, resized.GetProperty("rows").GetInt32());

            await using (var events = await SseClient.ConnectAsync(world.Http, $"{world.Api}/terminal/events"))
            {
                Assert.Equal("screen", (await events.NextAsync()).Event);
                // Text that looks like tmux options or key names is typed literally.
                await InputAsync(world, new { text = "echo -t =x: C-c sse-marker", keys = new[] { "Enter" } });
                var screen = await events.WaitForAsync(e => e.Event == "screen" && (e.Str("text") ?? "").Contains("\n-t =x: C-c sse-marker", StringComparison.Ordinal));
                Assert.Equal(100, screen.Json.GetProperty("cols").GetInt32());

                await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/terminal/input", new { keys = new[] { "-t", "Enter" } }),
                    HttpStatusCode.BadRequest, "VALIDATION_FAILED");

                Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"{world.Api}/terminal")).StatusCode);
                await events.WaitForAsync("closed");
            }

            await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/terminal/screen"), HttpStatusCode.NotFound, "TERMINAL_NOT_FOUND");
            await ApiAssert.ProblemAsync(await world.Http.DeleteAsync($"{world.Api}/terminal"), HttpStatusCode.NotFound, "TERMINAL_NOT_FOUND");
            Assert.Single(await world.LedgerAsync("terminal.opened"));
            var closed = Assert.Single(await world.LedgerAsync("terminal.closed"));
            Assert.Equal(world.Phone.DeviceId, closed.GetProperty("detail").GetProperty("deviceId").GetString());
        }
        finally
        {
            TempPaths.StopTmuxServer(world.Server.DataDirectory);
        }
    }

    [Fact]
    public async Task Streams_TwoOnOneTerminal_OnePollerAndItStopsWithTheLast()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        try
        {
            var screens = world.Server.Services.GetRequiredService<TerminalScreens>();
            await world.Http.PostOkAsync($"{world.Api}/terminal", new { });
            var first = await SseClient.ConnectAsync(world.Http, $"{world.Api}/terminal/events");
            await using var second = await SseClient.ConnectAsync(world.Http, $"{world.Api}/terminal/events");
            Assert.Equal("screen", (await first.NextAsync()).Event);
            Assert.Equal("screen", (await second.NextAsync()).Event);
            Assert.Equal(1, screens.RunningPollers);

            // Both see what is typed, from the one poller.
            await InputAsync(world, new { text = "echo shared-$((2*21))", keys = new[] { "Enter" } });
            await first.WaitForAsync(e => e.Event == "screen" && (e.Str("text") ?? "").Contains("shared-42", StringComparison.Ordinal));
            await second.WaitForAsync(e => e.Event == "screen" && (e.Str("text") ?? "").Contains("shared-42", StringComparison.Ordinal));

            await first.DisposeAsync();
            await second.DisposeAsync();
            await WaitUntilAsync(() => screens.RunningPollers == 0);
        }
        finally
        {
            TempPaths.StopTmuxServer(world.Server.DataDirectory);
        }
    }

    [Fact]
    public async Task Streams_PastTheDeviceCap_TooManyStreamsAndOtherDevicesUnaffected()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var streams = new List<SseClient>();
        try
        {
            await world.Http.PostOkAsync($"{world.Api}/terminal", new { });
            for (var i = 0; i < TerminalScreens.MaxStreamsPerDevice; i++)
            {
                var stream = await SseClient.ConnectAsync(world.Http, $"{world.Api}/terminal/events");
                streams.Add(stream);
                Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
            }

            await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/terminal/events", HttpCompletionOption.ResponseHeadersRead),
                HttpStatusCode.TooManyRequests, "TOO_MANY_STREAMS");
            var laptop = await world.Server.PairAsync("laptop");
            await using var other = await SseClient.ConnectAsync(laptop.Http, $"{world.Api}/terminal/events");
            Assert.Equal(HttpStatusCode.OK, other.Response.StatusCode);
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }

            TempPaths.StopTmuxServer(world.Server.DataDirectory);
        }
    }

    [Fact]
    public async Task Input_Recorded_WhoAndHowMuchButNotTheText()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        try
        {
            await world.Http.PostOkAsync($"{world.Api}/terminal", new { });
            await InputAsync(world, new { text = "s3cret-passw0rd", keys = new[] { "Enter" } });
            var input = Assert.Single(await world.LedgerAsync("terminal.input"));
            var detail = input.GetProperty("detail");
            Assert.Equal(world.Phone.DeviceId, detail.GetProperty("deviceId").GetString());
            Assert.Equal(15, detail.GetProperty("bytes").GetInt32());
            Assert.Equal(1, detail.GetProperty("keys").GetInt32());
            Assert.DoesNotContain("s3cret", input.GetRawText(), StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.StopTmuxServer(world.Server.DataDirectory);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        // The poller stops on its own task once the last stream has gone: poll the state briefly, with a bound.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition was not met within 20 s.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Serve_StopsGracefully_ItsTmuxServerEndsAndTheOwnersStays()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var socket = Terminals.SocketFor(world.Server.DataDirectory);
        var owners = Path.Combine(TempPaths.NewDirectory("owners-tmux"), "tmux.sock");
        try
        {
            // The owner's own tmux, on a socket of their own: PocketCoder must never end it.
            Assert.Equal(0, Tmux(owners, "new-session", "-d", "-s", "mine", "sleep 600").ExitCode);
            await world.Http.PostOkAsync($"{world.Api}/terminal", new { });
            await InputAsync(world, new { text = "echo before-stop", keys = new[] { "Enter" } });
            await ScreenContainsAsync(world, "\nbefore-stop");

            await world.Server.StopAsync();

            var listed = Tmux(socket, "list-sessions");
            Assert.True(listed.ExitCode != 0, $"PocketCoder's tmux server outlived serve: {listed.Output}");
            Assert.Equal(0, Tmux(owners, "has-session", "-t", "=mine").ExitCode);

            await world.StartAgainAsync();
            var reopened = await world.Http.PostOkAsync($"{world.Api}/terminal", new { });
            Assert.True(reopened.GetProperty("created").GetBoolean());
            Assert.DoesNotContain("before-stop", reopened.GetProperty("screen").GetProperty("text").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            Tmux(owners, "kill-server");
            TempPaths.StopTmuxServer(world.Server.DataDirectory);
        }
    }

    [Fact]
    public async Task Serve_StartsAfterACrash_EndsTheTmuxServerLeftBehind()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var socket = Terminals.SocketFor(world.Server.DataDirectory);
        try
        {
            await world.Server.StopAsync();
            // What a server killed with SIGKILL leaves: its tmux server, still holding a project's shell.
            Assert.Equal(0, Tmux(socket, "new-session", "-d", "-s", Terminals.SessionName(world.ProjectId), "sleep 600").ExitCode);

            await world.StartAgainAsync();

            var listed = Tmux(socket, "list-sessions");
            Assert.True(listed.ExitCode != 0, $"the tmux server a crash left is still running: {listed.Output}");
            await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/terminal/screen"), HttpStatusCode.NotFound, "TERMINAL_NOT_FOUND");
        }
        finally
        {
            TempPaths.StopTmuxServer(world.Server.DataDirectory);
        }
    }

    /// <summary>tmux as the owner would run it by hand, on the socket given, with no config of theirs.</summary>
    private static (int ExitCode, string Output) Tmux(string socket, params string[] arguments)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])["-S", socket, "-f", "/dev/null", .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Remove("TMUX");
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }

    [Fact]
    public async Task Terminal_NotOpened_TerminalNotFound()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/terminal/screen"), HttpStatusCode.NotFound, "TERMINAL_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{world.Api}/terminal/input", new { text = "x" }), HttpStatusCode.NotFound, "TERMINAL_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync($"{world.Api}/terminal/events"), HttpStatusCode.NotFound, "TERMINAL_NOT_FOUND");
    }

    private static async Task InputAsync(WorkspaceWorld world, object body) =>
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.PostAsJsonAsync($"{world.Api}/terminal/input", body)).StatusCode);

    /// <summary>tmux's screen is external state: poll it, with a deadline.</summary>
    private static async Task ScreenContainsAsync(WorkspaceWorld world, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var screen = "";
        while (DateTime.UtcNow < deadline)
        {
            screen = (await world.Http.GetOkAsync($"{world.Api}/terminal/screen")).GetProperty("text").GetString()!;
            if (screen.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"The screen never showed {JsonSerializer.Serialize(text)}. It shows:\n{screen}");
    }
}
