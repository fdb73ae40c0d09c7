using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

public sealed partial class AuthTests
{
    // A watch link's page trades the link's token (its own credential) for a watch cookie: no device token there either.
    /// <summary>Routes that take no device token. A push relay's post takes its relay's secret instead (Notifications/PushRelayTests).</summary>
    private static readonly HashSet<string> AnonymousEndpoints = ["GET /api/health", "POST /api/pair", "POST /api/watch/open", "POST /api/push/relays/{id}"];

    [Fact]
    public async Task EveryEndpoint_NoGarbageOrRevokedToken_Unauthorized()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.PairAsync("admin");
        var revoked = await server.PairAsync("lost phone");
        (await admin.Http.DeleteAsync($"/api/devices/{revoked.DeviceId}")).EnsureSuccessStatusCode();

        var endpoints = Endpoints(server);
        Assert.True(endpoints.Count >= 15, $"Only {endpoints.Count} endpoints found: {string.Join(", ", endpoints)}");
        Assert.Superset(AnonymousEndpoints, endpoints.Select(e => $"{e.Method} {e.Template}").ToHashSet());

        var credentials = new (string Name, string? Token)[] { ("no token", null), ("garbage token", "pc_not-a-real-token"), ("revoked token", revoked.Token) };
        var failures = new List<string>();
        using var http = NewClient(server);
        foreach (var (method, template) in endpoints.Where(e => !AnonymousEndpoints.Contains($"{e.Method} {e.Template}")))
        {
            var path = Parameter().Replace(template, _ => Guid.NewGuid().ToString("N"));
            foreach (var (name, token) in credentials)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (token is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                if (method is "POST" or "PUT" or "PATCH")
                {
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                }

                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var code = response.StatusCode == HttpStatusCode.Unauthorized
                    && response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                    ? JsonElement.Parse(await response.Content.ReadAsStringAsync()).GetProperty("code").GetString()
                    : null;
                if (code != "UNAUTHORIZED")
                {
                    failures.Add($"{method} {path} with {name}: {(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType} code={code}");
                }
            }
        }

        Assert.True(failures.Count == 0, "Endpoints reachable without a valid device token:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task AnonymousEndpoints_NoToken_Answer()
    {
        await using var server = await TestServer.StartAsync();
        using var http = NewClient(server);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/health")).StatusCode);
        var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        var paired = await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone" });
        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
        // Answered, and opening nothing without a link's token (Watch/WatchLinkApiTests opens one).
        await ApiAssert.ProblemAsync(await http.PostAsJsonAsync("/api/watch/open", new { token = "not.alink" }), HttpStatusCode.Forbidden, "WATCH_LINK_INVALID");
        // Answered, and carrying nothing without a relay and its secret.
        await ApiAssert.ProblemAsync(await http.PostAsync($"/api/push/relays/{Guid.NewGuid():N}", new ByteArrayContent([1, 2, 3])), HttpStatusCode.NotFound,
            "PUSH_RELAY_NOT_FOUND");
    }

    [Fact]
    public async Task RevokeDevice_NextRequest_UnauthorizedWhileOtherDeviceWorks()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.PairAsync("laptop");
        var phone = await server.PairAsync("phone");
        Assert.Equal(HttpStatusCode.OK, (await phone.Http.GetAsync("/api/projects")).StatusCode);

        var revoke = await admin.Http.DeleteAsync($"/api/devices/{phone.DeviceId}");
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);

        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/projects"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.OK, (await admin.Http.GetAsync("/api/projects")).StatusCode);
        var devices = await admin.Http.GetOkAsync("/api/devices");
        var revokedDevice = devices.EnumerateArray().Single(d => d.GetProperty("id").GetString() == phone.DeviceId);
        Assert.Equal(JsonValueKind.String, revokedDevice.GetProperty("revokedAt").ValueKind);
    }

    [Fact]
    public async Task RevokeDevice_OwnDevice_UnauthorizedAtOnce()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");

        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/devices/{phone.DeviceId}")).StatusCode);

        await ApiAssert.ProblemAsync(await phone.Http.GetAsync("/api/devices"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Theory]
    [InlineData("access_token")]
    [InlineData("token")]
    public async Task TokenInQueryString_ValidToken_Unauthorized(string parameter)
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        using var http = NewClient(server);

        var response = await http.GetAsync($"/api/projects?{parameter}={Uri.EscapeDataString(phone.Token)}");

        await ApiAssert.ProblemAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task Pair_CodeUsedTwice_SecondIsPairingCodeInvalid()
    {
        await using var server = await TestServer.StartAsync();
        using var http = NewClient(server);
        var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;

        var first = await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone" });
        var body = await ApiAssert.OkJsonAsync(first);
        Assert.StartsWith("pc_", body.GetProperty("token").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("deviceId").GetString()));

        var second = await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "thief" });

        await ApiAssert.ProblemAsync(second, HttpStatusCode.Unauthorized, "PAIRING_CODE_INVALID");
        using var admin = NewClient(server, body.GetProperty("token").GetString());
        var devices = await admin.GetOkAsync("/api/devices");
        Assert.Equal(["phone"], devices.EnumerateArray().Select(d => d.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Pair_CodeOlderThanTenMinutes_PairingCodeInvalid()
    {
        var clock = new ManualClock();
        await using var server = await TestServer.StartAsync(clock: clock);
        using var http = NewClient(server);
        var devices = server.Services.GetRequiredService<Devices>();
        var expiring = devices.CreatePairingCode();
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromMinutes(10), expiring.ExpiresAt);

        clock.Advance(TimeSpan.FromMinutes(9));
        var fresh = devices.CreatePairingCode().Code;
        clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));

        var expired = await http.PostAsJsonAsync("/api/pair", new { code = expiring.Code, deviceName = "phone" });
        await ApiAssert.ProblemAsync(expired, HttpStatusCode.Unauthorized, "PAIRING_CODE_INVALID");
        var stillValid = await http.PostAsJsonAsync("/api/pair", new { code = fresh, deviceName = "phone" });
        Assert.Equal(HttpStatusCode.OK, stillValid.StatusCode);
    }

    [Theory]
    [InlineData("lower")]
    [InlineData("no dash")]
    [InlineData("lower no dash")]
    [InlineData("spaces")]
    public async Task Pair_CodeTypedDifferently_Accepted(string variant)
    {
        await using var server = await TestServer.StartAsync();
        using var http = NewClient(server);
        var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        Assert.Matches("^[A-Z2-9]{4}-[A-Z2-9]{4}$", code);
        var typed = variant switch
        {
            "lower" => code.ToLowerInvariant(),
            "no dash" => code.Replace("-", "", StringComparison.Ordinal),
            "lower no dash" => code.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant(),
            _ => $" {code.Replace("-", " ", StringComparison.Ordinal)} ",
        };

        var response = await http.PostAsJsonAsync("/api/pair", new { code = typed, deviceName = "phone" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Pair_AfterFiveWrongCodes_RateLimitedUntilAMinutePasses()
    {
        var clock = new ManualClock();
        await using var server = await TestServer.StartAsync(clock: clock);
        using var http = NewClient(server);
        var valid = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;

        for (var i = 0; i < 5; i++)
        {
            var wrong = await http.PostAsJsonAsync("/api/pair", new { code = $"WRNG-000{i}", deviceName = "guesser" });
            await ApiAssert.ProblemAsync(wrong, HttpStatusCode.Unauthorized, "PAIRING_CODE_INVALID");
        }

        var limited = await http.PostAsJsonAsync("/api/pair", new { code = valid, deviceName = "phone" });
        await ApiAssert.ProblemAsync(limited, HttpStatusCode.TooManyRequests, "RATE_LIMITED");
        Assert.True(limited.Headers.RetryAfter is not null, $"429 without a Retry-After header. Headers: {limited.Headers}");
        var retryAfter = limited.Headers.RetryAfter.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        clock.Advance(TimeSpan.FromMinutes(1));
        var later = await http.PostAsJsonAsync("/api/pair", new { code = valid, deviceName = "phone" });

        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Fact]
    public async Task Pair_RateLimited_DoesNotConsumeTheValidCode()
    {
        var clock = new ManualClock();
        await using var server = await TestServer.StartAsync(clock: clock);
        using var http = NewClient(server);
        var valid = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        for (var i = 0; i < 5; i++)
        {
            await http.PostAsJsonAsync("/api/pair", new { code = $"WRNG-000{i}", deviceName = "guesser" });
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await http.PostAsJsonAsync("/api/pair", new { code = valid, deviceName = "phone" })).StatusCode);
        clock.Advance(TimeSpan.FromSeconds(61));

        var paired = await ApiAssert.OkJsonAsync(await http.PostAsJsonAsync("/api/pair", new { code = valid, deviceName = "phone" }));

        using var phone = NewClient(server, paired.GetProperty("token").GetString());
        Assert.Single((await phone.GetOkAsync("/api/devices")).EnumerateArray());
    }

    [Fact]
    public async Task Pair_TokenAndCode_StoredOnlyHashed()
    {
        await using var server = await TestServer.StartAsync();
        var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        using var http = NewClient(server);
        var body = await ApiAssert.OkJsonAsync(await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone" }));
        var token = body.GetProperty("token").GetString()!;

        var devices = TableText(server, "devices");
        var codes = TableText(server, "pairing_codes");

        Assert.Contains("phone", devices, StringComparison.Ordinal); // the dump is not vacuous
        Assert.DoesNotContain(token, devices, StringComparison.Ordinal);
        Assert.DoesNotContain(token["pc_".Length..], devices, StringComparison.Ordinal);
        Assert.NotEmpty(codes);
        Assert.DoesNotContain(code, codes, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(code.Replace("-", "", StringComparison.Ordinal), codes, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Pair_Success_SetsHttpOnlyStrictCookieThatAuthenticates()
    {
        await using var server = await TestServer.StartAsync();
        var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        using var http = NewClient(server);

        var response = await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "pwa" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries);
        Assert.Contains(attributes, a => a.Equals("httponly", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(attributes, a => a.Equals("samesite=strict", StringComparison.OrdinalIgnoreCase));
        var cookie = attributes[0];

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        request.Headers.Add("Cookie", cookie);
        var withCookie = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, withCookie.StatusCode);
        await ApiAssert.ProblemAsync(await http.GetAsync("/api/projects"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task ListDevices_TwoDevices_MarksCallerCurrent()
    {
        await using var server = await TestServer.StartAsync();
        var laptop = await server.PairAsync("laptop");
        var phone = await server.PairAsync("phone");

        var devices = await phone.Http.GetOkAsync("/api/devices");

        var byId = devices.EnumerateArray().ToDictionary(d => d.GetProperty("id").GetString()!);
        Assert.Equal(2, byId.Count);
        Assert.True(byId[phone.DeviceId].GetProperty("current").GetBoolean());
        Assert.False(byId[laptop.DeviceId].GetProperty("current").GetBoolean());
        Assert.Equal("phone", byId[phone.DeviceId].GetProperty("name").GetString());
        Assert.Equal("laptop", byId[laptop.DeviceId].GetProperty("name").GetString());
    }

    [Fact]
    public async Task RevokeDevice_UnknownId_DeviceNotFound()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();

        var response = await phone.Http.DeleteAsync($"/api/devices/{Guid.NewGuid():N}");

        await ApiAssert.ProblemAsync(response, HttpStatusCode.NotFound, "DEVICE_NOT_FOUND");
    }

    [Fact]
    public async Task PairAndRevoke_Recorded_InLedger()
    {
        await using var server = await TestServer.StartAsync();
        var laptop = await server.PairAsync("laptop");
        var phone = await server.PairAsync("phone");
        (await laptop.Http.DeleteAsync($"/api/devices/{phone.DeviceId}")).EnsureSuccessStatusCode();

        var ledger = await laptop.Http.GetOkAsync("/api/ledger");

        var entries = ledger.GetProperty("entries").EnumerateArray()
            .Select(e => (Action: e.GetProperty("action").GetString(), Subject: e.GetProperty("subject").GetString(), Actor: e.GetProperty("actor").GetString()))
            .ToList();
        Assert.Contains(("device.paired", laptop.DeviceId, "laptop"), entries);
        Assert.Contains(("device.paired", phone.DeviceId, "phone"), entries);
        Assert.Contains(("device.revoked", phone.DeviceId, "laptop"), entries);
    }

    private static List<(string Method, string Template)> Endpoints(TestServer server) =>
        [.. server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (Method: method, Template: "/" + (e.RoutePattern.RawText ?? "").Trim('/'))))
            .Distinct()];

    /// <summary>A client with no cookie jar: only what a test puts on a request is sent.</summary>
    private static HttpClient NewClient(TestServer server, string? token = null)
    {
        var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = server.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private static string TableText(TestServer server, string table)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(server.DataDirectory, "pocketcoder.db"),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table}";
        using var reader = command.ExecuteReader();
        var text = new StringBuilder();
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                text.Append(reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
