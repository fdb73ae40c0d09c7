using System.Text.Json;
using System.Text.Json.Serialization;

namespace PocketCoder.Hub;

/// <summary>
/// The tunnel between a machine and the hub. The machine keeps one WebSocket open to <see cref="ConnectPath"/>; when a
/// phone arrives the hub sends <c>open</c> there, and the machine dials back a fresh WebSocket to
/// <see cref="StreamPath"/> that carries that one phone connection's bytes, still TLS-encrypted end to end.
/// </summary>
/// <remarks>
/// A dial-back per phone connection rather than streams multiplexed on the control link: each phone connection gets
/// TCP's own flow control, a slow phone cannot stall the others behind it, and there is no multiplexing protocol to get
/// wrong. The cost is one round trip when a phone connects, which keep-alive makes rare.
/// </remarks>
public static class HubProtocol
{
    public const string ConnectPath = "/hub/v1/connect";
    public const string StreamPath = "/hub/v1/streams/";

    /// <summary>WebSocket pings this often, and a link silent this much longer is dead: within 15 s in all.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Why the hub refused a machine's link or dial-back, in words for the machine's log and `hub join` (ASCII).</summary>
    public const string RefusalHeader = "PocketCoder-Refusal";

    /// <summary>
    /// The longest a link can last once the other side has fallen silent: .NET's keep-alive pings
    /// <paramref name="interval"/> after the last byte received and ends the link <paramref name="timeout"/> after a ping
    /// with no answer, checking both on a heartbeat of a quarter of the shorter, so each is seen up to a tick late (and a
    /// tick to spare). A link still up this long after some moment has heard from its machine since then.
    /// </summary>
    public static TimeSpan SilentLinkEndsWithin(TimeSpan interval, TimeSpan timeout) =>
        interval + timeout + (TimeSpan.FromTicks(Math.Min(interval.Ticks, timeout.Ticks)) * 0.75);

    /// <summary>
    /// The label before a machine's name that names its preview origin: <c>preview.m1.hub.example.com</c> is m1's previews
    /// (docs/reach.md, "Previews"). A name of its own, so the browser keeps the preview's cookies, storage and script apart
    /// from the app's; routed to the same machine by SNI like its app name, and TLS still ends on the machine.
    /// </summary>
    public const string PreviewLabel = "preview";

    /// <summary>The preview origin's host for a machine's host on the hub (<c>m1.hub.example.com</c> → <c>preview.m1.hub.example.com</c>).</summary>
    public static string PreviewHost(string machineHost) => $"{PreviewLabel}.{machineHost}";

    /// <summary>
    /// The machine a name under the hub's domain routes to: <c>m1</c> for <c>m1</c> and for <c>preview.m1</c> (the part before
    /// the domain); null for anything else (deeper names, other labels), which the hub refuses as unknown.
    /// </summary>
    public static string? MachineOf(string label)
    {
        var machine = label.StartsWith(PreviewLabel + ".", StringComparison.Ordinal) ? label[(PreviewLabel.Length + 1)..] : label;
        return machine.Contains('.', StringComparison.Ordinal) ? null : machine;
    }

    /// <summary>Control messages are small; a larger one ends the link.</summary>
    public const int MaxControlMessageBytes = 4096;

    /// <summary>host:port and nothing else (no scheme, path or user): the form of an instance's address.</summary>
    public static bool IsDialAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0 && address.Length < 300
            && int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is > 0 and < 65536
            && Uri.CheckHostName(address[..colon].Trim('[', ']')) is UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6;
    }
}

/// <summary>
/// A control message from the hub: <c>welcome</c> (with the machine's public URL and, from a cluster, the addresses of
/// its instances) once the link is up, <c>open</c> (a stream id and the phone's address) for each phone connection.
/// An <c>open</c> for a phone held by another instance of the cluster names the address to dial back to
/// (<see cref="Dial"/>, host:port); the connection is made there but TLS still checks the hub's own name.
/// </summary>
public sealed record HubMessage(
    string Type, string? PublicUrl = null, string? Stream = null, string? Remote = null, string? Dial = null, string[]? Instances = null)
{
    public const string Welcome = "welcome";
    public const string Open = "open";
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HubMessage))]
public sealed partial class HubJson : JsonSerializerContext;
