using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using PocketCoder.Auth;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>
/// Which web origins may call a machine's API from a browser (one inbox across machines): the app origins of its live
/// devices, and for the pairing endpoint anyone (the one-time code is the authority). The decision is pure; the last test
/// walks it over HTTP with a real pairing and a revocation.
/// </summary>
public sealed class CrossOriginTests
{
    private const string Host = "127.0.0.1:7420";
    private const string Paired = "http://127.0.0.1:7000";
    private const string Revoked = "http://127.0.0.1:7001";

    private static bool Live(string origin) => origin == Paired;

    [Theory]
    [Trait("Category", "Unit")]
    // No Origin, or this machine's own app: no CORS at all.
    [InlineData(null, "/api/sessions", false, null, CrossOriginVerdict.NotCrossOrigin)]
    [InlineData("http://127.0.0.1:7420", "/api/sessions", false, null, CrossOriginVerdict.NotCrossOrigin)]
    // The app origin of a live device: its preflights are answered and its answers readable.
    [InlineData(Paired, "/api/sessions", true, "GET", CrossOriginVerdict.PreflightAllowed)]
    [InlineData(Paired, "/api/approvals/a1/decision", true, "POST", CrossOriginVerdict.PreflightAllowed)]
    [InlineData(Paired, "/api/sessions", false, null, CrossOriginVerdict.Allowed)]
    // A revoked device's origin and an unknown one: nothing, not even for reading.
    [InlineData(Revoked, "/api/sessions", true, "GET", CrossOriginVerdict.PreflightRefused)]
    [InlineData(Revoked, "/api/sessions", false, null, CrossOriginVerdict.Unreadable)]
    [InlineData("https://evil.example", "/api/events", true, "GET", CrossOriginVerdict.PreflightRefused)]
    [InlineData("https://evil.example", "/api/health", false, null, CrossOriginVerdict.Unreadable)]
    // A sandboxed frame's or a file's "null", and a paired origin spelled another way, are not the paired origin.
    [InlineData("null", "/api/sessions", true, "GET", CrossOriginVerdict.PreflightRefused)]
    [InlineData("http://127.0.0.1:7000/", "/api/sessions", true, "GET", CrossOriginVerdict.PreflightRefused)]
    // Pairing: any origin may POST a code (a page with none gets a 401), and nothing else there.
    [InlineData("https://evil.example", "/api/pair", true, "POST", CrossOriginVerdict.PreflightAllowed)]
    [InlineData("https://evil.example", "/api/pair", false, null, CrossOriginVerdict.Allowed)]
    [InlineData("https://evil.example", "/api/pair", true, "DELETE", CrossOriginVerdict.PreflightRefused)]
    [InlineData("https://evil.example", "/api/pairings", true, "POST", CrossOriginVerdict.PreflightRefused)]
    public void Decide_Matrix(string? origin, string path, bool preflight, string? method, CrossOriginVerdict expected) =>
        Assert.Equal(expected, CrossOrigin.Decide(origin, Host, new PathString(path), preflight, method, Live));

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("https://a.example", "https://a.example")]
    [InlineData("HTTPS://A.Example:443", "https://a.example")]
    [InlineData("http://127.0.0.1:5173", "http://127.0.0.1:5173")]
    [InlineData("null", null)]
    [InlineData("file:///home/x/index.html", null)]
    [InlineData("https://a.example/app", null)]
    [InlineData("https://user@a.example", null)]
    [InlineData("chrome-extension://abc", null)]
    public void Normalize_OnlyHttpOrigins(string origin, string? expected) => Assert.Equal(expected, CrossOrigin.Normalize(origin));

    [Fact]
    public async Task PairFromAnotherApp_ThatOriginMayCall_UntilItsDeviceIsRevoked()
    {
        await using var server = await TestServer.StartAsync();
        const string app = "http://127.0.0.1:9";

        // A page holding no code: the pairing's preflight passes, the pairing itself is a 401 it may read, and nothing more.
        using (var preflight = await SendAsync(server, HttpMethod.Options, "/api/pair", app, preflightMethod: "POST"))
        {
            Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
            Assert.Equal(app, preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.False(preflight.Headers.Contains("Access-Control-Allow-Credentials"));
        }

        await ApiAssert.ProblemAsync(await SendAsync(server, HttpMethod.Post, "/api/pair", app, body: new { code = "WRONG-CODE", deviceName = "x" }),
            HttpStatusCode.Unauthorized, "PAIRING_CODE_INVALID");
        await ApiAssert.ProblemAsync(await SendAsync(server, HttpMethod.Options, "/api/sessions", app, preflightMethod: "GET"),
            HttpStatusCode.Forbidden, "ORIGIN_NOT_PAIRED");

        // Paired from that origin with a code: the token comes in the body, no cookie is set, the origin is recorded.
        using var paired = await SendAsync(server, HttpMethod.Post, "/api/pair", app, body: new { code = await server.PairingCodeAsync(), deviceName = "phone via A" });
        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
        Assert.False(paired.Headers.Contains("Set-Cookie"));
        var answer = await paired.Content.ReadFromJsonAsync<JsonElement>();
        var token = answer.GetProperty("token").GetString()!;
        var deviceId = answer.GetProperty("deviceId").GetString()!;

        using (var preflight = await SendAsync(server, HttpMethod.Options, "/api/sessions", app, preflightMethod: "GET"))
        {
            Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
            Assert.Contains("Authorization", preflight.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
        }

        using (var sessions = await SendAsync(server, HttpMethod.Get, "/api/sessions", app, token: token))
        {
            Assert.Equal(HttpStatusCode.OK, sessions.StatusCode);
            Assert.Equal(app, sessions.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }

        // Another origin with the same token is not let read (its preflight already fails in a browser).
        using (var other = await SendAsync(server, HttpMethod.Options, "/api/sessions", "http://127.0.0.1:10", preflightMethod: "GET"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
            Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
        }

        var owner = await server.PairAsync("owner's laptop");
        var devices = await owner.Http.GetFromJsonAsync<JsonElement>("/api/devices");
        Assert.Equal(app, devices.EnumerateArray().Single(d => d.GetProperty("id").GetString() == deviceId).GetProperty("appOrigin").GetString());

        // Revoked: that origin's preflights fail again, and its token is dead.
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Http.DeleteAsync($"/api/devices/{deviceId}")).StatusCode);
        await ApiAssert.ProblemAsync(await SendAsync(server, HttpMethod.Options, "/api/sessions", app, preflightMethod: "GET"),
            HttpStatusCode.Forbidden, "ORIGIN_NOT_PAIRED");
        await ApiAssert.ProblemAsync(await SendAsync(server, HttpMethod.Get, "/api/sessions", app, token: token), HttpStatusCode.Unauthorized, "UNAUTHORIZED");

        // An origin that is no http(s) app (a sandboxed frame's "null") cannot pair from afar at all.
        await ApiAssert.ProblemAsync(await SendAsync(server, HttpMethod.Post, "/api/pair", "null", body: new { code = await server.PairingCodeAsync(), deviceName = "frame" }),
            HttpStatusCode.BadRequest, "ORIGIN_INVALID");
    }

    private static async Task<HttpResponseMessage> SendAsync(TestServer server, HttpMethod method, string path, string origin,
        string? preflightMethod = null, object? body = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Origin", origin);
        if (preflightMethod is not null)
        {
            request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", preflightMethod);
            request.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "authorization");
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await server.Anonymous.SendAsync(request);
    }
}
