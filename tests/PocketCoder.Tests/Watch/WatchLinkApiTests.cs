using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using PocketCoder.Auth;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Watch;

/// <summary>
/// A link to watch one session over HTTP (issue #55): owners make it; its token, posted, gives a cookie that reaches the
/// session's read routes and nothing else of the whole API (every route of the OpenAPI document tried, for its own session
/// and another: 403 <c>WATCH_FORBIDDEN</c>), no decision; revoked, the cookie is refused at once.
/// </summary>
public sealed partial class WatchLinkApiTests
{
    [Fact]
    public async Task AWatchCookie_ReachesItsSessionsReadRoutes_AndNothingElse_UntilRevoked()
    {
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                if (prompt.Text.Contains("deploy", StringComparison.Ordinal))
                {
                    await session.AskToRunAsync("make deploy");
                }

                await FakeAgent.Echo(session, prompt);
            },
        };
        await using var server = await TestServer.StartAsync(liveApiDocument: true, fakeAgent: fake);
        var owner = await server.PairAsync("owner's phone");
        var olu = await server.PairPersonAsync("Olu", Role.Operator);
        var repository = TempPaths.NewGitRepository();
        try
        {
            var project = (await owner.Http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString();
            await using var events = await SseClient.ConnectAsync(owner.Http, "/api/events?tail=true", null);
            var watched = (await owner.Http.PostOkAsync($"/api/projects/{project}/sessions", new { agent = FakeAgent.AgentId, prompt = "deploy" })).GetProperty("id").GetString()!;
            var asked = await events.WaitForAsync("approval.requested");
            var other = (await owner.Http.PostOkAsync($"/api/projects/{project}/sessions", new { agent = FakeAgent.AgentId, prompt = "hello" })).GetProperty("id").GetString()!;

            await ApiAssert.ProblemAsync(await olu.Http.PostAsJsonAsync($"/api/sessions/{watched}/watch-links", new { }), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
            await ApiAssert.ProblemAsync(await owner.Http.PostAsJsonAsync($"/api/sessions/{watched}/watch-links", new { expiresInHours = 0 }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
            var made = await owner.Http.PostOkAsync($"/api/sessions/{watched}/watch-links", new { });
            var url = made.GetProperty("url").GetString()!;
            Assert.StartsWith("/watch#", url, StringComparison.Ordinal);
            var token = url["/watch#".Length..];

            using var anonymous = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUrl };
            await ApiAssert.ProblemAsync(await anonymous.PostAsJsonAsync("/api/watch/open", new { token = token + "x" }), HttpStatusCode.Forbidden, "WATCH_LINK_INVALID");
            var opened = await anonymous.PostAsJsonAsync("/api/watch/open", new { token });
            Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
            var setCookie = Assert.Single(opened.Headers.GetValues("Set-Cookie"));
            Assert.Matches("^pocketcoder_watch=[A-Za-z0-9_-]+; Path=/; Max-Age=86[34][0-9]{2}; HttpOnly; SameSite=Strict$", setCookie);
            var cookie = setCookie.Split(';')[0];
            Assert.Equal(watched, (await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessionId").GetString());

            var failures = await EveryRouteAsync(server, owner, anonymous, cookie, watched, other);
            Assert.True(failures.Count == 0, "A watcher reached or was refused wrongly:\n" + string.Join("\n", failures));
            // The waiting call is not theirs to decide, by any door.
            var decide = Request(HttpMethod.Post, $"/api/approvals/{asked.Str("approvalId")}/decision", cookie, "{\"decision\":\"allow_once\"}");
            await ApiAssert.ProblemAsync(await anonymous.SendAsync(decide), HttpStatusCode.Forbidden, "WATCH_FORBIDDEN");

            var listed = Assert.Single((await owner.Http.GetOkAsync("/api/watch-links")).EnumerateArray());
            Assert.Single(listed.GetProperty("openings").EnumerateArray());
            Assert.Empty((await olu.Http.GetOkAsync("/api/watch-links")).EnumerateArray());

            Assert.Equal(HttpStatusCode.NoContent, (await owner.Http.DeleteAsync($"/api/watch-links/{listed.GetProperty("id").GetString()}")).StatusCode);
            var after = await anonymous.SendAsync(Request(HttpMethod.Get, $"/api/sessions/{watched}/events/page", cookie));
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
            await ApiAssert.ProblemAsync(await anonymous.PostAsJsonAsync("/api/watch/open", new { token }), HttpStatusCode.Forbidden, "WATCH_LINK_INVALID");
            var ledger = (await owner.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()
                .Select(e => e.GetProperty("action").GetString()).Where(a => a!.StartsWith("watch.", StringComparison.Ordinal));
            Assert.Equal(["watch.created", "watch.opened", "watch.revoked"], ledger);
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    /// <summary>Every operation of the API document as the watcher, on its own session and on another: what fails the rule.</summary>
    private static async Task<List<string>> EveryRouteAsync(TestServer server, PairedClient owner, HttpClient http, string cookie, string watched, string other)
    {
        var document = await owner.Http.GetOkAsync("/openapi/v1.json");
        var failures = new List<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var id = operation.Value.GetProperty("operationId").GetString()!;
                // Routes that take no device token: a watch cookie is nothing to them either (a relay takes only its secret).
                if (id is "Health" or "Pair" or "OpenWatchLink" or "RelayPush")
                {
                    continue;
                }

                foreach (var session in new[] { watched, other })
                {
                    var url = Parameter().Replace(path.Name, m => m.Value switch { "{id}" => session, "{turn}" => "1", _ => "nothing" });
                    using var response = await http.SendAsync(
                        Request(new HttpMethod(operation.Name.ToUpperInvariant()), url, cookie, operation.Name is "post" or "put" or "patch" ? "{}" : null),
                        HttpCompletionOption.ResponseHeadersRead);
                    var code = response.StatusCode == HttpStatusCode.Forbidden
                        ? JsonElement.Parse(await response.Content.ReadAsStringAsync()).GetProperty("code").GetString() : null;
                    var may = RouteAccess.WatcherMay(id, path.Name.Contains("{id}", StringComparison.Ordinal) ? session : null, watched);
                    if (may ? code is not null || response.StatusCode == HttpStatusCode.Unauthorized : code != "WATCH_FORBIDDEN")
                    {
                        failures.Add($"{operation.Name.ToUpperInvariant()} {url} ({id}): {(int)response.StatusCode} {code}, expected {(may ? "to be let through" : "403 WATCH_FORBIDDEN")}");
                    }
                }
            }
        }

        Assert.True(document.GetProperty("paths").EnumerateObject().Count() >= 100);
        _ = server;
        return failures;
    }

    private static HttpRequestMessage Request(HttpMethod method, string url, string cookie, string? body = null)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Cookie", cookie);
        // As the watch page's own requests come: same origin.
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return request;
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
