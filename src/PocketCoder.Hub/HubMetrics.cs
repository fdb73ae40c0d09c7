using System.Text;

namespace PocketCoder.Hub;

/// <summary>Counters of what the hub carried, in the Prometheus text format: bytes and streams, never content or names.</summary>
public sealed class HubMetrics
{
    private long _machinesConnected;
    private long _unauthenticated;
    private long _streamsOpen;
    private long _streamsTotal;
    private long _bytesToMachines;
    private long _bytesToPhones;
    private readonly long[] _refused = new long[Enum.GetValues<Refusal>().Length];

    public long MachinesConnected => Interlocked.Read(ref _machinesConnected);

    /// <summary>Connections held now that have proved nothing yet (see <see cref="HubOptions.MaxUnauthenticatedConnections"/>).</summary>
    public long Unauthenticated => Interlocked.Read(ref _unauthenticated);

    public long StreamsOpen => Interlocked.Read(ref _streamsOpen);

    public long StreamsTotal => Interlocked.Read(ref _streamsTotal);

    public long BytesToMachines => Interlocked.Read(ref _bytesToMachines);

    public long BytesToPhones => Interlocked.Read(ref _bytesToPhones);

    internal long Refusals(Refusal why) => Interlocked.Read(ref _refused[(int)why]);

    internal void MachineConnected(int delta) => Interlocked.Add(ref _machinesConnected, delta);

    internal void UnauthenticatedChanged(int delta) => Interlocked.Add(ref _unauthenticated, delta);

    internal void StreamOpened()
    {
        Interlocked.Increment(ref _streamsOpen);
        Interlocked.Increment(ref _streamsTotal);
    }

    internal void StreamClosed() => Interlocked.Decrement(ref _streamsOpen);

    internal void ToMachine(int bytes) => Interlocked.Add(ref _bytesToMachines, bytes);

    internal void ToPhone(int bytes) => Interlocked.Add(ref _bytesToPhones, bytes);

    internal void Refused(Refusal why) => Interlocked.Increment(ref _refused[(int)why]);

    public string ToText()
    {
        var text = new StringBuilder();
        Line(text, "pocketcoder_hub_machines_connected", "gauge", MachinesConnected);
        Line(text, "pocketcoder_hub_connections_unauthenticated", "gauge", Unauthenticated);
        Line(text, "pocketcoder_hub_streams_open", "gauge", StreamsOpen);
        Line(text, "pocketcoder_hub_streams_total", "counter", StreamsTotal);
        Line(text, "pocketcoder_hub_bytes_to_machines_total", "counter", BytesToMachines);
        Line(text, "pocketcoder_hub_bytes_to_phones_total", "counter", BytesToPhones);
        text.Append("# TYPE pocketcoder_hub_refused_total counter\n");
        foreach (var why in Enum.GetValues<Refusal>())
        {
            text.Append($"pocketcoder_hub_refused_total{{reason=\"{Label(why)}\"}} {Refusals(why)}\n");
        }

        return text.ToString();
    }

    private static string Label(Refusal why) => why switch
    {
        Refusal.Hello => "hello",
        Refusal.UnknownName => "unknown_name",
        Refusal.Offline => "offline",
        Refusal.DialBackTimeout => "dial_back_timeout",
        Refusal.OverallLimit => "overall_limit",
        Refusal.SignInTimeout => "sign_in_timeout",
        Refusal.SecondLink => "second_link",
        _ => "limit",
    };

    private static void Line(StringBuilder text, string name, string type, long value) =>
        text.Append($"# TYPE {name} {type}\n{name} {value}\n");
}

internal enum Refusal
{
    Hello,
    UnknownName,
    Offline,
    DialBackTimeout,

    /// <summary>Past a cap: connections from one address, or streams to one machine.</summary>
    Limit,

    /// <summary>The oldest connection that had proved nothing, closed for a newer one (<see cref="HubOptions.MaxUnauthenticatedConnections"/>).</summary>
    OverallLimit,

    /// <summary>Named the hub but did not sign in as a machine in time.</summary>
    SignInTimeout,

    /// <summary>A machine's link refused because the machine is linked already and that link still answers.</summary>
    SecondLink,
}
