using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Realtime;

/// <summary>
/// A phone opens a session with its newest page (<c>GET /api/sessions/{id}/events/page</c>), pages back with each page's
/// <c>before</c>, and follows the stream from the first page's <c>lastSeq</c>: every event exactly once, whatever the
/// session's length (the lengths that matter, 500,000 events, are the bench's: docs/performance.md).
/// </summary>
public sealed class EventPageTests
{
    private const int Total = 1_050;

    [Fact]
    public async Task PagingBack_FromTheNewestPage_WalksTheWholeLogOnce_ThenTheStreamSendsOnlyWhatFollows()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var sessionId = CreateSession(server);
        var log = server.Services.GetRequiredService<EventLog>();
        var database = server.Services.GetRequiredService<Database>();
        var already = server.Services.GetRequiredService<PocketCoder.Sessions.SessionStore>().Get(sessionId).LastSeq;
        database.Write(write =>
        {
            for (var i = already + 1; i <= Total; i++)
            {
                log.Append(write, sessionId, new MessageEvent($"message {i}"));
            }
        });

        var first = await phone.Http.GetOkAsync($"/api/sessions/{sessionId}/events/page?limit=100");
        Assert.Equal(Total, first.GetProperty("lastSeq").GetInt64());
        var seen = new List<long>();
        var page = first;
        var pages = 0;
        while (true)
        {
            var seqs = page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(seqs.Order(), seqs);
            Assert.All(page.GetProperty("events").EnumerateArray(), e =>
                Assert.Equal(e.GetProperty("seq").GetInt64(), e.GetProperty("data").GetProperty("seq").GetInt64()));
            seen.InsertRange(0, seqs);
            pages++;
            if (page.GetProperty("before").ValueKind == JsonValueKind.Null)
            {
                break;
            }

            var before = page.GetProperty("before").GetInt64();
            Assert.Equal(seqs[0], before);
            page = await phone.Http.GetOkAsync($"/api/sessions/{sessionId}/events/page?limit=100&before={before}");
        }

        Assert.Equal(Enumerable.Range(1, Total).Select(i => (long)i), seen);
        Assert.Equal((Total + 99) / 100, pages);
        Assert.Equal($"message {Total}", first.GetProperty("events")[99].GetProperty("data").GetProperty("text").GetString());

        // Meanwhile the agent went on: the stream from the first page's lastSeq sends exactly what the page did not have.
        database.Write(write => log.Append(write, sessionId, new MessageEvent("after the page")));
        await using var stream = await SseClient.ConnectAsync(phone.Http,
            $"/api/sessions/{sessionId}/events?after={first.GetProperty("lastSeq").GetInt64().ToString(CultureInfo.InvariantCulture)}");
        var next = await stream.NextAsync();
        Assert.Equal(Total + 1, next.Id);
        Assert.Equal("after the page", next.Str("text"));
    }

    [Fact]
    public async Task Page_BadCursorOrLimit_IsAClearProblem_AndAnEmptySessionHasAnEmptyPage()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var sessionId = CreateSession(server);
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"/api/sessions/{sessionId}/events/page?before=abc"),
            HttpStatusCode.BadRequest, ErrorCodes.InvalidCursor);
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"/api/sessions/{sessionId}/events/page?before=0"),
            HttpStatusCode.BadRequest, ErrorCodes.InvalidCursor);
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"/api/sessions/{sessionId}/events/page?limit=0"),
            HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync($"/api/sessions/{sessionId}/events/page?limit={EventsApi.MaxPageSize + 1}"),
            HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/sessions/nope/events/page"), HttpStatusCode.NotFound, ErrorCodes.SessionNotFound);

        var page = await phone.Http.GetOkAsync($"/api/sessions/{sessionId}/events/page?before=1");
        Assert.Empty(page.GetProperty("events").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, page.GetProperty("before").ValueKind);
        Assert.Equal(0, page.GetProperty("lastSeq").GetInt64());
    }

    /// <summary>A session row without an agent: enough for the event log.</summary>
    private static string CreateSession(TestServer server)
    {
        var repository = TempPaths.NewDirectory("pc-pages");
        var project = server.Services.GetRequiredService<PocketCoder.Projects.ProjectStore>().Add(repository, "pages", PocketCoder.Auth.Actor.System);
        var sessions = server.Services.GetRequiredService<PocketCoder.Sessions.SessionStore>();
        return server.Services.GetRequiredService<Database>().Write(write => sessions.Create(write, project.Id, "claude-code", null, "ask", null)).Id;
    }
}
