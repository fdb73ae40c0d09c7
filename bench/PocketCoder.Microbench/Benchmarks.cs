using System.Text.Json;
using BenchmarkDotNet.Attributes;
using PocketCoder.Agents;
using PocketCoder.Agents.Claude;
using PocketCoder.Realtime;

namespace PocketCoder.Microbench;

/// <summary>What every event costs on its way out: building its JSON, then its SSE frame (once per subscriber).</summary>
[MemoryDiagnoser]
public class EventBenchmarks
{
    private readonly StoredEvent _delta = new(4211, "0b6c1d9e-5c7e-4f59-9d43-0d7b2f1c9a10", 4211, "message.delta",
        """{"sessionId":"0b6c1d9e-5c7e-4f59-9d43-0d7b2f1c9a10","seq":4211,"text":"Let me look at the failing test first."}""",
        "2026-01-01T00:00:00.0000000Z");

    [Benchmark(Description = "event JSON (message.delta payload)")]
    public string SerializeDelta() =>
        EventLog.Payload("0b6c1d9e-5c7e-4f59-9d43-0d7b2f1c9a10", 4211, new MessageDeltaEvent("Let me look at the failing test first."));

    [Benchmark(Description = "event JSON (tool.call with input)")]
    public string SerializeToolCall() =>
        EventLog.Payload("0b6c1d9e-5c7e-4f59-9d43-0d7b2f1c9a10", 4212,
            new ToolCallEvent("toolu_01ABC", "Bash", "execute", "npm test", ToolInput));

    private static readonly JsonElement ToolInput =
        JsonDocument.Parse("""{"command":"npm test -- --runInBand","description":"Run the tests"}""").RootElement.Clone();

    [Benchmark(Description = "SSE frame")]
    public byte[] Frame() => EventStream.Frame(_delta.Seq, _delta);
}

/// <summary>The Claude adapter's per-line work: parse one stream-json line and hand the event on.</summary>
[MemoryDiagnoser]
public class StreamJsonBenchmarks
{
    private const string TextDelta =
        """{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me look at the failing test first."}},"session_id":"0b6c1d9e","parent_tool_use_id":null,"uuid":"4f3c2a10-0000-4000-8000-000000000001"}""";

    private const string Assistant =
        """{"type":"assistant","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"I will run the tests."},{"type":"tool_use","id":"toolu_01ABC","name":"Bash","input":{"command":"npm test -- --runInBand","description":"Run the tests"}}],"stop_reason":null,"usage":{"input_tokens":1200,"output_tokens":45}},"parent_tool_use_id":null,"session_id":"0b6c1d9e","uuid":"4f3c2a10-0000-4000-8000-000000000002"}""";

    private readonly ClaudeCodeSession _session = new("0b6c1d9e", new NullSink());

    [Benchmark(Description = "stream-json text_delta line")]
    public Task ParseTextDelta() => _session.OnLineAsync(TextDelta);

    [Benchmark(Description = "stream-json assistant line with tool_use")]
    public Task ParseAssistant() => _session.OnLineAsync(Assistant);

    private sealed class NullSink : IAgentSink
    {
        public ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new PermissionDecision(true));
    }
}

/// <summary>One ledger entry's SHA-256 over its canonical text (every decision pays it once).</summary>
[MemoryDiagnoser]
public class LedgerBenchmarks
{
    private const string Detail = """{"decision":"allow_once","sessionId":"0b6c1d9e","deviceId":"d1","tool":"Bash","input":{"command":"npm test"},"updatedInput":null,"message":null}""";

    [Benchmark(Description = "ledger entry hash")]
    public string Hash() => Ledger.LedgerStore.ComputeHash(1234, "2026-01-01T00:00:00.0000000Z", "phone", "approval.decided", "a1b2c3", Detail, new string('0', 64));
}
