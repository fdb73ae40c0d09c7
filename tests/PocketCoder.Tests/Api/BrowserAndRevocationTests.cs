using System.Net;
using System.Net.Http.Json;
using PocketCoder.Auth;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Tests.Workspace;

namespace PocketCoder.Tests.Api;

/// <summary>What a revoked device, a rebinding DNS name and a page on another port can do: nothing.</summary>
public sealed class BrowserAndRevocationTests
{
    [Fact]
    public async Task RevokeDevice_OpenStreams_AllEndAndReconnectingIsUnauthorized()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var laptop = await world.Server.PairAsync("laptop");
        var command = await laptop.Http.PostOkAsync($"{world.Api}/commands", new { command = "sleep 60", timeoutSeconds = 120 });
        await laptop.Http.PostOkAsync($"{world.Api}/terminal", new { });

        await using var dashboard = await SseClient.ConnectAsync(laptop.Http, "/api/events");
        await using var output = await SseClient.ConnectAsync(laptop.Http, $"/api/commands/{command.GetProperty("id").GetString()}/events");
        await using var terminal = await SseClient.ConnectAsync(laptop.Http, $"{world.Api}/terminal/events");
        Assert.All([dashboard, output, terminal], s => Assert.Equal(HttpStatusCode.OK, s.Response.StatusCode));
        await dashboard.WaitForCommentsAsync(1, TimeSpan.FromSeconds(30));

        var revoked = await world.Http.DeleteAsync($"/api/devices/{laptop.DeviceId}");
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);

        await dashboard.WaitForEndAsync(TimeSpan.FromSeconds(20));
        await output.WaitForEndAsync(TimeSpan.FromSeconds(20));
        await terminal.WaitForEndAsync(TimeSpan.FromSeconds(20));
        await ApiAssert.ProblemAsync(await laptop.Http.GetAsync("/api/events"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        // The phone's own streams are untouched.
        await using var phone = await SseClient.ConnectAsync(world.Http, "/api/events");
        Assert.Equal(HttpStatusCode.OK, phone.Response.StatusCode);
        await world.Http.PostAsync($"/api/commands/{command.GetProperty("id").GetString()}/cancel", null);
        TempPaths.StopTmuxServer(world.Server.DataDirectory);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:7420")]
    [InlineData("localhost.evil.example")]
    public async Task AnyRequest_HostNotAllowed_MisdirectedAndNothingServed(string host)
    {
        await using var server = await TestServer.StartAsync();
        foreach (var path in new[] { "/api/health", "/", "/api/projects" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = host;
            await ApiAssert.ProblemAsync(await server.Anonymous.SendAsync(request), HttpStatusCode.MisdirectedRequest, "HOST_NOT_ALLOWED");
        }
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    public async Task Health_LoopbackHostNames_Served(string host)
    {
        await using var server = await TestServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/health");
        request.Headers.Host = host;
        Assert.Equal(HttpStatusCode.OK, (await server.Anonymous.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task CookieWrite_FromAnotherPortOfTheSameHost_RefusedAndNothingHappens()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var cookie = await CookieAsync(world.Server);
        var before = (await world.LedgerAsync("command.run")).Count;

        var fromOtherPort = Request(HttpMethod.Post, $"{world.Api}/commands", cookie, new { command = "touch pwned" });
        fromOtherPort.Headers.Add("Origin", "http://127.0.0.1:1");
        await ApiAssert.ProblemAsync(await world.Server.Anonymous.SendAsync(fromOtherPort), HttpStatusCode.Forbidden, "CROSS_SITE_REQUEST");

        var crossSite = Request(HttpMethod.Post, $"{world.Api}/terminal", cookie, null);
        crossSite.Headers.Add("Sec-Fetch-Site", "same-site");
        await ApiAssert.ProblemAsync(await world.Server.Anonymous.SendAsync(crossSite), HttpStatusCode.Forbidden, "CROSS_SITE_REQUEST");

        var noOrigin = Request(HttpMethod.Post, $"{world.Api}/commands", cookie, new { command = "touch pwned" });
        await ApiAssert.ProblemAsync(await world.Server.Anonymous.SendAsync(noOrigin), HttpStatusCode.Forbidden, "CROSS_SITE_REQUEST");

        // A read another port's page makes with the cookie (an image on a preview page): refused too, as listing pending
        // calls marks them delivered; what the owner opens themselves (Sec-Fetch-Site: none) is read.
        var readFromPreview = Request(HttpMethod.Get, "/api/approvals?status=pending", cookie, null);
        readFromPreview.Headers.Add("Sec-Fetch-Site", "same-site");
        await ApiAssert.ProblemAsync(await world.Server.Anonymous.SendAsync(readFromPreview), HttpStatusCode.Forbidden, "CROSS_SITE_REQUEST");
        var typed = Request(HttpMethod.Get, "/api/projects", cookie, null);
        typed.Headers.Add("Sec-Fetch-Site", "none");
        Assert.Equal(HttpStatusCode.OK, (await world.Server.Anonymous.SendAsync(typed)).StatusCode);

        Assert.False(File.Exists(Path.Combine(world.Repository, "pwned")));
        Assert.Equal(before, (await world.LedgerAsync("command.run")).Count);

        // The app itself (same origin) and reads are fine; bearer clients never need an Origin.
        var sameOrigin = Request(HttpMethod.Put, $"{world.Api}/files/content?path=ok.txt", cookie, null);
        sameOrigin.Content = new StringContent("ok");
        sameOrigin.Headers.Add("Origin", world.Server.BaseUrl.GetLeftPart(UriPartial.Authority));
        sameOrigin.Headers.Add("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.Created, (await world.Server.Anonymous.SendAsync(sameOrigin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await world.Server.Anonymous.SendAsync(Request(HttpMethod.Get, "/api/projects", cookie, null))).StatusCode);
        var bearer = await world.Http.PutAsync($"{world.Api}/files/content?path=bearer.txt", new StringContent("ok"));
        Assert.Equal(HttpStatusCode.Created, bearer.StatusCode);
    }

    private static async Task<string> CookieAsync(TestServer server)
    {
        var code = await server.PairingCodeAsync();
        var response = await server.Anonymous.PostAsJsonAsync("/api/pair", new { code, deviceName = "pwa" });
        return Assert.Single(response.Headers.GetValues("Set-Cookie")).Split(';')[0];
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string cookie, object? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", cookie);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }
}
