using System.CommandLine;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Server;
using QRCoder;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder pair</c>: writes a one-time code straight into the data folder's database, so it
/// works whether or not the server is running, and prints it (with a QR code on a terminal).
/// </summary>
internal sealed class PairCommand : Verb
{
    private readonly Option<string> _url = new("--url") { Description = "The address phones open, if not the server's public URL." };
    private readonly Option<bool> _json = Json();

    public PairCommand() : base("pair", "Create a one-time pairing code for a phone (valid 10 minutes), with a link and a QR code.") => Declare(_url, _json);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        var dataDirectory = DataDirectory(parsed);
        var given = parsed.GetValue(_url);
        var (bound, publicUrl) = given is not null ? Given(given) : PhoneAddress(dataDirectory);
        HubMembership? hub;
        try
        {
            hub = HubMembership.Load(dataDirectory);
        }
        catch (InvalidDataException)
        {
            hub = null; // serve and doctor say what is wrong with it; the code is still good
        }

        if (given is null)
        {
            // Joined to a hub, phones use the name it gave this machine unless the owner named another (as serve does).
            publicUrl ??= hub?.PublicUrl;
        }

        var route = PhoneRoute.Choose(bound, publicUrl, hub, await Tailscale.ForThisMachine().StatusAsync(CancellationToken.None),
            PhoneRoute.LanAddresses());
        using var database = new Database(dataDirectory);
        database.Migrate();
        var clock = TimeProvider.System;
        var devices = new Devices(database, new Ledger.LedgerStore(database, clock), clock);
        string code;
        DateTimeOffset expiresAt;
        try
        {
            (code, expiresAt) = devices.CreatePairingCode();
        }
        catch (Errors.ApiProblem locked) when (locked.Code == Errors.ErrorCodes.LockedDown)
        {
            await error.WriteLineAsync($"pocketcoder: {locked.Message}");
            return 1;
        }

        if (parsed.GetValue(_json))
        {
            output.WriteLine(JsonSerializer.Serialize(new PairingCodeOutput(code, expiresAt, Link(route, bound, code)), CliJson.Default.PairingCodeOutput));
            return 0;
        }

        Print(output, code, expiresAt, route, bound);
        foreach (var line in route.Advice)
        {
            output.WriteLine(line);
        }

        return 0;
    }

    /// <summary>
    /// The link a phone opens to pair with <paramref name="code"/>: the route's first address, or with none a phone could open
    /// (the route's advice says why) at least one this machine's own browser opens. The code rides in the fragment, which
    /// browsers never send to a server: it stays out of every log.
    /// </summary>
    private static string Link(PhoneRoute route, Uri bound, string code)
    {
        var address = new Uri(route.Addresses.FirstOrDefault() ?? (bound.Host is "0.0.0.0" or "[::]"
            ? $"{bound.Scheme}://127.0.0.1:{bound.Port}" : bound.GetLeftPart(UriPartial.Authority)));
        return $"{address.GetLeftPart(UriPartial.Authority)}/#pair={code}";
    }

    /// <summary>A pairing code as <c>pair</c> and a first <c>serve</c> show it: the code, until when, a QR code on a terminal, the links.</summary>
    internal static void Print(TextWriter output, string code, DateTimeOffset expiresAt, PhoneRoute route, Uri bound)
    {
        var link = Link(route, bound, code);
        output.WriteLine($"Pairing code: {code}");
        output.WriteLine($"Valid until {expiresAt.ToLocalTime():HH:mm:ss} (10 minutes), for one device.");
        if (!Console.IsOutputRedirected)
        {
            using var generator = new QRCodeGenerator();
            using var data = generator.CreateQrCode(link, QRCodeGenerator.ECCLevel.M);
            output.WriteLine(new AsciiQRCode(data).GetGraphicSmall());
        }

        output.WriteLine($"Or open {link}");
        // The phone may be on another of this machine's networks than the first one.
        foreach (var other in route.Addresses.Skip(1))
        {
            output.WriteLine($"   or {other}/#pair={code}");
        }
    }

    /// <summary>
    /// <c>--url</c>: the address phones open. A loopback or every-interface one is where the server listens, not a public
    /// address: the route says what a phone can open instead.
    /// </summary>
    private static (Uri Bound, string? PublicUrl) Given(string given)
    {
        if (!Uri.TryCreate(given, UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"--url must be the http:// or https:// address phones open, such as {PocketCoderOptions.DefaultListen}; got '{given}'.");
        }

        return (address, address.IsLoopback || address.Host is "localhost" or "0.0.0.0" or "[::]" ? null : address.GetLeftPart(UriPartial.Authority));
    }

    /// <summary>Where the server last said it listens and phones reach it, else what its settings say, else the default.</summary>
    private static (Uri Bound, string? PublicUrl) PhoneAddress(string dataDirectory)
    {
        if (ServerAddress.Read(dataDirectory) is { } recorded && Uri.TryCreate(recorded.Url, UriKind.Absolute, out var url))
        {
            return (url, recorded.PublicUrl == recorded.Url ? null : recorded.PublicUrl);
        }

        try
        {
            var settings = ServeSettings.Load(dataDirectory, new Dictionary<string, string?>(), Environment.GetEnvironmentVariables());
            return (new Uri(settings.Listen), settings.PublicUrl);
        }
        catch (Exception exception) when (exception is InvalidDataException or UriFormatException)
        {
            // serve will refuse these settings and say why; the pairing code is still good.
            return (new Uri(PocketCoderOptions.DefaultListen), null);
        }
    }
}

public sealed record PairingCodeOutput(string Code, DateTimeOffset ExpiresAt, string Link);

