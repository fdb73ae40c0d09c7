using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using PocketCoder.Agents.Processes;
using PocketCoder.Reach.Hub;

namespace PocketCoder.Reach;

/// <summary>Runs a helper program to completion; null when the program is not installed.</summary>
public interface IProgramRunner
{
    Task<ProcessResult?> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}

/// <summary>The machine's programs: a name is looked up on PATH, a path is used as it is; each run has 10 s.</summary>
public sealed class SystemProgramRunner : IProgramRunner
{
    public async Task<ProcessResult?> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        if (new AgentCommand(program, new Dictionary<string, string?>()).Resolve() is not { } path)
        {
            return null;
        }

        try
        {
            return await ChildProcess.RunAsync(new ProcessSpec(path, arguments, Environment.CurrentDirectory, new Dictionary<string, string?>(), StderrLogPath: null),
                256 * 1024, TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (Exception exception) when (exception is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException)
        {
            return null; // found, but it cannot be started: as good as not installed
        }
    }
}

/// <summary>What Tailscale says about this machine: whether it is up, its MagicDNS name, and what <c>tailscale serve</c> proxies to.</summary>
/// <param name="DnsName">The machine's name on the tailnet, e.g. <c>box.tail1234.ts.net</c> (no trailing dot); null when it has none.</param>
/// <param name="Running">Logged in and connected (<c>BackendState</c> is <c>Running</c>).</param>
/// <param name="Proxies">Where <c>tailscale serve</c> sends its https requests, e.g. <c>http://127.0.0.1:7420</c>.</param>
public sealed record TailscaleState(string? DnsName, bool Running, IReadOnlyList<string> Proxies)
{
    /// <summary>The tailnet https address of this machine, when Tailscale can give it one.</summary>
    public string? HttpsUrl => Running && DnsName is { Length: > 0 } name ? $"https://{name}" : null;

    /// <summary>Whether <c>tailscale serve</c> already forwards https to this machine's <paramref name="port"/> on loopback.</summary>
    public bool Serves(int port) => Proxies.Any(target =>
        (Uri.TryCreate(target, UriKind.Absolute, out var uri) ? uri.Port == port && (uri.IsLoopback || uri.Host is "localhost")
            : target == port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>
/// Asks the <c>tailscale</c> CLI (on PATH, or <c>POCKETCODER_TAILSCALE</c> naming it, e.g. inside the macOS app) through
/// an <see cref="IProgramRunner"/>, so tests can answer for a Tailscale this machine does not have.
/// </summary>
public sealed class Tailscale(IProgramRunner runner, string program)
{
    public const string ProgramVariable = "POCKETCODER_TAILSCALE";

    public static Tailscale ForThisMachine() =>
        new(new SystemProgramRunner(), Environment.GetEnvironmentVariable(ProgramVariable) is { Length: > 0 } named ? named : "tailscale");

    /// <summary>Null when Tailscale is not installed; else what it says (not running when it does not answer).</summary>
    public async Task<TailscaleState?> StatusAsync(CancellationToken cancellationToken)
    {
        if (await runner.RunAsync(program, ["status", "--json"], cancellationToken) is not { } status)
        {
            return null;
        }

        // Not JSON when not running (it prints a sentence instead), or from a version that answers otherwise: no tailnet name to offer.
        var state = Read(status.Stdout, TailscaleJson.Default.TailscaleStatus);
        var running = state?.BackendState == "Running";
        var dnsName = state?.Self?.DNSName?.TrimEnd('.') is { Length: > 0 } trimmed ? trimmed : null;
        // Only what https://NAME/ reaches counts: a proxy on another port or under a path is another address than the
        // one pairing links would name, and the link's page would be someone else's.
        var proxy = running && await runner.RunAsync(program, ["serve", "status", "--json"], cancellationToken) is { ExitCode: 0 } serve && dnsName is not null
            ? Read(serve.Stdout, TailscaleJson.Default.TailscaleServe)?.Web?.GetValueOrDefault($"{dnsName}:443")?.Handlers?.GetValueOrDefault("/")?.Proxy
            : null;
        return new TailscaleState(dnsName, running, proxy is null ? [] : [proxy]);
    }

    private static T? Read<T>(string json, JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>What is read of <c>tailscale status --json</c> and <c>tailscale serve status --json</c>, in Tailscale's own names.</summary>
internal sealed record TailscaleStatus(string? BackendState, TailscaleSelf? Self);

internal sealed record TailscaleSelf(string? DNSName);

internal sealed record TailscaleServe(Dictionary<string, TailscaleSite?>? Web);

internal sealed record TailscaleSite(Dictionary<string, TailscaleHandler?>? Handlers);

internal sealed record TailscaleHandler(string? Proxy);

[JsonSerializable(typeof(TailscaleStatus))]
[JsonSerializable(typeof(TailscaleServe))]
internal sealed partial class TailscaleJson : JsonSerializerContext;

/// <summary>How phones reach this machine, as <c>serve</c>, <c>pair</c> and <c>doctor</c> tell it.</summary>
public enum RouteKind
{
    /// <summary><c>--public-url</c> (a proxy, a certificate of its own, a name the owner chose).</summary>
    PublicUrl,
    Hub,
    Tailscale,
    /// <summary>Listening beyond loopback, on the machine's own addresses.</summary>
    Lan,
    /// <summary>Listening on loopback only: no phone can open it.</summary>
    LoopbackOnly,
}

/// <param name="Addresses">What a phone opens, best first (the pairing link uses the first).</param>
/// <param name="Advice">What to tell the owner, each a sentence: why a phone cannot get in, the next step for https.</param>
public sealed record PhoneRoute(RouteKind Kind, IReadOnlyList<string> Addresses, bool Https, IReadOnlyList<string> Advice)
{
    public const string WithoutHttps = "Without https the app neither installs on the phone nor shows notifications: browsers allow " +
        "both only to https pages (or to this machine's own 127.0.0.1).";

    /// <summary>
    /// The route for a server bound at <paramref name="bound"/> (its port known), with <paramref name="publicUrl"/> as it
    /// stands (the owner's, the hub's, or Tailscale's that serve took), the hub it joined, what Tailscale says (null: not
    /// installed) and this machine's LAN addresses.
    /// </summary>
    public static PhoneRoute Choose(Uri bound, string? publicUrl, HubMembership? hub, TailscaleState? tailscale, IReadOnlyList<IPAddress> lan)
    {
        var port = bound.Port;
        var tailnet = tailscale?.HttpsUrl;
        if (publicUrl is not null)
        {
            var https = publicUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            var kind = hub is not null && string.Equals(publicUrl, hub.PublicUrl, StringComparison.OrdinalIgnoreCase) ? RouteKind.Hub
                : tailnet is not null && string.Equals(publicUrl.TrimEnd('/'), tailnet, StringComparison.OrdinalIgnoreCase) ? RouteKind.Tailscale
                : RouteKind.PublicUrl;
            return new PhoneRoute(kind, [publicUrl], https, https ? [] : [WithoutHttps, NextStepForHttps(port, tailscale)]);
        }

        if (tailnet is not null && tailscale!.Serves(port))
        {
            // serve takes this as its public URL itself; pair only sees it before a restart.
            return new PhoneRoute(RouteKind.Tailscale, [tailnet], true,
                [$"Tailscale serves this port as {tailnet}: restart `{Serve}` so that it answers to that name, and pair again."]);
        }

        var loopback = bound.IsLoopback || bound.Host is "localhost";
        if (loopback)
        {
            return new PhoneRoute(RouteKind.LoopbackOnly, [bound.GetLeftPart(UriPartial.Authority)], bound.Scheme == Uri.UriSchemeHttps,
            [
                $"The server listens only on this machine ({bound.Host}): a phone cannot open {bound.GetLeftPart(UriPartial.Authority)}. " +
                $"To listen on the LAN: {Serve} --listen {bound.Scheme}://0.0.0.0:{port}",
                WithoutHttps,
                NextStepForHttps(port, tailscale),
            ]);
        }

        var any = IPAddress.TryParse(bound.Host.Trim('[', ']'), out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));
        var lanHttps = bound.Scheme == Uri.UriSchemeHttps;
        // A public address is never offered for a plain-http link: a pairing code sent across the internet in the clear could
        // be read and used first. Over https any address will do.
        var offered = lanHttps ? lan : [.. lan.Where(IsPrivate)];
        var addresses = any
            ? offered.Select(a => $"{bound.Scheme}://{(a.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{a}]" : a.ToString())}:{port}").ToList()
            : [bound.GetLeftPart(UriPartial.Authority)];
        var advice = new List<string>();
        if (addresses.Count == 0 && offered.Count < lan.Count)
        {
            advice.Add("This machine's addresses are public: a pairing link over plain http would cross the internet in the clear, so none is " +
                "offered. Set up https (below), or pair from a private network.");
        }
        else if (addresses.Count == 0)
        {
            advice.Add("This machine has no network address a phone could open; connect it to the phone's network, or set --public-url.");
        }

        if (!lanHttps)
        {
            advice.Add(WithoutHttps);
            advice.Add(NextStepForHttps(port, tailscale));
        }

        return new PhoneRoute(RouteKind.Lan, addresses, lanHttps, advice);
    }

    /// <summary>`serve` as the owner can type it here (after `dotnet run … serve` there is no pocketcoder on PATH).</summary>
    private static string Serve => Cli.SelfCommand.For("serve");

    /// <summary>The one next step towards https this machine can take: Tailscale when it is installed, else the routes in docs/reach.md.</summary>
    public static string NextStepForHttps(int port, TailscaleState? tailscale) => tailscale switch
    {
        { HttpsUrl: { } url } => $"Next, for https: run `tailscale serve --bg {port}`, then restart `{Serve}`: it takes {url} " +
            "as its address, and phones on your tailnet open that.",
        { Running: false } => $"Next, for https: Tailscale is installed but not connected: run `tailscale up`, then `tailscale serve --bg {port}`, " +
            $"then restart `{Serve}`.",
        not null => $"Next, for https: turn on MagicDNS and HTTPS certificates for your tailnet (its admin console), then run " +
            $"`tailscale serve --bg {port}` and restart `{Serve}`.",
        null => $"Next, for https: take one of the routes in docs/reach.md: a certificate of your own (--cert/--key, e.g. from " +
            $"mkcert), a reverse proxy with --public-url https://…, Tailscale (tailscale serve), or a hub ({Cli.SelfCommand.For("hub join")}).",
    };

    /// <summary>What serve and pair print: where phones go (or that none can), then the advice.</summary>
    public IEnumerable<string> Lines() => Kind == RouteKind.LoopbackOnly || Addresses.Count == 0 ? Advice :
    [
        $"Phones open: {string.Join(", ", Addresses)}" + Kind switch
        {
            RouteKind.Hub => " (through the hub)",
            RouteKind.Tailscale => " (Tailscale: phones on your tailnet)",
            RouteKind.Lan => " (phones on this machine's network)",
            _ => "",
        },
        .. Advice,
    ];

    /// <summary>This machine's IPv4 addresses on its networks (not loopback, not link-local, not container bridges or Tailscale's own).</summary>
    public static IReadOnlyList<IPAddress> LanAddresses()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback
                    && !new[] { "docker", "br-", "veth", "virbr", "tailscale", "utun" }.Any(prefix => n.Name.StartsWith(prefix, StringComparison.Ordinal)))
                .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(u => u.Address))
                .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a) && !a.ToString().StartsWith("169.254.", StringComparison.Ordinal))
                .Distinct()
                .ToList();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    /// <summary>An address of a private network (RFC 1918) or of a carrier-grade NAT (RFC 6598).</summary>
    public static bool IsPrivate(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return b.Length == 4 && (b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 100 && b[1] is >= 64 and <= 127));
    }
}
