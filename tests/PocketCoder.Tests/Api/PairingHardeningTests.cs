using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using PocketCoder.Auth;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>Pairing against a local reader of the database and against someone spraying wrong codes.</summary>
public sealed class PairingHardeningTests
{
    [Fact]
    public void Throttle_WideAttackPastTheOverallCap_FreshClientStillHeardFailedOnesStopped()
    {
        var clock = new ManualClock();
        var throttle = new PairingThrottle(clock);
        for (var i = 0; i < PairingThrottle.FailuresOverall; i++)
        {
            throttle.RecordFailure($"10.0.{i / 250}.{i % 250}");
        }

        // The owner, who has not typed a wrong code, is never locked out by others' failures.
        Assert.Null(throttle.RetryAfter("192.168.1.20"));
        // An attacker address that already failed this minute gets no second try while the attack lasts.
        Assert.NotNull(throttle.RetryAfter("10.0.0.1"));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(throttle.RetryAfter("10.0.0.1"));
    }

    [Fact]
    public void Throttle_OneClient_FiveFailuresThenWait()
    {
        var throttle = new PairingThrottle(new ManualClock());
        for (var i = 0; i < PairingThrottle.FailuresPerClient - 1; i++)
        {
            throttle.RecordFailure("a");
        }

        Assert.Null(throttle.RetryAfter("a"));
        throttle.RecordFailure("a");
        Assert.NotNull(throttle.RetryAfter("a"));
    }

    [Fact]
    public async Task PairingCode_StoredAsKeyedHash_KeyFilePrivate_PlainHashDoesNotMatch()
    {
        await using var server = await TestServer.StartAsync();
        var code = await server.PairingCodeAsync();
        var keyPath = Path.Combine(server.DataDirectory, Devices.PairingKeyFileName);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        var key = File.ReadAllBytes(keyPath);
        Assert.Equal(32, key.Length);
        var stored = StoredCodeHashes(server);
        var normalized = Secrets.NormalizeCode(code);
        // Someone with the database but not the key cannot test guesses against it.
        Assert.DoesNotContain(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized))), stored);
        Assert.Contains(Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(normalized))), stored);

        // And the code still pairs.
        var paired = await server.Anonymous.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone" });
        Assert.True(paired.IsSuccessStatusCode);
    }

    [Fact]
    public void LoadOrCreateKey_SecondUse_ReadsTheSameKey()
    {
        var data = TempPaths.NewDirectory("pc-key");
        try
        {
            var path = Path.Combine(data, "pairing.key");
            Assert.Equal(Secrets.LoadOrCreateKey(path), Secrets.LoadOrCreateKey(path));
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    private static List<string> StoredCodeHashes(TestServer server)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, PocketCoder.Data.Database.FileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT code_hash FROM pairing_codes";
        using var reader = command.ExecuteReader();
        var hashes = new List<string>();
        while (reader.Read())
        {
            hashes.Add(reader.GetString(0));
        }

        return hashes;
    }
}
