using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Server;
using QRCoder;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder pair</c>: writes a one-time code straight into the data folder's database, so it
/// works whether or not the server is running, and prints it (with a QR code on a terminal).
/// </summary>
public static class PairCommand
{
    public static int Run(string[] args, TextWriter output)
    {
        var arguments = CliArguments.Parse(args, new HashSet<string> { "data", "url" }, new HashSet<string> { "json" });
        using var database = new Database(CommandLine.DataDirectory(arguments));
        database.Migrate();
        var clock = TimeProvider.System;
        var devices = new Devices(database, new Ledger.LedgerStore(database, clock), clock);
        var (code, expiresAt) = devices.CreatePairingCode();

        if (arguments.Flag("json"))
        {
            output.WriteLine(JsonSerializer.Serialize(new PairingCodeOutput(code, expiresAt), CliJson.Default.PairingCodeOutput));
            return 0;
        }

        // The code rides in the fragment, which browsers never send to a server: it stays out of every log.
        var link = $"{(arguments.Value("url") ?? PocketCoderOptions.DefaultListen).TrimEnd('/')}/#pair={code}";
        output.WriteLine($"Pairing code: {code}");
        output.WriteLine($"Valid until {expiresAt.ToLocalTime():HH:mm:ss} (10 minutes), for one device.");
        if (!Console.IsOutputRedirected)
        {
            using var generator = new QRCodeGenerator();
            using var data = generator.CreateQrCode(link, QRCodeGenerator.ECCLevel.M);
            output.WriteLine(new AsciiQRCode(data).GetGraphicSmall());
        }

        output.WriteLine($"Or open {link}");
        return 0;
    }
}

public sealed record PairingCodeOutput(string Code, DateTimeOffset ExpiresAt);

