using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Reach;
using PocketCoder.Server;
using QRCoder;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder pair</c>: writes a one-time code straight into the data folder's database, so it
/// works whether or not the server is running, and prints it (with a QR code on a terminal).
/// </summary>
public static class PairCommand
{
    public static int Run(CliArguments arguments, TextWriter output)
    {
        var dataDirectory = CommandLine.DataDirectory(arguments);
        var given = arguments.Value("url") ?? PhoneAddress(dataDirectory);
        if (!Uri.TryCreate(given, UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"--url must be the http:// or https:// address phones open, such as {PocketCoderOptions.DefaultListen}; got '{given}'.");
        }

        using var database = new Database(dataDirectory);
        database.Migrate();
        var clock = TimeProvider.System;
        var devices = new Devices(database, new Ledger.LedgerStore(database, clock), clock);
        var (code, expiresAt) = devices.CreatePairingCode();

        // The code rides in the fragment, which browsers never send to a server: it stays out of every log.
        var link = $"{address.GetLeftPart(UriPartial.Authority)}/#pair={code}";
        if (arguments.Flag("json"))
        {
            output.WriteLine(JsonSerializer.Serialize(new PairingCodeOutput(code, expiresAt, link), CliJson.Default.PairingCodeOutput));
            return 0;
        }

        output.WriteLine($"Pairing code: {code}");
        output.WriteLine($"Valid until {expiresAt.ToLocalTime():HH:mm:ss} (10 minutes), for one device.");
        if (!Console.IsOutputRedirected)
        {
            using var generator = new QRCodeGenerator();
            using var data = generator.CreateQrCode(link, QRCodeGenerator.ECCLevel.M);
            output.WriteLine(new AsciiQRCode(data).GetGraphicSmall());
        }

        output.WriteLine($"Or open {link}");
        if (address.Host is "0.0.0.0" or "[::]")
        {
            output.WriteLine($"{address.Host} means every interface of this machine; a phone cannot open it. Start serve with " +
                "--public-url naming the address the phone uses (e.g. http://192.168.1.20:7420), or open that address yourself.");
        }
        else if (address.Scheme == Uri.UriSchemeHttp && !address.IsLoopback)
        {
            output.WriteLine("Over plain http the app works but cannot be installed or keep working offline: browsers want https " +
                "for that (see docs/reach.md).");
        }

        return 0;
    }

    /// <summary>Where the server last said phones reach it, else what its settings say, else the default.</summary>
    private static string PhoneAddress(string dataDirectory)
    {
        if (ServerAddress.Read(dataDirectory) is { } recorded)
        {
            return recorded.PublicUrl;
        }

        try
        {
            var settings = ServeSettings.Load(dataDirectory, new Dictionary<string, string?>(), Environment.GetEnvironmentVariables());
            return settings.PublicUrl ?? settings.Listen;
        }
        catch (InvalidDataException)
        {
            // serve will refuse these settings and say why; the pairing code is still good.
            return PocketCoderOptions.DefaultListen;
        }
    }
}

public sealed record PairingCodeOutput(string Code, DateTimeOffset ExpiresAt, string Link);

