using System.Reflection;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Realtime;

namespace PocketCoder.Tests.Realtime;

/// <summary>The typed event catalogue: complete, unambiguous, and the wire shape clients already read.</summary>
[Trait("Category", "Unit")]
public sealed class EventCatalogueTests
{
    private static readonly Type[] Events = [.. typeof(ISessionEvent).Assembly.GetTypes()
        .Where(t => t.IsClass && !t.IsAbstract && typeof(ISessionEvent).IsAssignableFrom(t))];

    [Fact]
    public void EveryEvent_HasSourceGeneratedSerialization_AndAUniqueKind()
    {
        Assert.NotEmpty(Events);
        foreach (var type in Events)
        {
            Assert.True(SessionEventJson.Default.GetTypeInfo(type) is not null, $"{type.Name} is missing from SessionEventJson.");
        }

        var kinds = Events.Select(KindOf).ToList();
        Assert.Equal(kinds.Count, kinds.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("approval.requested", kinds);
    }

    [Fact]
    public void TheCatalogue_NamesEveryEventRecord()
    {
        // The catalogue is written out (the native binary has no assembly to scan): a record left off it would be missing
        // from the OpenAPI document and from `pocketcoder watch`.
        Assert.Equal(Events.Select(t => t.FullName).Order(StringComparer.Ordinal),
            SessionEventCatalogue.All.Select(e => e.Type.FullName).Order(StringComparer.Ordinal));
        Assert.All(SessionEventCatalogue.All, e => Assert.Equal(KindOf(e.Type), e.Kind));
    }

    [Fact]
    public void NoKind_IsAnEventNameTheBrowserGivesAMeaningOfItsOwn()
    {
        // An EventSource dispatches a frame named "error" as its connection failure and "open" as its connection: a
        // client that reconnects on "error" would replay the same event for ever.
        Assert.DoesNotContain(SessionEventCatalogue.All, e => e.Kind is "error" or "open");
    }

    [Fact]
    public void EveryKind_HasOneSample_ThePhoneIsShownInTheBrowserTest()
    {
        // Some kinds come more than once, as a session has them (a subagent's calls under its own).
        Assert.Equal(SessionEventCatalogue.All.Select(e => e.Kind).Order(StringComparer.Ordinal),
            EventSamples.All.Select(s => s.Kind).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Payload_SessionAndSeqFirst_ThenTheEventsFieldsInCamelCase()
    {
        var input = JsonDocument.Parse("""{"command":"ls"}""").RootElement.Clone();
        var payload = EventLog.Payload("s1", 7, new ToolCallEvent("t1", "Bash", ToolKind.Execute.ToWire(), "ls", input));
        Assert.Equal("""{"sessionId":"s1","seq":7,"toolCallId":"t1","tool":"Bash","kind":"execute","title":"ls","input":{"command":"ls"}}""", payload);
    }

    [Fact]
    public void Payload_ErrorEvent_OptionalFieldsOnlyWhenSet()
    {
        Assert.Equal("""{"sessionId":"s1","seq":1,"message":"boom"}""", EventLog.Payload("s1", 1, new ErrorEvent("boom")));
        Assert.Equal("""{"sessionId":"s1","seq":2,"message":"quiet","code":"AGENT_STALLED","silentSeconds":180}""",
            EventLog.Payload("s1", 2, new ErrorEvent("quiet") { Code = "AGENT_STALLED", SilentSeconds = 180 }));
    }

    [Fact]
    public void Payload_NullFieldsAreSent_AndTextEscapedByteForByteAsTheUntypedPayloadsWere()
    {
        // Stored events from before the catalogue and new ones must read the same to a client.
        const string text = "<b>\"hi\"</b> ✓ é";
        var before = new System.Text.Json.Nodes.JsonObject { ["sessionId"] = "s1", ["seq"] = 3L, ["text"] = text, ["sentBy"] = null }.ToJsonString();
        Assert.Equal(before, EventLog.Payload("s1", 3, new UserMessageEvent(text, null)));
    }

    private static string KindOf(Type type) =>
        (string)type.GetProperty(nameof(ISessionEvent.Kind), BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
}
