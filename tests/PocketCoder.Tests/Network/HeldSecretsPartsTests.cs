using System.Text;
using PocketCoder.Agents.Claude;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Codex;
using PocketCoder.Agents.OpenCode;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Network;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Network;

/// <summary>
/// Secrets held outside the sandbox (docs/security.md, "Secrets"), part by part: a placeholder's shape, what the model endpoint
/// rewrites in a request (the credential headers, only), where a sandbox lays the endpoint out, and how Codex is pointed at it.
/// </summary>
[Trait("Category", "Unit")]
public sealed class HeldSecretsPartsTests
{
    [Theory]
    [InlineData("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AA", "sk-ant-api03-")]
    [InlineData("sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0PpOoNnMmLlKkJjIiHhGg", "sk-proj-")]
    [InlineData("ghp_0123456789abcdefABCDEF0123456789abcd", "ghp_")]
    [InlineData("fake-key", "")]
    public void Placeholder_KeepsThePublicPrefixLengthAndKindOfEachCharacter_AndNothingElse(string real, string prefix)
    {
        var placeholder = Placeholders.For(real);

        Assert.NotEqual(real, placeholder);
        Assert.Equal(real.Length, placeholder.Length);
        Assert.StartsWith(prefix, placeholder, StringComparison.Ordinal);
        Assert.Equal(placeholder, Placeholders.For(real));
        for (var i = 0; i < real.Length; i++)
        {
            Assert.Equal(Kind(real[i]), Kind(placeholder[i]));
        }

        // Past the prefix, letters and digits are chosen anew: about one in 10 to 26 lands on the real one by chance (the key that
        // chooses is new each run, so the bound leaves room for chance: 2 of 7 kept happened about once in 30 runs; a quarter
        // and 3 more is about one in a million for the shortest value here, and still fails a placeholder that copies the value).
        var rest = real.Length - prefix.Length;
        var kept = Enumerable.Range(prefix.Length, rest).Count(i => char.IsAsciiLetterOrDigit(real[i]) && real[i] == placeholder[i]);
        Assert.True(kept <= rest / 4 + 3, $"{kept} of {rest} characters kept in place");
    }

    private static int Kind(char c) => char.IsAsciiDigit(c) ? 0 : char.IsAsciiLetterLower(c) ? 1 : char.IsAsciiLetterUpper(c) ? 2 : c;

    [Fact]
    public void Rewrite_PutsTheRealValueIntoCredentialHeadersOnly_ForTheUpstreamsHostAndPath()
    {
        var secret = HeldSecret.Of("ANTHROPIC_API_KEY", "sk-ant-api03-REAL0123456789abcdefghij");
        var forward = new ModelForward("ANTHROPIC_BASE_URL", new Uri("https://gateway.example.org/anthropic/"), [secret]);
        var head = Encoding.Latin1.GetBytes(
            "POST /v1/messages?beta=true HTTP/1.1\r\nHost: 127.0.0.1:3129\r\nx-api-key: " + secret.Placeholder + "\r\n" +
            "Authorization: Bearer " + secret.Placeholder + "\r\nX-Echo: " + secret.Placeholder + "\r\nConnection: keep-alive\r\n" +
            "Content-Length: 2\r\n\r\n");

        var (rewritten, used) = ModelForwarding.Rewrite(head, forward, out var problem)!.Value;
        var text = Encoding.Latin1.GetString(rewritten);

        Assert.Null(problem);
        Assert.StartsWith("POST /anthropic/v1/messages?beta=true HTTP/1.1\r\nHost: gateway.example.org\r\n", text, StringComparison.Ordinal);
        Assert.Contains($"x-api-key: {secret.Real}\r\n", text, StringComparison.Ordinal);
        Assert.Contains($"Authorization: Bearer {secret.Real}\r\n", text, StringComparison.Ordinal);
        // Any other header keeps the placeholder: a host that echoes one back would otherwise hand the key into the sandbox.
        Assert.Contains($"X-Echo: {secret.Placeholder}\r\n", text, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 2\r\nConnection: close\r\n\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("keep-alive", text, StringComparison.Ordinal);
        Assert.Equal([secret, secret], used);
        Assert.Equal(new NetworkEndpoint("gateway.example.org", 443), forward.Host);
    }

    [Theory]
    [InlineData("CONNECT api.anthropic.com:443 HTTP/1.1\r\n\r\n")]
    [InlineData("GET http://elsewhere.example.org/ HTTP/1.1\r\n\r\n")]
    [InlineData("GET //elsewhere.example.org/ HTTP/1.1\r\n\r\n")]
    [InlineData("GET / HTTP/2\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nbad header\r\n\r\n")]
    [InlineData("TRACE /v1/messages HTTP/1.1\r\n\r\n")]
    [InlineData("POST /v1/messages HTTP/1.1\r\nx-api-key: K\n\n{\"model\":\"K\"}\r\n\r\n")]
    [InlineData("POST /v1/messages HTTP/1.1\r\nx-api-key: K\rX\r\n\r\n")]
    [InlineData("POST /v1/messages HTTP/1.1\r\nx-api-key: K\u0000\r\n\r\n")]
    [InlineData("POST /v1/messages\t/v1/other HTTP/1.1\r\nx-api-key: K\r\n\r\n")]
    [InlineData("POST /v1/m\u00e9ssages HTTP/1.1\r\nx-api-key: K\r\n\r\n")]
    public void Rewrite_AnythingButAnOriginFormRequest_IsRefused(string head)
    {
        var forward = new ModelForward("ANTHROPIC_BASE_URL", new Uri("https://api.anthropic.com"), [HeldSecret.Of("K", "secret-value-123")]);

        // "K" stands for the placeholder: a head smuggling a second one past a bare LF is refused before any is swapped.
        Assert.Null(ModelForwarding.Rewrite(Encoding.Latin1.GetBytes(head.Replace("K", forward.Secrets[0].Placeholder, StringComparison.Ordinal)), forward, out var problem));
        Assert.NotNull(problem);
    }

    /// <summary>Only a credential header that is the placeholder whole gets the real value: one beside other text could be echoed back.</summary>
    [Fact]
    public void Rewrite_APlaceholderBesideOtherText_StaysAPlaceholder()
    {
        var secret = HeldSecret.Of("ANTHROPIC_API_KEY", "sk-ant-api03-REAL0123456789abcdefghij");
        var forward = new ModelForward("ANTHROPIC_BASE_URL", new Uri("https://api.anthropic.com"), [secret]);
        var head = Encoding.Latin1.GetBytes($"POST /v1/messages HTTP/1.1\r\nx-api-key: echo {secret.Placeholder}\r\n\r\n");

        var (rewritten, used) = ModelForwarding.Rewrite(head, forward, out _)!.Value;

        Assert.DoesNotContain(secret.Real, Encoding.Latin1.GetString(rewritten), StringComparison.Ordinal);
        Assert.Empty(used);
    }

    /// <summary>The real key goes to the model's host or nowhere: a certificate the system does not trust for the name ends it before a byte of the request.</summary>
    [Fact]
    public async Task Forward_ToAHostWhoseCertificateDoesNotVerify_SendsNothing()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=localhost", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var upstream = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        upstream.Start();
        var port = ((System.Net.IPEndPoint)upstream.LocalEndpoint).Port;
        var read = Task.Run(async () =>
        {
            using var accepted = await upstream.AcceptTcpClientAsync();
            await using var tls = new System.Net.Security.SslStream(accepted.GetStream());
            try
            {
                await tls.AuthenticateAsServerAsync(certificate);
                return await tls.ReadAsync(new byte[1]);
            }
            catch (Exception exception) when (exception is IOException or System.Security.Authentication.AuthenticationException)
            {
                return 0;
            }
        });
        var sandbox = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        sandbox.Start();
        using var inside = new System.Net.Sockets.TcpClient();
        await inside.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)sandbox.LocalEndpoint).Port);
        using var client = await sandbox.AcceptSocketAsync();
        using var host = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await host.ConnectAsync(System.Net.IPAddress.Loopback, port);
        var secret = HeldSecret.Of("ANTHROPIC_API_KEY", "sk-ant-api03-REAL0123456789abcdefghij");
        var forward = new ModelForward("ANTHROPIC_BASE_URL", new Uri($"https://localhost:{port}"), [secret]);
        var head = Encoding.Latin1.GetBytes($"POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nx-api-key: {secret.Real}\r\n\r\n");

        await Assert.ThrowsAnyAsync<System.Security.Authentication.AuthenticationException>(
            () => ModelForwarding.ForwardAsync(client, host, forward, head, [], CancellationToken.None));
        // The door closes the host's socket as the exchange ends: the host then reads its end, never a byte of the request
        // (with TLS 1.3 its side of the handshake may have completed before the client checked the certificate).
        host.Dispose();
        Assert.Equal(0, await read.WaitAsync(TimeSpan.FromSeconds(30)));
        upstream.Stop();
        sandbox.Stop();
    }

    [Fact]
    public void Layout_ForwardListensOnAFreePortAfterTheProxy_AndNamesItInItsVariable()
    {
        var model = new[] { new NetworkEndpoint("127.0.0.1", 3129) };
        var forward = new ModelForward("ANTHROPIC_BASE_URL", new Uri("http://127.0.0.1:3129"), [HeldSecret.Of("K", "secret-value-123")]);
        var layout = new EgressLayout(model, 0, [forward]);

        Assert.Equal(["127.0.0.1:3128", "127.0.0.1:3129", "127.0.0.1:3130"], layout.Listeners.Select(l => l.ToString()));
        Assert.Contains(("ANTHROPIC_BASE_URL", "http://127.0.0.1:3130"), layout.Environment);
        Assert.Equal("http://127.0.0.1:3130", EgressLayout.ForwardUrl(model, [forward], 0));
    }

    [Fact]
    public void Codex_AProvidersKey_IsAPlaceholder_AndItsBaseUrlGivenOnTheCommandLine()
    {
        var codexHome = TempPaths.NewDirectory("pc-codex");
        try
        {
            File.WriteAllText(Path.Combine(codexHome, "config.toml"), """
                model_provider = "corp"

                [model_providers.other]
                base_url = "https://other.example.org/v1"
                env_key = "OTHER_KEY"

                [model_providers.corp]
                base_url = "https://llm.example.org/v1"
                env_key = "CORP_KEY"
                """);
            var command = new AgentCommand("codex", new Dictionary<string, string?> { ["CORP_KEY"] = "corp-real-key-0123456789", ["OTHER_KEY"] = "other" });
            var environment = new Dictionary<string, string?>();

            var (forwards, arguments) = CodexSecrets.Hold(command, codexHome, [], environment);

            var forward = Assert.Single(forwards);
            Assert.Null(forward.Variable);
            Assert.Equal(new Uri("https://llm.example.org/v1"), forward.Upstream);
            Assert.Equal(Placeholders.For("corp-real-key-0123456789"), environment["CORP_KEY"]);
            Assert.False(environment.ContainsKey("OTHER_KEY"));
            Assert.Equal(["-c", "model_providers.corp.base_url=\"http://127.0.0.1:3129\""], arguments);
        }
        finally
        {
            TempPaths.Delete(codexHome);
        }
    }

    [Fact]
    public void Codex_OpenAisOwnProvider_KeyAndBaseUrlVariables()
    {
        var codexHome = TempPaths.NewDirectory("pc-codex");
        try
        {
            var command = new AgentCommand("codex", new Dictionary<string, string?> { ["OPENAI_API_KEY"] = "sk-proj-real0123456789abcdefghijABCDEFGHIJ", ["OPENAI_BASE_URL"] = null });
            var environment = new Dictionary<string, string?>();

            var (forwards, arguments) = CodexSecrets.Hold(command, codexHome, [], environment);

            var forward = Assert.Single(forwards);
            Assert.Equal("OPENAI_BASE_URL", forward.Variable);
            Assert.Equal(new Uri("https://api.openai.com/v1"), forward.Upstream);
            Assert.StartsWith("sk-proj-", environment["OPENAI_API_KEY"], StringComparison.Ordinal);
            Assert.NotEqual("sk-proj-real0123456789abcdefghijABCDEFGHIJ", environment["OPENAI_API_KEY"]);
            Assert.Equal(["-c", "openai_base_url=\"http://127.0.0.1:3129\""], arguments);
        }
        finally
        {
            TempPaths.Delete(codexHome);
        }
    }

    [Fact]
    public void Codex_KeySavedByLoginWithApiKey_APlaceholderInTheAgentsAuthJson_HeldOnItsWayToOpenAisBaseUrl()
    {
        var home = TempPaths.NewDirectory("pc-codex-owner");
        var agentHome = TempPaths.NewDirectory("pc-codex-agent");
        try
        {
            var codexHome = Path.Combine(home, ".codex");
            Directory.CreateDirectory(codexHome);
            var auth = Path.Combine(codexHome, "auth.json");
            // As Codex 0.169's `codex login --with-api-key` writes it.
            File.WriteAllText(auth, """{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-SAVEDSECRETreal0123456789abcdefghij"}""");
            var command = new AgentCommand("codex", new Dictionary<string, string?>
            {
                ["HOME"] = home, ["CODEX_HOME"] = codexHome, ["OPENAI_API_KEY"] = null, ["OPENAI_BASE_URL"] = null,
            });
            var environment = new Dictionary<string, string?>();

            var (state, saved) = CodexSecrets.WithoutChatGptLogin(codexHome, new AgentHome(agentHome, home), AgentState.Of([codexHome], logins: [auth]));
            var (forwards, _) = CodexSecrets.Hold(command, codexHome, [], environment, saved);

            Assert.Empty(state.Logins);
            var copy = File.ReadAllText(new AgentHome(agentHome, home).Map(auth));
            Assert.DoesNotContain("SAVEDSECRET", copy, StringComparison.Ordinal);
            Assert.Contains($"\"OPENAI_API_KEY\":\"{saved!.Placeholder}\"", copy, StringComparison.Ordinal);
            Assert.StartsWith("sk-proj-", saved.Placeholder, StringComparison.Ordinal);
            Assert.Contains("\"auth_mode\":\"apikey\"", copy, StringComparison.Ordinal);
            var forward = Assert.Single(forwards);
            Assert.Equal("OPENAI_BASE_URL", forward.Variable);
            Assert.Equal(new Uri("https://api.openai.com/v1"), forward.Upstream);
            Assert.Equal("sk-proj-SAVEDSECRETreal0123456789abcdefghij", Assert.Single(forward.Secrets).Real);
            Assert.Empty(environment);
        }
        finally
        {
            TempPaths.Delete(home);
            TempPaths.Delete(agentHome);
        }
    }

    private const string LoginAccess = "sk-ant-oat01-LOGINACCESSq7Lk2Vd9Tz0Hb4Nw8Ms1Jf6Pc3Gy5Ra0Ue2Ko7Ii9q1W2e3R4t5Y6u7I8o9P0-AbCdEfAA";
    private const string LoginRefresh = "sk-ant-ort01-LOGINREFRESHa1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6-ZyXwVuAA";
    private const string NewAccess = "sk-ant-oat01-NEWACCESSm3N8b2V7c1X6z0L5k9J4h8G3f7D2s6A1p0O9i8U7y6T5r4E3w2Q1zZyYxXwWvVuU-TtSsRrAA";
    private const string NewRefresh = "sk-ant-ort01-NEWREFRESHz9Y8x7W6v5U4t3S2r1Q0p9O8n7M6l5K4j3I2h1G0f9E8d7C6b5A4-QqPpOoAA";

    /// <summary>An owner's subscription login, ending <paramref name="endsIn"/> after <paramref name="clock"/>'s now.</summary>
    private static string OwnersLogin(ManualClock clock, TimeSpan endsIn)
    {
        var file = Path.Combine(TempPaths.NewDirectory("pc-login"), ".credentials.json");
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new
        {
            claudeAiOauth = new
            {
                accessToken = LoginAccess, refreshToken = LoginRefresh, expiresAt = clock.GetUtcNow().Add(endsIn).ToUnixTimeMilliseconds(),
                scopes = new[] { "user:inference", "user:profile" }, subscriptionType = "max",
            },
        }));
        return file;
    }

    [Fact]
    public async Task ClaudeLogin_NearItsEnd_TheServerRefreshesItOnce_IntoTheOwnersFile_ThePlaceholdersStayTheSame()
    {
        await using var oauth = await FakeLlm.FakeModelServer.StartAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var file = OwnersLogin(clock, TimeSpan.FromHours(1));
        using var http = new HttpClient();
        var login = new ClaudeOAuthLogin(file, oauth.OAuthTokenUrl, clock, http, LoginAccess, LoginRefresh);
        var before = login.SandboxCopy(out var real)!;

        // An hour left: the token it has, nothing asked.
        Assert.Equal(LoginAccess, real);
        Assert.Equal(LoginAccess, await login.CurrentAsync(CancellationToken.None));
        Assert.Empty(oauth.OAuthRefreshes);

        // Four minutes left: refreshed as Claude refreshes, and the rotated tokens are the owner's file's.
        clock.Advance(TimeSpan.FromMinutes(56));
        oauth.RotateLogin(LoginRefresh, NewAccess, NewRefresh, expiresIn: 28800);
        Assert.Equal(NewAccess, await login.CurrentAsync(CancellationToken.None));
        Assert.Equal(NewAccess, await login.CurrentAsync(CancellationToken.None));
        var refresh = Assert.Single(oauth.OAuthRefreshes);
        Assert.Equal("refresh_token", refresh["grant_type"]!.ToString());
        Assert.Equal(LoginRefresh, refresh["refresh_token"]!.ToString());
        var owners = File.ReadAllText(file);
        Assert.Contains(NewAccess, owners, StringComparison.Ordinal);
        Assert.Contains(NewRefresh, owners, StringComparison.Ordinal);
        Assert.Contains($"\"expiresAt\":{clock.GetUtcNow().AddHours(8).ToUnixTimeMilliseconds()}", owners, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        // What the sandbox gets: placeholders of the same shape that never expire, the same before and after the rotation.
        var after = login.SandboxCopy(out var rotated)!;
        Assert.Equal(NewAccess, rotated);
        Assert.Equal(before, after);
        foreach (var token in new[] { LoginAccess, LoginRefresh, NewAccess, NewRefresh })
        {
            Assert.DoesNotContain(token[13..30], after, StringComparison.Ordinal);
        }

        Assert.Contains($"\"accessToken\":\"{login.AccessPlaceholder}\"", after, StringComparison.Ordinal);
        Assert.Contains($"\"refreshToken\":\"{login.RefreshPlaceholder}\"", after, StringComparison.Ordinal);
        Assert.Contains($"\"expiresAt\":{HeldOAuthLogin.FarFuture.ToUnixTimeMilliseconds()}", after, StringComparison.Ordinal);
        Assert.StartsWith("sk-ant-oat01-", login.AccessPlaceholder, StringComparison.Ordinal);
        Assert.Equal(LoginAccess.Length, login.AccessPlaceholder.Length);
        Assert.Contains("\"subscriptionType\":\"max\"", after, StringComparison.Ordinal);
    }

    /// <summary>A JWT as ChatGPT's login issues them, ending at <paramref name="expires"/>, its signature marked <c>SIGSECRET</c>.</summary>
    private static string ChatGptJwt(DateTimeOffset expires)
    {
        static string Part(object value) =>
            Convert.ToBase64String(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var claims = new Dictionary<string, object>
        {
            ["exp"] = expires.ToUnixTimeSeconds(), ["https://api.openai.com/auth"] = new { chatgpt_plan_type = "pro", chatgpt_account_id = "acc-77" },
        };
        return $"{Part(new { alg = "RS256", typ = "JWT" })}.{Part(claims)}.SIGSECRET{Guid.NewGuid():N}-{Guid.NewGuid():N}";
    }

    [Fact]
    public async Task CodexChatGptLogin_NearItsEnd_TheServerRefreshesItOnce_IntoTheOwnersFile_TheSandboxKeepsTheClaimsOnly()
    {
        await using var oauth = await FakeLlm.FakeModelServer.StartAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var (access, id, newAccess) = (ChatGptJwt(clock.GetUtcNow().AddHours(1)), ChatGptJwt(clock.GetUtcNow().AddHours(1)), ChatGptJwt(clock.GetUtcNow().AddHours(2)));
        const string Refresh = "rt_SIGSECRETrefreshA1b2C3d4E5f6G7h8", NewRefresh = "rt_SIGSECRETrotatedZ9y8X7w6V5u4T3s2";
        var file = Path.Combine(TempPaths.NewDirectory("pc-codex-login"), "auth.json");
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["OPENAI_API_KEY"] = null, ["tokens"] = new { id_token = id, access_token = access, refresh_token = Refresh, account_id = "acc-77" },
            ["last_refresh"] = clock.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        }));
        using var http = new HttpClient();
        var login = new CodexChatGptLogin(file, oauth.OAuthTokenUrl, clock, http, access, Refresh);
        var before = login.SandboxCopy(out var real)!;

        // An hour left: the token it has, nothing asked. Inside: the claims Codex reads, no signature, no refresh token.
        Assert.Equal(access, real);
        Assert.Equal(access, await login.CurrentAsync(CancellationToken.None));
        Assert.Empty(oauth.OAuthRefreshes);
        Assert.DoesNotContain("SIGSECRET", before, StringComparison.Ordinal);
        var tokens = System.Text.Json.Nodes.JsonNode.Parse(before)!["tokens"]!;
        var (held, heldId) = (tokens["access_token"]!.ToString().Split('.'), tokens["id_token"]!.ToString().Split('.'));
        Assert.Equal(access.Split('.')[0], held[0]);
        Assert.Contains("acc-77", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(held[1].PadRight((held[1].Length + 3) / 4 * 4, '='))), StringComparison.Ordinal);
        Assert.Contains($"\"exp\":{HeldOAuthLogin.FarFuture.ToUnixTimeSeconds()}", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(held[1].PadRight((held[1].Length + 3) / 4 * 4, '='))), StringComparison.Ordinal);
        Assert.Equal(access.Split('.')[2].Length, held[2].Length);
        Assert.Equal(id.Split('.')[1], heldId[1]);
        Assert.Equal(Refresh.Length, tokens["refresh_token"]!.ToString().Length);
        Assert.Contains("\"last_refresh\":\"2100-01-01T00:00:00Z\"", before, StringComparison.Ordinal);

        // Four minutes left: refreshed as Codex refreshes, the rotated tokens written into the owner's file; the placeholders stay.
        clock.Advance(TimeSpan.FromMinutes(56));
        oauth.RotateLogin(Refresh, newAccess, NewRefresh);
        Assert.Equal(newAccess, await login.CurrentAsync(CancellationToken.None));
        Assert.Equal(newAccess, await login.CurrentAsync(CancellationToken.None));
        var refresh = Assert.Single(oauth.OAuthRefreshes);
        Assert.Equal("app_EMoamEEZ73f0CkXaXp7hrann", refresh["client_id"]!.ToString());
        Assert.Equal(Refresh, refresh["refresh_token"]!.ToString());
        var owners = File.ReadAllText(file);
        Assert.Contains(newAccess, owners, StringComparison.Ordinal);
        Assert.Contains(NewRefresh, owners, StringComparison.Ordinal);
        Assert.Contains(id, owners, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var after = login.SandboxCopy(out _)!;
        Assert.DoesNotContain("SIGSECRET", after, StringComparison.Ordinal);
        Assert.Contains($"\"access_token\":\"{login.AccessPlaceholder}\"", after, StringComparison.Ordinal);
        Assert.Contains($"\"access_token\":\"{login.AccessPlaceholder}\"", before, StringComparison.Ordinal);
    }

    [Fact]
    public void CodexChatGptLogin_HeldOutside_NotCopiedIn_PointedAtTwoEndpoints_AndItsTokenEndpointNoLongerPasses()
    {
        var home = TempPaths.NewDirectory("pc-codex-owner");
        var codexHome = Path.Combine(home, ".codex");
        Directory.CreateDirectory(codexHome);
        var auth = Path.Combine(codexHome, "auth.json");
        File.WriteAllText(auth, System.Text.Json.JsonSerializer.Serialize(new
        {
            tokens = new { id_token = ChatGptJwt(DateTimeOffset.UtcNow.AddHours(1)), access_token = ChatGptJwt(DateTimeOffset.UtcNow.AddHours(1)), refresh_token = "rt_SIGSECRETx1" },
        }));
        AgentCommand Command(string? baseUrl) => new("codex", new Dictionary<string, string?>
        {
            ["HOME"] = home, ["CODEX_HOME"] = codexHome, ["OPENAI_API_KEY"] = null, ["OPENAI_BASE_URL"] = baseUrl,
        });
        var agentHome = TempPaths.NewDirectory("pc-codex-agent");
        var state = AgentState.Of([codexHome], logins: [auth]) with
        {
            Endpoints = [new NetworkEndpoint("api.openai.com", 443), new NetworkEndpoint("chatgpt.com", 443), new NetworkEndpoint("auth.openai.com", 443)],
        };

        var (forwards, arguments, held) = CodexSecrets.HoldChatGpt(Command(null), codexHome, new AgentHome(agentHome, home), state)!.Value;

        Assert.Empty(held.Logins);
        Assert.Equal([new NetworkEndpoint("api.openai.com", 443), new NetworkEndpoint("chatgpt.com", 443)], held.Endpoints);
        Assert.Equal(forwards, held.Forwards);
        Assert.All(forwards, forward => Assert.Equal(new Uri("https://chatgpt.com/"), forward.Upstream));
        Assert.Matches(@"^chatgpt_base_url=""http://127\.0\.0\.1:\d+/backend-api/""$", arguments[1]);
        Assert.Matches(@"^openai_base_url=""http://127\.0\.0\.1:\d+/backend-api/codex""$", arguments[3]);
        Assert.NotEqual(arguments[1].Split(':')[2].Split('/')[0], arguments[3].Split(':')[2].Split('/')[0]);
        // The token opens the owner's whole ChatGPT account: the endpoints serve Codex's paths only.
        Assert.All(new[] { "POST /backend-api/codex/responses", "GET /backend-api/wham/accounts/check", "POST /backend-api/ps/mcp",
                "GET /backend-api/codex/models?client_version=1", "POST /backend-api/codex/responses/compact" },
            request => Assert.True(forwards[0].Serves(request.Split(' ')[0], request.Split(' ')[1]), request));
        // Codex's cloud tasks (read the owner's other repositories' diffs, start an agent on them) share wham/ with the check.
        Assert.All(new[] { "GET /backend-api/conversations", "POST /backend-api/codex/../conversations", "POST /backend-api/codex/%2e%2e/me", "GET /",
                "GET /api/codex/x", "GET /backend-api/wham/tasks/list", "POST /backend-api/wham/tasks", "GET /backend-api/wham/environments",
                "POST /backend-api/ps/mcpX", "POST /backend-api/codex/responses/../../me", "DELETE /backend-api/codex/x" },
            request => Assert.False(forwards[0].Serves(request.Split(' ')[0], request.Split(' ')[1]), request));
        var copy = File.ReadAllText(new AgentHome(agentHome, home).Map(auth));
        Assert.DoesNotContain("SIGSECRET", copy, StringComparison.Ordinal);
        // The owner moved the model elsewhere: not held this way, and then not copied in either (only what is not the login).
        Assert.Null(CodexSecrets.HoldChatGpt(Command("https://gateway.example/v1"), codexHome, new AgentHome(agentHome, home), state));
        var (keysOnly, _) = CodexSecrets.WithoutChatGptLogin(codexHome, new AgentHome(agentHome, home), state);
        Assert.Empty(keysOnly.Logins);
        var left = File.ReadAllText(new AgentHome(agentHome, home).Map(auth));
        Assert.DoesNotContain("SIGSECRET", left, StringComparison.Ordinal);
        Assert.DoesNotContain("tokens", left, StringComparison.Ordinal);

        // A login that also saved the API key it exchanged its id token for (codex login does, for some accounts) is held all the
        // same: copied in whole, it handed the sandbox the refresh token (attacker review); the key stays out too.
        File.WriteAllText(auth, System.Text.Json.JsonSerializer.Serialize(new
        {
            OPENAI_API_KEY = "sk-exchanged-SIGSECRETkey",
            tokens = new { id_token = ChatGptJwt(DateTimeOffset.UtcNow.AddHours(1)), access_token = ChatGptJwt(DateTimeOffset.UtcNow.AddHours(1)), refresh_token = "rt_SIGSECRETx2" },
        }));
        Assert.NotNull(CodexSecrets.HoldChatGpt(Command(null), codexHome, new AgentHome(agentHome, home), state));
        var held2 = File.ReadAllText(new AgentHome(agentHome, home).Map(auth));
        Assert.DoesNotContain("SIGSECRET", held2, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-exchanged", held2, StringComparison.Ordinal);

        // Unreadable as JSON (the owner's codex halfway through rewriting it): nothing of it goes in.
        File.WriteAllText(auth, "{\"tokens\": {\"refresh_token\": \"rt_SIGSECRETx3\"");
        CodexSecrets.WithoutChatGptLogin(codexHome, new AgentHome(agentHome, home), state);
        Assert.Equal("{}", File.ReadAllText(new AgentHome(agentHome, home).Map(auth)));
    }

    [Fact]
    public async Task ClaudeLogin_RefreshRefused_ServesTheTokenWhileItLasts_ThenAnswersWithoutSending()
    {
        await using var oauth = await FakeLlm.FakeModelServer.StartAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var file = OwnersLogin(clock, TimeSpan.FromMinutes(2));
        using var http = new HttpClient();
        var login = new ClaudeOAuthLogin(file, oauth.OAuthTokenUrl, clock, http, LoginAccess, LoginRefresh);

        Assert.Equal(LoginAccess, await login.CurrentAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(3));
        var refused = await Assert.ThrowsAsync<LiveSecretException>(() => login.CurrentAsync(CancellationToken.None));
        Assert.Contains("400", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, oauth.OAuthRefreshes.Count);
        Assert.Contains(LoginRefresh, File.ReadAllText(file), StringComparison.Ordinal);

        // Within a minute of a refused refresh, every request is answered as it was without sending the refresh token again
        // (an attacker review: each connection from the sandbox set one off); after it, one more try.
        Assert.Contains("400", (await Assert.ThrowsAsync<LiveSecretException>(() => login.CurrentAsync(CancellationToken.None))).Message, StringComparison.Ordinal);
        Assert.Equal(2, oauth.OAuthRefreshes.Count);
        clock.Advance(TimeSpan.FromSeconds(61));
        await Assert.ThrowsAsync<LiveSecretException>(() => login.CurrentAsync(CancellationToken.None));
        Assert.Equal(3, oauth.OAuthRefreshes.Count);
    }

    [Fact]
    public async Task ClaudeLogin_RefreshedMeanwhileByTheOwnersClaude_IsReadFromTheFile_NotRefreshedAgain()
    {
        await using var oauth = await FakeLlm.FakeModelServer.StartAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var file = OwnersLogin(clock, TimeSpan.FromMinutes(1));
        using var http = new HttpClient();
        var login = new ClaudeOAuthLogin(file, oauth.OAuthTokenUrl, clock, http, LoginAccess, LoginRefresh);
        File.WriteAllText(file, File.ReadAllText(file).Replace(LoginAccess, NewAccess, StringComparison.Ordinal)
            .Replace(clock.GetUtcNow().AddMinutes(1).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                clock.GetUtcNow().AddHours(8).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        Assert.Equal(NewAccess, await login.CurrentAsync(CancellationToken.None));
        Assert.Empty(oauth.OAuthRefreshes);
    }

    [Fact]
    public void ClaudeLogin_HeldOutside_NotCopiedIn_AndItsTokenEndpointNoLongerPasses()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var file = OwnersLogin(clock, TimeSpan.FromHours(1));
        using var http = new HttpClient();
        var login = new ClaudeOAuthLogin(file, ClaudeOAuthLogin.TokenEndpoint.Url, clock, http, LoginAccess, LoginRefresh);
        var state = ClaudeCodeAdapter.StateIn(Path.GetDirectoryName(file)!) with
        {
            Endpoints = [new NetworkEndpoint("api.anthropic.com", 443), new NetworkEndpoint("platform.claude.com", 443)],
        };
        var key = new ModelForward("ANTHROPIC_BASE_URL", new Uri("https://api.anthropic.com"), [HeldSecret.Of("ANTHROPIC_API_KEY", "sk-ant-api03-0123456789abcdef")]);
        var subscription = new ModelForward("ANTHROPIC_BASE_URL", new Uri("https://api.anthropic.com"), [login.Secret(LoginAccess)]);

        var keyed = ClaudeCodeAdapter.HeldState(state, [key]);
        var held = ClaudeCodeAdapter.HeldState(state, [subscription]);

        Assert.Equal(state.Logins, keyed.Logins);
        Assert.Equal(state.Endpoints, keyed.Endpoints);
        Assert.Empty(held.Logins);
        Assert.Equal([new NetworkEndpoint("api.anthropic.com", 443)], held.Endpoints);
        Assert.Equal([subscription], held.Forwards);
    }

    [Fact]
    public void OpenCode_KeysOfKnownProviders_ArePlaceholders_OAuthAndUnknownProvidersStayAsTheyAre()
    {
        var home = TempPaths.NewDirectory("pc-home");
        var agentHome = TempPaths.NewDirectory("pc-agent-home");
        try
        {
            var (config, data) = (Path.Combine(home, ".config", "opencode"), Path.Combine(home, ".local", "share", "opencode"));
            Directory.CreateDirectory(config);
            Directory.CreateDirectory(data);
            File.WriteAllText(Path.Combine(config, "opencode.json"), """{"provider":{"corp":{"options":{"baseURL":"https://llm.example.org/v1"}}}}""");
            File.WriteAllText(Path.Combine(data, "auth.json"), """
                {"corp":{"type":"api","key":"corp-real-key-0123456789"},"anthropic":{"type":"oauth","refresh":"rt-real","access":"at-real","expires":1},
                 "opencode":{"type":"api","key":"zen-real-key-0123456789"}}
                """);
            var command = new AgentCommand("opencode", new Dictionary<string, string?>
            {
                ["HOME"] = home, ["XDG_CONFIG_HOME"] = null, ["XDG_DATA_HOME"] = null, ["OPENCODE_CONFIG"] = null, ["OPENCODE_CONFIG_CONTENT"] = null,
                ["OPENAI_API_KEY"] = "sk-proj-real0123456789abcdefghijABCDEFGHIJ", ["ANTHROPIC_API_KEY"] = null,
            });
            var environment = new Dictionary<string, string?>();

            var forwards = OpenCodeSecrets.Hold(command, OpenCodeFlavor.OpenCode, config, data, new AgentHome(agentHome, home), [], environment);

            Assert.Equal(["https://llm.example.org/v1", "https://api.openai.com/v1"], forwards.Select(f => f.Upstream.ToString().TrimEnd('/')).Order().Reverse());
            Assert.All(forwards, forward => Assert.Null(forward.Variable));
            Assert.Equal(Placeholders.For("sk-proj-real0123456789abcdefghijABCDEFGHIJ"), environment["OPENAI_API_KEY"]);
            var inline = JsonNode.Parse(environment["OPENCODE_CONFIG_CONTENT"]!)!["provider"]!;
            Assert.Equal(["http://127.0.0.1:3129", "http://127.0.0.1:3130"],
                new[] { "corp", "openai" }.Select(p => inline[p]!["options"]!["baseURL"]!.GetValue<string>()).Order());
            // The agent's auth.json: the known provider's key a placeholder; the OAuth login and the provider with no base URL known as they were.
            var agents = JsonNode.Parse(File.ReadAllText(Path.Combine(agentHome, ".local", "share", "opencode", "auth.json")))!;
            Assert.Equal(Placeholders.For("corp-real-key-0123456789"), agents["corp"]!["key"]!.GetValue<string>());
            Assert.Equal("rt-real", agents["anthropic"]!["refresh"]!.GetValue<string>());
            Assert.Equal("zen-real-key-0123456789", agents["opencode"]!["key"]!.GetValue<string>());
        }
        finally
        {
            TempPaths.Delete(home);
            TempPaths.Delete(agentHome);
        }
    }

    [Theory]
    [InlineData("""{"security":{"auth":{"selectedType":"openai"}}}""", true)]
    [InlineData("""{"security":{"auth":{"selectedType":"openai","baseUrl":"https://elsewhere.example.org/v1"}}}""", false)]
    [InlineData("""{"security":{"auth":{"selectedType":"qwen-oauth"}}}""", false)]
    public void Qwen_AnOpenAiCompatibleKey_IsAPlaceholder_UnlessItsSettingsNameTheirOwn(string settings, bool held)
    {
        var qwenHome = TempPaths.NewDirectory("pc-qwen");
        try
        {
            File.WriteAllText(Path.Combine(qwenHome, "settings.json"), settings);
            var command = new AgentCommand("qwen", new Dictionary<string, string?> { ["OPENAI_API_KEY"] = "sk-real0123456789abcdefghij", ["OPENAI_BASE_URL"] = null });
            var environment = new Dictionary<string, string?>();

            var forwards = ModelHosts.QwenKey(command.Setting, qwenHome, environment);

            Assert.Equal(held, forwards.Count == 1);
            Assert.Equal(held, environment.ContainsKey("OPENAI_API_KEY"));
            if (held)
            {
                Assert.Equal(("OPENAI_BASE_URL", new Uri("https://api.openai.com/v1")), (forwards[0].Variable, forwards[0].Upstream));
            }
        }
        finally
        {
            TempPaths.Delete(qwenHome);
        }
    }
}
