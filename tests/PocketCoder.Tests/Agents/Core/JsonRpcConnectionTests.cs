using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>The shared JSON-RPC line protocol, two ends joined by in-memory pipes: no agent, no process.</summary>
[Trait("Category", "Unit")]
public sealed class JsonRpcConnectionTests
{
    [Fact]
    public async Task Request_IsAnsweredByThePeersHandler()
    {
        await using var pair = new Pair(
            onServerRequest: (server, id, method, parameters) => server.RespondAsync(id, JsonRpcReply.Success(
                new JsonObject { ["sum"] = parameters.GetProperty("a").GetInt32() + parameters.GetProperty("b").GetInt32(), ["method"] = method })));

        var answer = await pair.Client.RequestAsync("add", new JsonObject { ["a"] = 2, ["b"] = 3 }, Timeout());

        Assert.Equal(5, answer.GetProperty("sum").GetInt32());
        Assert.Equal("add", answer.GetProperty("method").GetString());
    }

    [Fact]
    public async Task ErrorAnswer_ThrowsWithCodeAndDetails()
    {
        await using var pair = new Pair(
            onServerRequest: (server, id, _, _) => server.RespondAsync(id, JsonRpcReply.Failure(-32000, "Authentication required",
                new JsonObject { ["details"] = "run login first" })));

        var error = await Assert.ThrowsAsync<JsonRpcException>(() => pair.Client.RequestAsync("session/new", null, Timeout()));

        Assert.Equal(-32000, error.Code);
        Assert.Equal("Authentication required (run login first)", error.Detail);
        Assert.Equal("session/new: Authentication required (run login first)", error.Message);
    }

    [Fact]
    public async Task OnAnswer_RunsOnTheReader_AfterTheNotificationsSentBeforeTheAnswer()
    {
        var seen = new List<string>();
        await using var pair = new Pair(
            onServerRequest: async (server, id, _, _) =>
            {
                await server.NotifyAsync("update", new JsonObject { ["n"] = 1 }, CancellationToken.None);
                await server.NotifyAsync("update", new JsonObject { ["n"] = 2 }, CancellationToken.None);
                await server.RespondAsync(id, JsonRpcReply.Success(new JsonObject { ["stopReason"] = "end_turn" }));
            },
            onClientNotification: (_, parameters) =>
            {
                lock (seen)
                {
                    seen.Add($"update {parameters.GetProperty("n").GetInt32()}");
                }

                return Task.CompletedTask;
            });

        await pair.Client.RequestAsync("session/prompt", null, Timeout(), (result, error) =>
        {
            lock (seen)
            {
                seen.Add($"answer {result?.GetProperty("stopReason").GetString()} {error is null}");
            }

            return Task.CompletedTask;
        });

        Assert.Equal(["update 1", "update 2", "answer end_turn True"], seen);
    }

    [Fact]
    public async Task Close_FailsWaitingRequestsAndLaterOnes()
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pair = new Pair(onServerRequest: (_, _, _, _) =>
        {
            // Never answered: the peer "dies" instead.
            asked.TrySetResult();
            return Task.CompletedTask;
        });

        var waiting = pair.Client.RequestAsync("turn/start", null, Timeout());
        await asked.Task.WaitAsync(Timeout());
        pair.Client.Close("the agent exited with code 1");

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => waiting);
        Assert.Equal("the agent exited with code 1", failure.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => pair.Client.RequestAsync("turn/start", null, Timeout()));
    }

    [Fact]
    public async Task StrayLinesAndUnknownAnswers_AreIgnored_AndTheConnectionGoesOn()
    {
        var requests = 0;
        await using var pair = new Pair(onServerRequest: (server, id, _, _) =>
        {
            Interlocked.Increment(ref requests);
            return server.RespondAsync(id, JsonRpcReply.Success(JsonValue.Create(true)));
        });

        await pair.Client.OnLineAsync("npm WARN something printed on stdout");
        await pair.Client.OnLineAsync("[1,2,3]");
        await pair.Client.OnLineAsync("""{"id":999,"result":{}}""");
        await pair.Client.OnLineAsync("""{"id":"not-ours","error":{"code":1,"message":"x"}}""");

        var answer = await pair.Client.RequestAsync("ping", null, Timeout());
        Assert.Equal(JsonValueKind.True, answer.ValueKind);
        Assert.Equal(1, requests);
    }

    [Fact]
    public async Task PeerRequestWithStringId_IsAnsweredWithTheSameId()
    {
        var written = new List<string>();
        JsonRpcConnection? connection = null;
        connection = new JsonRpcConnection((line, _) =>
        {
            written.Add(line);
            return Task.CompletedTask;
        }, stampVersion: true)
        {
            OnRequest = (id, _, _) => connection!.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.MethodNotFound, "no")),
        };

        await connection.OnLineAsync("""{"jsonrpc":"2.0","id":"abc","method":"terminal/create","params":{}}""");

        var answer = JsonNode.Parse(Assert.Single(written))!.AsObject();
        Assert.Equal("2.0", answer["jsonrpc"]!.GetValue<string>());
        Assert.Equal("abc", answer["id"]!.GetValue<string>());
        Assert.Equal(JsonRpcErrors.MethodNotFound, answer["error"]!["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task WithoutVersionStamp_MessagesOmitJsonRpcMember_AsCodexExpects()
    {
        var written = new List<string>();
        var connection = new JsonRpcConnection((line, _) =>
        {
            written.Add(line);
            return Task.CompletedTask;
        }, stampVersion: false);

        await connection.NotifyAsync("initialized", null, CancellationToken.None);

        Assert.Equal("""{"method":"initialized"}""", Assert.Single(written));
    }

    [Fact]
    public async Task AnsweringAPeerThatIsGone_DoesNotThrow()
    {
        var connection = new JsonRpcConnection((_, _) => throw new InvalidOperationException("The agent process has exited."), stampVersion: true);

        await connection.RespondAsync(JsonElement.Parse("7"), JsonRpcReply.Success(null));
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    /// <summary>Two connections joined by two in-memory pipes (channels, one reader each, like a process's stdout pump).</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly Channel<string> _toServer = Channel.CreateUnbounded<string>();
        private readonly Channel<string> _toClient = Channel.CreateUnbounded<string>();
        private readonly Task _serverPump;
        private readonly Task _clientPump;

        public Pair(
            Func<JsonRpcConnection, JsonElement, string, JsonElement, Task> onServerRequest,
            Func<string, JsonElement, Task>? onClientNotification = null)
        {
            JsonRpcConnection? server = null;
            server = new JsonRpcConnection(WriterOf(_toClient), stampVersion: true)
            {
                OnRequest = (id, method, parameters) => onServerRequest(server!, id.Clone(), method, parameters.Clone()),
            };
            Client = new JsonRpcConnection(WriterOf(_toServer), stampVersion: true)
            {
                OnNotification = onClientNotification ?? ((_, _) => Task.CompletedTask),
            };
            _serverPump = Pump(_toServer, server);
            _clientPump = Pump(_toClient, Client);
        }

        public JsonRpcConnection Client { get; }

        public async ValueTask DisposeAsync()
        {
            _toServer.Writer.TryComplete();
            _toClient.Writer.TryComplete();
            await Task.WhenAll(_serverPump, _clientPump);
        }

        private static Func<string, CancellationToken, Task> WriterOf(Channel<string> pipe) =>
            (line, ct) => pipe.Writer.WriteAsync(line, ct).AsTask();

        private static Task Pump(Channel<string> pipe, JsonRpcConnection reader) => Task.Run(async () =>
        {
            await foreach (var line in pipe.Reader.ReadAllAsync())
            {
                await reader.OnLineAsync(line);
            }
        });
    }
}
