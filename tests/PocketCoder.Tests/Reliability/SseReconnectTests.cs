using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Data;
using PocketCoder.Realtime;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reliability;

public sealed class SseReconnectTests
{
    private const int Reconnects = 1000;

    /// <summary>
    /// A phone on a bad network: a thousand times it drops the stream at a random byte (often mid-event) and
    /// reconnects with Last-Event-ID, while the session keeps streaming. What it pieces together must be the
    /// server's log exactly: no gap, no duplicate, nothing reordered.
    /// </summary>
    [Fact]
    public async Task SessionStream_ThousandRandomDisconnects_ReassembledLogEqualsServerLog()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        // Never drain an abandoned response to reuse its connection: a dropped phone reads nothing more.
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", phone.Token);
        var (sessionId, directory) = CreateSession(server);
        var log = server.Services.GetRequiredService<EventLog>();
        var reconnects = 0;

        // The session streams for as long as the phone keeps reconnecting (bounded, in case the client stalls).
        var streaming = Task.Run(async () =>
        {
            for (var i = 0; i < 200_000 && Volatile.Read(ref reconnects) < Reconnects; i++)
            {
                log.Append(sessionId, new MessageDeltaEvent($"chunk {i} ✓"));
                if (i % 6 == 5)
                {
                    // About as fast as a model streams tokens; a faster writer only grows the catch-up work, not the coverage.
                    await Task.Delay(1);
                }
            }
        });

        var random = new Random(20240607);
        var reassembled = new List<(long Id, string Data)>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        for (; reconnects < Reconnects; Interlocked.Increment(ref reconnects))
        {
            // Often nothing past the headers, often a cut inside a frame, sometimes several whole frames.
            var budget = random.Next(4) == 0 ? 0 : random.Next(1, 2000);
            reassembled.AddRange(await ReadSomeAsync(http, sessionId, reassembled.Count == 0 ? null : reassembled[^1].Id, budget, deadline.Token));
        }

        await streaming;
        var last = server.Services.GetRequiredService<PocketCoder.Sessions.SessionStore>().Get(sessionId).LastSeq;
        while (reassembled.Count == 0 || reassembled[^1].Id < last)
        {
            reassembled.AddRange(await ReadSomeAsync(http, sessionId, reassembled.Count == 0 ? null : reassembled[^1].Id, 256 * 1024, deadline.Token));
        }

        var stored = log.ReadSession(sessionId, 0, int.MaxValue);
        Assert.True(stored.Count > 100, $"The session streamed only {stored.Count} events during the reconnects.");
        Assert.Equal(stored.Select(e => e.Seq), reassembled.Select(e => e.Id));
        Assert.Equal(stored.Select(e => e.Data), reassembled.Select(e => e.Data));
        TempPaths.Delete(directory);
    }

    /// <summary>Connects, reads exactly <paramref name="budget"/> bytes, drops the connection, and keeps only whole events.</summary>
    private static async Task<List<(long Id, string Data)>> ReadSomeAsync(HttpClient http, string sessionId, long? lastEventId, int budget, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events");
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
        }

        var bytes = new MemoryStream();
        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken))
        {
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[4096];
            while (bytes.Length < budget)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                idle.CancelAfter(TimeSpan.FromMilliseconds(500));
                int read;
                try
                {
                    read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, budget - bytes.Length)), idle.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break; // Nothing new for now: the stream is caught up.
                }

                if (read == 0)
                {
                    break;
                }

                bytes.Write(buffer, 0, read);
            }
        } // Disposing mid-stream aborts the connection, as a phone losing signal would.

        // Like EventSource: an event counts only once its blank line has arrived.
        var text = Encoding.UTF8.GetString(bytes.ToArray());
        var complete = text.LastIndexOf("\n\n", StringComparison.Ordinal);
        var events = new List<(long, string)>();
        if (complete < 0)
        {
            return events;
        }

        foreach (var block in text[..complete].Split("\n\n"))
        {
            long? eventId = null;
            string? data = null;
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    eventId = long.Parse(line[4..], CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line[6..];
                }
            }

            if (eventId is { } e && data is not null)
            {
                events.Add((e, data));
            }
        }

        return events;
    }

    private static (string SessionId, string Directory) CreateSession(TestServer server)
    {
        var directory = TempPaths.NewDirectory("pc-reconnect");
        var project = server.Services.GetRequiredService<PocketCoder.Projects.ProjectStore>().Add(directory, "reconnect", PocketCoder.Auth.Actor.System);
        var sessions = server.Services.GetRequiredService<PocketCoder.Sessions.SessionStore>();
        return (server.Services.GetRequiredService<Database>().Write(write => sessions.Create(write, project.Id, "claude-code", null, "ask", null)).Id, directory);
    }
}
