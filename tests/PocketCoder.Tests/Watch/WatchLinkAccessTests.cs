using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Watch;

/// <summary>
/// A watch link lends its maker's right to share the session: once she may no longer share it (revoked, her device revoked,
/// or no longer an owner) the link ends as if she had revoked it, its open streams cut and its cookies refused. An outside
/// check found a co-owner's 720-hour link still streaming after she was revoked.
/// </summary>
public sealed class WatchLinkAccessTests
{
    public static TheoryData<string> Losses => new() { "person revoked", "device revoked", "demoted" };

    [Theory]
    [MemberData(nameof(Losses))]
    public async Task ALinkACoOwnerMade_EndsWhenSheMayNoLongerShare(string loss)
    {
        await using var server = await TestServer.StartAsync(fakeAgent: new FakeAgent());
        var owner = await server.PairAsync("owner's phone");
        var ana = await server.PairPersonAsync("Ana", Role.Owner);
        var repository = TempPaths.NewGitRepository();
        try
        {
            var session = await SessionAsync(owner, repository);
            var kept = await owner.Http.PostOkAsync($"/api/sessions/{session}/watch-links", new { expiresInHours = 720 });
            var made = await ana.Http.PostOkAsync($"/api/sessions/{session}/watch-links", new { expiresInHours = 720 });
            var (anasCookie, ownersCookie) = (await OpenAsync(server, made), await OpenAsync(server, kept));
            using var watcher = Watcher(server, anasCookie);
            await using var stream = await SseClient.ConnectAsync(watcher, $"/api/sessions/{session}/events");
            await stream.NextAsync();

            var anaId = (await ana.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString()!;
            var lost = loss switch
            {
                "person revoked" => await owner.Http.DeleteAsync($"/api/people/{anaId}"),
                "device revoked" => await owner.Http.DeleteAsync($"/api/devices/{ana.DeviceId}"),
                _ => await owner.Http.PatchAsJsonAsync($"/api/people/{anaId}", new { role = "operator" }),
            };
            Assert.True(lost.IsSuccessStatusCode, $"{loss}: {(int)lost.StatusCode}");

            await stream.WaitForEndAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.Unauthorized, (await watcher.GetAsync($"/api/sessions/{session}/events/page")).StatusCode);
            using var ownersWatcher = Watcher(server, ownersCookie);
            Assert.Equal(HttpStatusCode.OK, (await ownersWatcher.GetAsync($"/api/sessions/{session}/events/page")).StatusCode);
            var links = (await owner.Http.GetOkAsync("/api/watch-links")).EnumerateArray().Select(l => l.GetProperty("id").GetString()).ToList();
            Assert.Equal([kept.GetProperty("link").GetProperty("id").GetString()], links);
            var revoked = (await owner.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()
                .Where(e => e.GetProperty("action").GetString() == "watch.revoked").ToList();
            Assert.Equal("system", Assert.Single(revoked).GetProperty("actor").GetString());
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Fact]
    public async Task ALinkWhoseMakerWasRevokedUnheard_OpensNothingAndServesNothing()
    {
        await using var server = await TestServer.StartAsync(fakeAgent: new FakeAgent());
        var owner = await server.PairAsync("owner's phone");
        var ana = await server.PairPersonAsync("Ana", Role.Owner);
        var repository = TempPaths.NewGitRepository();
        try
        {
            var session = await SessionAsync(owner, repository);
            var made = await ana.Http.PostOkAsync($"/api/sessions/{session}/watch-links", new { expiresInHours = 720 });
            using var watcher = Watcher(server, await OpenAsync(server, made));
            Assert.Equal(HttpStatusCode.OK, (await watcher.GetAsync($"/api/sessions/{session}/events/page")).StatusCode);

            // Her device revoked with nobody told (the server stopped between the write and its event): the link still
            // reads live in its own table, and must serve nothing all the same.
            server.Services.GetRequiredService<PocketCoder.Data.Database>().Write(write =>
                write.Execute("UPDATE devices SET revoked_at = $now WHERE id = $id", ("$now", DateTimeOffset.UtcNow.ToDb()), ("$id", ana.DeviceId)));
            Assert.Equal(HttpStatusCode.Unauthorized, (await watcher.GetAsync($"/api/sessions/{session}/events/page")).StatusCode);
            using var anonymous = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUrl };
            var reopened = await anonymous.PostAsJsonAsync("/api/watch/open", new { token = made.GetProperty("url").GetString()!["/watch#".Length..] });
            Assert.False(reopened.IsSuccessStatusCode, $"the link opened again: {(int)reopened.StatusCode}");
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    /// <summary>A session of the owner's in a project of <paramref name="repository"/>, which both owners may share.</summary>
    private static async Task<string> SessionAsync(PairedClient owner, string repository)
    {
        var project = (await owner.Http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString();
        return (await owner.Http.PostOkAsync($"/api/projects/{project}/sessions", new { agent = FakeAgent.AgentId, prompt = "hello" }))
            .GetProperty("id").GetString()!;
    }

    private static async Task<string> OpenAsync(TestServer server, JsonElement made)
    {
        using var anonymous = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUrl };
        var token = made.GetProperty("url").GetString()!["/watch#".Length..];
        var opened = await anonymous.PostAsJsonAsync("/api/watch/open", new { token });
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        return opened.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
    }

    private static HttpClient Watcher(TestServer server, string cookie)
    {
        var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("Cookie", cookie);
        http.DefaultRequestHeaders.Add("Sec-Fetch-Site", "same-origin");
        return http;
    }
}
