using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using PocketCoder.Bench;

// (--only external --gate true --pocketcoder-aot DIR --bare-aot DIR --bare DIR: the footprint gate, exit 1 past FootprintThresholds)
// Usage: PocketCoder.Bench --pocketcoder DIR --bare DIR --claude PATH [--pocketcoder-aot DIR --bare-aot DIR] [--quick] [--out FILE] [--only external,fanout,approval,push,worktree,hub,claude]
// (--only network: the sandbox's network through its proxy vs direct, alone)
// (--only paused: the rows of sessions paused while they wait for the owner, alone)
// (--waiting FILE: the rows of tests/PocketCoder.Tests' WaitingSessionsBench, every agent, as bench/run.sh writes them)
// (--only suspended: what suspended sessions still cost, alone)
// (--only first-push: the first push after a restart, alone)
// (--only scale: a session of 500,000 events in a data folder of 2,000,000 against a session of 1,000, alone)
// (--only scale-phone: only the phone's rows of it, Chromium opening both sessions and paging back)
// (--only hub-relay: the hub's latency and SSE rows alone, for tuning the relay without the minutes of memory steps)
// (--only hub-flood: the hub's rows under a flood of connections that prove nothing, alone)
// (--only fanout-paced: the paced 100-subscriber fan-out row alone, e.g. under a profiler)
var options = new Dictionary<string, string>(StringComparer.Ordinal);
var quick = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--quick")
    {
        quick = true;
    }
    else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
    {
        options[args[i][2..]] = args[++i];
    }
}

string Required(string name) => options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required.");
var only = options.TryGetValue("only", out var o) ? o.Split(',').ToHashSet(StringComparer.Ordinal) : null;
bool Wanted(string part) => only is null || only.Contains(part);

var rows = new List<Row>();
ExternalBench? external = null;
void Progress(string what) => Console.Error.WriteLine($"==> {what}");

if (Wanted("external"))
{
    Progress("start-up and memory, interleaved: the published pocketcoder and bare app (JIT and native, whichever are given)");
    external = new ExternalBench(options.GetValueOrDefault("pocketcoder"), options.GetValueOrDefault("bare"), options.GetValueOrDefault("pocketcoder-aot"),
        options.GetValueOrDefault("bare-aot"), quick || options.ContainsKey("gate") ? 3 : 5);
    rows.AddRange(await external.RunAsync());
}

if (Wanted("fanout") || Wanted("fanout-paced") || Wanted("approval") || Wanted("breakdown") || Wanted("push") || Wanted("worktree"))
{
    await using var inProcess = new InProcessBench(quick);
    await inProcess.StartAsync();
    if (Wanted("breakdown"))
    {
        Progress("where an append's time goes");
        rows.AddRange(inProcess.AppendBreakdown());
    }

    if (Wanted("fanout"))
    {
        Progress("event fan-out to 1, 10 and 100 SSE subscribers");
        rows.AddRange(await inProcess.FanOutAsync());
    }
    else if (Wanted("fanout-paced"))
    {
        Progress("event fan-out to 100 SSE subscribers paced at 1,000 events/s");
        rows.Add(await inProcess.PacedFanOutAsync());
    }

    if (Wanted("approval"))
    {
        Progress("approval round trip");
        rows.Add(await inProcess.ApprovalRoundTripAsync());
    }

    if (Wanted("worktree"))
    {
        Progress("a session on a branch of its own: the 201 and the worktree, on 10,000 and 100,000 files");
        rows.AddRange(await inProcess.WorktreeStartAsync());
    }

    if (Wanted("push"))
    {
        Progress("notifications: approval to push, and the cost of encrypting one");
        rows.Add(await inProcess.PushLatencyAsync());
        rows.Add(PushEncryptionBench.Run(quick));
    }
}

if (Wanted("push") || Wanted("first-push"))
{
    Progress("notifications: the first push after a restart against the ones after it (the published server)");
    rows.AddRange(await new FirstPushBench(Required("pocketcoder"), quick).RunAsync());
    if (options.GetValueOrDefault("pocketcoder-aot") is { } native)
    {
        rows.AddRange(await new FirstPushBench(native, quick, "native").RunAsync());
    }
}

if (Wanted("scale"))
{
    Progress("scale: a session of 500,000 events in a folder of 2,000,000 vs one of 1,000 (the published server)");
    rows.AddRange(await new ScaleBench(Required("pocketcoder"), quick).RunAsync());
}
else if (Wanted("scale-phone"))
{
    Progress("scale, the phone: Chromium opening a session of 500,000 events vs one of 1,000 (the published server)");
    rows.AddRange(await new ScaleBench(Required("pocketcoder"), quick).RunAsync(phoneOnly: true));
}

if (Wanted("hub") || Wanted("hub-relay"))
{
    Progress("the hub: latency and SSE throughput through it vs a direct https connection");
    await using var hub = new HubBench(quick, Wanted("hub") ? Required("pocketcoder") : null);
    rows.AddRange(await hub.RunAsync());
}

if (Wanted("hub") || Wanted("hub-flood"))
{
    Progress("the hub under the review's flood: connections that prove nothing, by kind and by the thousand");
    await using var flood = new HubFloodBench(quick, Required("pocketcoder"));
    rows.AddRange(await flood.RunAsync());
}

if (Wanted("claude") || Wanted("suspended"))
{
    Progress("sessions suspended while idle: what each still costs the server, and one answering again");
    rows.AddRange(await new SuspendedSessionsBench(Required("claude"), quick).RunAsync());
    rows.AddRange(await new ClaudeBench(Required("pocketcoder"), Required("claude"), quick).RunSuspendedAsync());
}

if (Wanted("claude"))
{
    Progress("per-prompt overhead and many sessions with the real Claude Code CLI");
    rows.AddRange(await new ClaudeBench(Required("pocketcoder"), Required("claude"), quick).RunAsync());
}
else if (Wanted("paused"))
{
    Progress("sessions paused while they wait for the owner, with the real Claude Code CLI");
    rows.AddRange(await new ClaudeBench(Required("pocketcoder"), Required("claude"), quick).RunPausedAsync());
}

if (Wanted("network"))
{
    Progress("the sandbox's network: connections and a download through its proxy vs direct, and per prompt, with the real Claude Code CLI");
    rows.AddRange(await new NetworkBench(Required("pocketcoder"), Required("claude"), quick).RunAsync());
}

if (options.TryGetValue("waiting", out var waitingReport))
{
    rows.AddRange(WaitingRows.From(waitingReport));
}

if (options.TryGetValue("soak", out var soakReport))
{
    rows.AddRange(SoakRows.From(soakReport));
}

if (!options.ContainsKey("gate"))
{
    rows.Add(new Row("Large output: a command printing 200 MB", "not measured", "", "", "no bench row yet; the 50 MB test bounds memory", "n/a"));
}

var table = new StringBuilder();
var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "?";
table.AppendLine(CultureInfo.InvariantCulture, $"Machine: {cpu}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC{(quick ? " (quick run)" : "")}");
table.AppendLine();
table.AppendLine("| Measure | PocketCoder | Baseline | Ratio | Target | Verdict |");
table.AppendLine("|---|---|---|---|---|---|");
foreach (var row in rows)
{
    table.AppendLine(CultureInfo.InvariantCulture, $"| {row.Measure} | {row.PocketCoder} | {row.Baseline} | {row.Ratio} | {row.Target} | {row.Verdict} |");
}

Console.Write(table.ToString());
if (options.TryGetValue("out", out var output))
{
    await File.WriteAllTextAsync(output, table.ToString());
}

if (external is { GateFailed: true })
{
    Console.Error.WriteLine($"footprint gate FAILED: a ratio to the bare native app is past its limit (bench/PocketCoder.Bench/FootprintThresholds.cs)");
    return 1;
}

return 0;
