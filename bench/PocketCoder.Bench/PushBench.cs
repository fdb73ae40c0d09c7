using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PocketCoder.Notifications;

namespace PocketCoder.Bench;

/// <summary>
/// A push service on loopback that notes when each request arrived, for the notification rows: the time from an
/// approval being asked to its push reaching the push service, against a plain POST of the same size to it.
/// </summary>
public sealed class PushStub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<long> _arrivals = Channel.CreateUnbounded<long>();

    private PushStub(WebApplication app) => _app = app;

    public string Endpoint => new Uri(new Uri(_app.Urls.First()), "/push/bench").ToString();

    public static async Task<PushStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stub = new PushStub(app);
        app.Run(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            stub._arrivals.Writer.TryWrite(Stopwatch.GetTimestamp());
            context.Response.StatusCode = StatusCodes.Status201Created;
        });
        await app.StartAsync();
        return stub;
    }

    /// <summary>When the next request arrived (a Stopwatch timestamp).</summary>
    public async Task<long> NextArrivalAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _arrivals.Reader.ReadAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The cost of encrypting one push (ECDH, two HKDFs, AES-GCM) against the AES-GCM alone.</summary>
public static class PushEncryptionBench
{
    public static Row Run(bool quick)
    {
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = WebPushCrypto.PublicKeyBytes(browser);
        var auth = RandomNumberGenerator.GetBytes(16);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new PushMessage("approval.requested", "Approval needed · demo", "npm test -- --watch=false?",
            "session-0123456789abcdef0123456789abcdef", "/s/0123456789abcdef", "0123456789abcdef0123456789abcdef", true, false, DateTimeOffset.UtcNow.ToString("O"), null),
            NotificationJson.Default.PushMessage);
        var count = quick ? 500 : 5_000;
        for (var i = 0; i < 200; i++)
        {
            WebPushCrypto.Encrypt(payload, publicKey, auth);
        }

        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            WebPushCrypto.Encrypt(payload, publicKey, auth);
        }

        var push = Stopwatch.GetElapsedTime(start).TotalMicroseconds / count;
        var key = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var output = new byte[payload.Length];
        var tag = new byte[16];
        using var aes = new AesGcm(key, 16);
        start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            aes.Encrypt(nonce, payload, output, tag);
        }

        var aesOnly = Stopwatch.GetElapsedTime(start).TotalMicroseconds / count;
        return new Row($"Encrypting one push ({payload.Length} bytes; RFC 8291: ECDH + HKDF + AES-GCM)", $"{Stats.F(push, 1)} µs",
            $"AES-GCM alone {Stats.F(aesOnly, 2)} µs", $"{Stats.F(push / aesOnly, 0)}x", "", "");
    }
}
