using System.Net;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Web;

/// <summary>The phone app's shell is public and cached correctly; the API behind it stays protected.</summary>
public sealed class WebAppTests
{
    [Fact]
    public async Task Index_Anonymous_ServedWithNoCacheAndCsp()
    {
        await using var server = await TestServer.StartAsync();

        var response = await server.Anonymous.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache, $"Cache-Control: {response.Headers.CacheControl}");
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("/assets/", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_ItsInlineShellStyle_AllowedByItsHashAlone_AndTheStylesheetAfterTheShell()
    {
        await using var server = await TestServer.StartAsync();

        var response = await server.Anonymous.GetAsync("/");
        var html = await response.Content.ReadAsStringAsync();
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();

        // The shell paints before anything else arrives: styled inline, with CSP allowing exactly that block.
        var style = System.Text.RegularExpressions.Regex.Match(html, "<style>(.*?)</style>", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(style.Success, "index.html has no inline shell style");
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(style.Groups[1].Value)));
        Assert.Contains($"style-src 'self' 'sha256-{hash}';", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.Contains("data-boot-shell", html, StringComparison.Ordinal);
        // In <head> the stylesheet would hold the shell's first paint back until it arrived.
        Assert.True(html.IndexOf("rel=\"stylesheet\"", StringComparison.Ordinal) > html.IndexOf("data-boot-shell", StringComparison.Ordinal),
            "the app's stylesheet comes before the shell");
    }

    [Fact]
    public async Task HashedAsset_Anonymous_ImmutableForAYear()
    {
        await using var server = await TestServer.StartAsync();
        var index = await server.Anonymous.GetStringAsync("/");
        var asset = System.Text.RegularExpressions.Regex.Match(index, "/assets/[^\"]+\\.js").Value;
        Assert.False(string.IsNullOrEmpty(asset), "index.html names no script under /assets/");

        var response = await server.Anonymous.GetAsync(asset);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
    }

    [Theory]
    [InlineData("/sw.js", "text/javascript")]
    [InlineData("/manifest.webmanifest", "application/manifest+json")]
    public async Task ServiceWorkerAndManifest_Anonymous_NoCache(string path, string mediaType)
    {
        await using var server = await TestServer.StartAsync();

        var response = await server.Anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache, $"{path} Cache-Control: {response.Headers.CacheControl}");
    }

    [Theory]
    [InlineData("/s/0123456789abcdef")]
    [InlineData("/p/abc/files")]
    [InlineData("/devices")]
    public async Task AppPath_Anonymous_GetsTheShell(string path)
    {
        await using var server = await TestServer.StartAsync();

        var response = await server.Anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache);
    }

    [Fact]
    public async Task UnknownApiPath_Authenticated_ProblemNotShell()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();

        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/no-such-thing"), HttpStatusCode.NotFound, "NOT_FOUND");
        await ApiAssert.ProblemAsync(await server.Anonymous.GetAsync("/api/projects"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task MissingAsset_Anonymous_NotFoundNotShell()
    {
        await using var server = await TestServer.StartAsync();

        var response = await server.Anonymous.GetAsync("/assets/index-gone.js");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotEqual("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task DashboardTail_EarlierEvents_NotReplayedButNewOnesArrive()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var repository = TempPaths.NewGitRepository();
        try
        {
            var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
            var sessions = server.Services.GetRequiredService<PocketCoder.Sessions.SessionStore>();
            var database = server.Services.GetRequiredService<PocketCoder.Data.Database>();
            var session = database.Write(write => sessions.Create(write, project.GetProperty("id").GetString()!, "claude-code", null, "ask", "old"));
            sessions.Move(session.Id, PocketCoder.Sessions.LifeEvent.BetweenTurns);

            await using var tail = await SseClient.ConnectAsync(phone.Http, "/api/events?tail=true");
            await tail.WaitForCommentsAsync(1); // connected: from here on, only new events
            sessions.Move(session.Id, PocketCoder.Sessions.LifeEvent.AgentFailed, "later");
            var first = await tail.NextAsync();

            Assert.Equal("failed", first.Str("status"));
            Assert.Equal("later", first.Str("reason"));
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }
}
