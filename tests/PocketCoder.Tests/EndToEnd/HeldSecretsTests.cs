using System.Globalization;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Codex;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Secrets never enter the sandbox (docs/security.md, "Secrets"), with the REAL Claude Code CLI: the test plants recognisable real
/// credentials where the owner keeps them (the server's environment, <c>~/.claude.json</c>); an allowed command dumps everything it
/// can read (its environment, every process's <c>/proc/PID/environ</c>, every file under its home, Claude's config folder and
/// <c>/tmp</c>) into the project, where the test reads it: no real value is in it, only placeholders of the same shape. The fake
/// model meanwhile gets the real credential on every request, through PocketCoder's model endpoint, across three server restarts
/// with the conversation resumed; and the ledger names the credential and its host once for the session.
/// </summary>
public sealed class HeldSecretsTests
{
    /// <summary>A real key's shape; its middle is what the test looks for in everything the sandbox could read.</summary>
    private const string RealKey = "sk-ant-api03-REALSECRETxq7Lk2Vd9Tz0Hb4Nw8Ms1Jf6Pc3Gy5Ra0Ue2Ko7Ii9REALSECRETq1W2e3R4t5Y6u7I8o9P0-AbCdEfAA";
    private const string RealCodexKey = "sk-proj-CODEXSECRETm3N8b2V7c1X6z0L5k9J4h8G3f7D2s6A1CODEXSECRETp0O9i8U7y6T5r4E3w2Q1";
    private const string RealOpenCodeKey = "sk-or-v1-OPENCODESECRETd4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4OPENCODESECRETa3f2e1d0c9b8a7";
    private const string RealLoginKey = "sk-ant-api03-LOGINSECRETa1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0LOGINSECRETu1V2w3X4y5Z6-ZyXwVuAA";

    [Fact]
    public async Task Claude_KeyInItsEnvironment_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey_AcrossThreeResumes()
    {
        await using var world = await AgentWorld.StartAsync("claude-code", (model, home) => Claude(model, home, ("ANTHROPIC_API_KEY", RealKey)));
        var (session, dump) = await DumpAsync(world);

        AssertNothingReal(world, dump, "REALSECRET");
        // What the command read is what the agent holds: a key of the same shape, which is not the real one.
        Assert.Matches(@"ANTHROPIC_API_KEY=sk-ant-api03-[A-Za-z0-9]{20,}", dump);
        Assert.Contains("ANTHROPIC_BASE_URL=http://127.0.0.1:", dump, StringComparison.Ordinal);
        Assert.All(world.Model.Requests, request => Assert.Equal(RealKey, request.Credential));

        // One line in the ledger for the credential and its host, however many requests the turn made.
        var used = await CredentialLinesAsync(world, session);
        Assert.Equal([$"ANTHROPIC_API_KEY → {world.Model.BaseUrl.Authority}"], used);

        for (var restart = 1; restart <= 3; restart++)
        {
            await world.RestartServerAsync();
            await AskAsync(world, session, restart);
        }

        Assert.All(world.Model.Requests, request => Assert.Equal(RealKey, request.Credential));
    }

    [Fact]
    public async Task Claude_KeyOfItsLogin_InTheOwnersClaudeJson_IsAPlaceholderInsideAndRealAtTheModel()
    {
        await using var world = await AgentWorld.StartAsync("claude-code", (model, home) =>
        {
            File.WriteAllText(Path.Combine(home, ".claude.json"), JsonSerializer.Serialize(new { primaryApiKey = RealLoginKey }));
            return Claude(model, home, ("ANTHROPIC_API_KEY", null));
        });
        var (session, dump) = await DumpAsync(world);

        AssertNothingReal(world, dump, "LOGINSECRET");
        Assert.Matches(@"""primaryApiKey"":""sk-ant-api03-[A-Za-z0-9]{20,}", dump);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal(RealLoginKey, request.Credential));
        Assert.Equal([$"primaryApiKey (~/.claude.json) → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));
    }

    [Fact]
    public async Task Codex_KeyOfItsProvider_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey_AcrossThreeResumes()
    {
        await using var world = await AgentWorld.StartAsync("codex", (model, home) =>
        {
            var usual = AgentClis.Codex(model, home)["codex"];
            var environment = new Dictionary<string, string?>(usual.Environment) { ["FAKE_API_KEY"] = RealCodexKey };
            return new Dictionary<string, AgentCommand> { ["codex"] = usual with { Environment = environment } };
        });
        var (session, dump) = await DumpAsync(world, "CODEX_HOME=");

        AssertNothingReal(world, dump, "CODEXSECRET");
        Assert.Matches(@"FAKE_API_KEY=sk-proj-[A-Za-z0-9]{20,}", dump);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal($"Bearer {RealCodexKey}", request.Credential));
        Assert.Equal([$"FAKE_API_KEY → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));
        for (var restart = 1; restart <= 3; restart++)
        {
            await world.RestartServerAsync();
            await AskAsync(world, session, restart, $"Bearer {RealCodexKey}");
        }
    }

    private const string RealAcpKey = "sk-ant-api03-ACPSECRETb7Nk3Wd8Ux1Hc5Mv9Pq2Rs6Jt0Yg4Lz7Ef3Ai8ACPSECRETw2E3r4T5y6U7i8O9p0Q1-ZzYyXxAA";

    /// <summary>
    /// claude-agent-acp registered by the owner (agents.json), its key and base URL in the server's environment as an owner keeps
    /// them, not in its launcher: it holds a placeholder, its base URL is the model endpoint, as Claude Code's are.
    /// </summary>
    [Fact]
    public async Task ClaudeAgentAcp_KeyInTheServersEnvironment_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey_AcrossThreeResumes()
    {
        await using var world = await AgentWorld.StartAsync(ClaudeAgentAcp.AgentId, (_, _) => new Dictionary<string, AgentCommand>(),
            prepareData: ClaudeAgentAcp.RegisterKeyedByServer,
            registeredAgentEnvironment: (model, _) => new Dictionary<string, string?>
            {
                ["ANTHROPIC_API_KEY"] = RealAcpKey, ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
                ["ANTHROPIC_AUTH_TOKEN"] = null, ["CLAUDE_CODE_OAUTH_TOKEN"] = null,
            });
        var (session, dump) = await DumpAsync(world);

        AssertNothingReal(world, dump, "ACPSECRET");
        Assert.Matches(@"ANTHROPIC_API_KEY=sk-ant-api03-[A-Za-z0-9]{20,}", dump);
        Assert.Contains("ANTHROPIC_BASE_URL=http://127.0.0.1:", dump, StringComparison.Ordinal);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal(RealAcpKey, request.Credential));
        Assert.Equal([$"ANTHROPIC_API_KEY → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));
        for (var restart = 1; restart <= 3; restart++)
        {
            await world.RestartServerAsync();
            await AskAsync(world, session, restart, RealAcpKey);
        }
    }

    private const string RealAccess = "sk-ant-oat01-OAUTHSECRETq7Lk2Vd9Tz0Hb4Nw8Ms1Jf6Pc3Gy5Ra0Ue2Ko7Ii9OAUTHSECRETq1W2e3R4t5Y6u7I8o9P0-AbCdEfAA";
    private const string RealRefresh = "sk-ant-ort01-OAUTHSECRETa1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0OAUTHSECRETu1V2w3X4y5Z6-ZyXwVuAA";
    private const string RotatedAccess = "sk-ant-oat01-OAUTHSECRETm3N8b2V7c1X6z0L5k9J4h8G3f7D2s6A1ROTATEDq1p0O9i8U7y6T5r4E3w2Q1zZyYx-WvVuAA";
    private const string RotatedRefresh = "sk-ant-ort01-OAUTHSECRETz9Y8x7W6v5U4t3S2r1Q0p9O8n7M6l5K4ROTATEDj3I2h1G0f9E8d7C6b5A4-QqPpOoAA";

    [Fact]
    public async Task Claude_SubscriptionLogin_NearItsEnd_TheServerRefreshesIt_TheSandboxHoldsPlaceholders_TheModelGetsTheRotatedToken()
    {
        string credentials = "";
        await using var world = await AgentWorld.StartAsync("claude-code", (model, home) =>
        {
            credentials = Path.Combine(home, ".claude", ".credentials.json");
            // The owner's login, two minutes from its end (Claude itself would refresh it now); written once, not again at a restart.
            if (!File.Exists(credentials))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(credentials)!);
                File.WriteAllText(credentials, JsonSerializer.Serialize(new
                {
                    claudeAiOauth = new
                    {
                        accessToken = RealAccess, refreshToken = RealRefresh, expiresAt = DateTimeOffset.UtcNow.AddMinutes(2).ToUnixTimeMilliseconds(),
                        scopes = new[] { "user:inference", "user:profile", "user:sessions:claude_code" }, subscriptionType = "max",
                    },
                }));
                model.RotateLogin(RealRefresh, RotatedAccess, RotatedRefresh);
            }

            return Claude(model, home, ("ANTHROPIC_API_KEY", null), (ClaudeOAuthLogin.TokenEndpoint.Setting, model.OAuthTokenUrl.ToString()));
        });
        var (session, dump) = await DumpAsync(world);

        // The sandbox holds neither the old tokens nor the new ones; the server refreshed the login once, with the real refresh token.
        AssertNothingReal(world, dump, "OAUTHSECRET");
        var refresh = Assert.Single(world.Model.OAuthRefreshes);
        Assert.Equal(RealRefresh, refresh["refresh_token"]!.ToString());
        Assert.Matches(@"""accessToken"":""sk-ant-oat01-[A-Za-z0-9_-]{90,}""", dump);
        Assert.Matches(@"""refreshToken"":""sk-ant-ort01-[A-Za-z0-9_-]{80,}""", dump);
        Assert.Contains($"\"expiresAt\":{HeldOAuthLogin.FarFuture.ToUnixTimeMilliseconds()}", dump, StringComparison.Ordinal);
        Assert.All(world.Model.Requests, request => Assert.Equal($"Bearer {RotatedAccess}", request.Credential));
        var owners = await File.ReadAllTextAsync(credentials);
        Assert.Contains(RotatedAccess, owners, StringComparison.Ordinal);
        Assert.Contains(RotatedRefresh, owners, StringComparison.Ordinal);
        Assert.Equal([$"claudeAiOauth.accessToken (.credentials.json) → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));

        // The next start of the agent gets placeholders again, and its model request the rotated token, with no second refresh.
        await world.RestartServerAsync();
        await AskAsync(world, session, 1, $"Bearer {RotatedAccess}");
        Assert.Single(world.Model.OAuthRefreshes);
        Assert.DoesNotContain("OAUTHSECRET", await File.ReadAllTextAsync(world.AgentHomePath(".claude", ".credentials.json")), StringComparison.Ordinal);
    }

    private const string ChatGptRefresh = "rt_CHATGPTSECRETr4Nd0mR3fr3shT0k3nPq8Lm2Vx7Kc1Zb9Hy3Jt6Wd0Fs5CHATGPTSECRET.Aa1Bb2Cc3";
    private const string ChatGptRotatedRefresh = "rt_CHATGPTSECRETr0t4t3dR3fr3shT0k3nQw9Er8Ty7Ui6Op5As4Df3CHATGPTSECRET.Zz9Yy8Xx7";

    /// <summary>
    /// Codex logged in with ChatGPT (OpenAI's own provider, <c>auth.json</c> with its tokens; its backend the fake's by the owner's
    /// <c>chatgpt_base_url</c>), the access token two minutes from its end: the sandbox's <c>auth.json</c> holds JWT-shaped
    /// placeholders, the server refreshes the login once at the fake OAuth endpoint and writes the rotated tokens into the owner's
    /// file, and the fake ChatGPT backend gets the rotated access token on every model request, the next start of the agent too.
    /// </summary>
    [Fact]
    public async Task Codex_ChatGptLogin_NearItsEnd_TheServerRefreshesIt_TheSandboxHoldsPlaceholders_TheModelGetsTheRotatedToken()
    {
        var realAccess = ChatGptJwt(DateTimeOffset.UtcNow.AddMinutes(2), "CHATGPTSECRETaccessSig0nature");
        var rotatedAccess = ChatGptJwt(DateTimeOffset.UtcNow.AddHours(1), "CHATGPTSECRETrotatedSig0nature");
        var idToken = ChatGptJwt(DateTimeOffset.UtcNow.AddHours(1), "CHATGPTSECRETidSig0nature");
        var authFile = "";
        await using var world = await AgentWorld.StartAsync("codex", (model, home) =>
        {
            var usual = AgentClis.Codex(model, home)["codex"];
            var codexHome = usual.Environment["CODEX_HOME"]!;
            // Codex compresses its request bodies to ChatGPT's backend with zstd, which the fake cannot read (.NET 10 has no zstd).
            File.WriteAllText(Path.Combine(codexHome, "config.toml"),
                $"model = \"fake-model\"\nchatgpt_base_url = \"{model.ChatGptBaseUrl}\"\n\n[features]\nenable_request_compression = false\n");
            authFile = Path.Combine(codexHome, "auth.json");
            if (!File.Exists(authFile))
            {
                File.WriteAllText(authFile, JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["OPENAI_API_KEY"] = null,
                    ["tokens"] = new { id_token = idToken, access_token = realAccess, refresh_token = ChatGptRefresh, account_id = "acc-4f1c2d" },
                    ["last_refresh"] = DateTimeOffset.UtcNow.AddMinutes(-58).ToString("O", CultureInfo.InvariantCulture),
                }));
                model.RotateLogin(ChatGptRefresh, rotatedAccess, ChatGptRotatedRefresh);
            }

            var environment = new Dictionary<string, string?>(usual.Environment)
            {
                ["FAKE_API_KEY"] = null, [CodexChatGptLogin.TokenEndpoint.Setting] = model.OAuthTokenUrl.ToString(),
            };
            return new Dictionary<string, AgentCommand> { ["codex"] = usual with { Environment = environment } };
        });
        var (session, dump) = await DumpAsync(world, "CODEX_HOME=");

        AssertNothingReal(world, dump, "CHATGPTSECRET");
        var refresh = Assert.Single(world.Model.OAuthRefreshes);
        Assert.Equal(ChatGptRefresh, refresh["refresh_token"]!.ToString());
        Assert.Matches(@"""access_token"":""eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+""", dump);
        Assert.Matches(@"""refresh_token"":""rt_[A-Za-z0-9]{20,}", dump);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal($"Bearer {rotatedAccess}", request.Credential));
        var owners = await File.ReadAllTextAsync(authFile);
        Assert.Contains(rotatedAccess, owners, StringComparison.Ordinal);
        Assert.Contains(ChatGptRotatedRefresh, owners, StringComparison.Ordinal);
        Assert.Equal([$"tokens.access_token (auth.json) → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));

        await world.RestartServerAsync();
        await AskAsync(world, session, 1, $"Bearer {rotatedAccess}");
        Assert.Single(world.Model.OAuthRefreshes);
    }

    private const string RealSavedKey = "sk-proj-SAVEDSECRETk4J8h2G6f0D3s7A1q5W9e3R7t1Y5u9I3o7P1SAVEDSECRETz2X6c0V4b8N2m6L0";

    /// <summary>
    /// Codex on OpenAI's own provider, logged in by <c>codex login --with-api-key</c> (its key in <c>auth.json</c> as 0.169 writes it,
    /// none in its environment; the owner's <c>openai_base_url</c> the fake's): the agent's copy of auth.json holds a placeholder of
    /// the key's shape, Codex's OpenAI base URL is the model endpoint, and the model gets the real key, across three restarts.
    /// </summary>
    [Fact]
    public async Task Codex_KeySavedByLoginWithApiKey_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey_AcrossThreeResumes()
    {
        var authFile = "";
        await using var world = await AgentWorld.StartAsync("codex", (model, home) =>
        {
            var usual = AgentClis.Codex(model, home)["codex"];
            var codexHome = usual.Environment["CODEX_HOME"]!;
            File.WriteAllText(Path.Combine(codexHome, "config.toml"), $"model = \"fake-model\"\nopenai_base_url = \"{model.BaseUrl.ToString().TrimEnd('/')}/v1\"\n");
            authFile = Path.Combine(codexHome, "auth.json");
            File.WriteAllText(authFile, $$"""{"auth_mode": "apikey", "OPENAI_API_KEY": "{{RealSavedKey}}"}""");
            var environment = new Dictionary<string, string?>(usual.Environment) { ["FAKE_API_KEY"] = null };
            return new Dictionary<string, AgentCommand> { ["codex"] = usual with { Environment = environment } };
        });
        var (session, dump) = await DumpAsync(world, "CODEX_HOME=");

        AssertNothingReal(world, dump, "SAVEDSECRET");
        Assert.Matches(@"""OPENAI_API_KEY"":""sk-proj-[A-Za-z0-9]{20,}""", dump);
        Assert.Contains("OPENAI_BASE_URL=http://127.0.0.1:", dump, StringComparison.Ordinal);
        Assert.Contains(RealSavedKey, await File.ReadAllTextAsync(authFile), StringComparison.Ordinal);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal($"Bearer {RealSavedKey}", request.Credential));
        Assert.Equal([$"OPENAI_API_KEY (auth.json) → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));
        for (var restart = 1; restart <= 3; restart++)
        {
            await world.RestartServerAsync();
            await AskAsync(world, session, restart, $"Bearer {RealSavedKey}");
        }
    }

    /// <summary>A JWT as ChatGPT's login issues them: its account in the claims, ending at <paramref name="expires"/>, signed <paramref name="signature"/>.</summary>
    private static string ChatGptJwt(DateTimeOffset expires, string signature)
    {
        static string Part(object value) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(value)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var claims = new Dictionary<string, object>
        {
            ["exp"] = expires.ToUnixTimeSeconds(), ["email"] = "owner@example.com",
            ["https://api.openai.com/auth"] = new { chatgpt_plan_type = "plus", chatgpt_account_id = "acc-4f1c2d", chatgpt_user_id = "user-9q8w" },
        };
        return $"{Part(new { alg = "RS256", typ = "JWT" })}.{Part(claims)}.{signature}{Guid.NewGuid():N}";
    }

    /// <summary>
    /// OpenCode and Kilo Code logged in to a provider of the owner's config by <c>auth.json</c> (what <c>auth login</c> writes for
    /// it), its <c>baseURL</c> the model's: the agent's copy of auth.json holds a placeholder, the provider is pointed at the model
    /// endpoint by the inline config, and the model gets the real key.
    /// </summary>
    [Theory]
    [InlineData("opencode")]
    [InlineData("kilo")]
    public async Task OpenCodeAndKilo_KeyInTheirAuthJson_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey(string agent)
    {
        await using var world = await AgentWorld.StartAsync(agent, (model, home) =>
        {
            var commands = AgentWorld.CommandsOf(agent, model, home);
            var config = commands[agent].Environment[agent == "kilo" ? "KILO_CONFIG" : "OPENCODE_CONFIG"]!;
            // The key is the login's, not the config's.
            File.WriteAllText(config, File.ReadAllText(config).Replace(@", ""apiKey"": ""fake-key""", "", StringComparison.Ordinal));
            var auth = Path.Combine(home, ".local", "share", agent, "auth.json");
            Directory.CreateDirectory(Path.GetDirectoryName(auth)!);
            File.WriteAllText(auth, JsonSerializer.Serialize(new Dictionary<string, object> { ["fake"] = new { type = "api", key = RealOpenCodeKey } }));
            return commands;
        });
        var (session, dump) = await DumpAsync(world, "XDG_DATA_HOME=");

        AssertNothingReal(world, dump, "OPENCODESECRET");
        Assert.Matches(@"""key"":""sk-or-v1-[A-Za-z0-9]{20,}", dump);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal($"Bearer {RealOpenCodeKey}", request.Credential));
        Assert.Equal([$"fake (auth.json) → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));
    }

    /// <summary>
    /// Qwen Code with an OpenAI-compatible login (<c>OPENAI_API_KEY</c>), Copilot CLI with a provider of the owner's own
    /// (<c>COPILOT_PROVIDER_API_KEY</c>), both sending it as a bearer, and Gemini CLI with a Gemini API key (<c>GEMINI_API_KEY</c>,
    /// sent as <c>x-goog-api-key</c>), keyed by their environment: the key a placeholder inside, the base URL variable the model
    /// endpoint, the real key at the model.
    /// </summary>
    [Theory]
    [InlineData("qwen", "OPENAI_API_KEY", "OPENAI_BASE_URL", "sk-ENVSECRETqwenR8s2Tt5Uv9Wx3Yz7Ab1Cd4Ef6Gh0Ij", "Bearer ")]
    [InlineData("copilot", "COPILOT_PROVIDER_API_KEY", "COPILOT_PROVIDER_BASE_URL", "sk-ENVSECRETcoplR8s2Tt5Uv9Wx3Yz7Ab1Cd4Ef6Gh0Ij", "Bearer ")]
    [InlineData("gemini", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "AIzaSyENVSECRETgemR8s2Tt5Uv9Wx3Yz7Ab1Cd4Ef", "")]
    public async Task QwenAndCopilot_KeyInTheirEnvironment_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey(string agent, string variable,
        string baseUrl, string real, string scheme)
    {
        await using var world = await AgentWorld.StartAsync(agent, (model, home) =>
        {
            var usual = AgentWorld.CommandsOf(agent, model, home)[agent];
            var environment = new Dictionary<string, string?>(usual.Environment) { [variable] = real };
            return new Dictionary<string, AgentCommand> { [agent] = usual with { Environment = environment } };
        });
        var (session, dump) = await DumpAsync(world, baseUrl + "=http://127.0.0.1:");

        AssertNothingReal(world, dump, "ENVSECRET");
        Assert.Contains(variable + "=", dump, StringComparison.Ordinal);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal(scheme + real, request.Credential));
        Assert.Equal([$"{variable} → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));
    }

    private const string RealDotEnvKey = "AIzaSyDOTENVSECRETgemR8s2Tt5Uv9Wx3Yz7Ab";

    /// <summary>
    /// Gemini CLI keyed by the owner's <c>~/.gemini/.env</c> alone (no <c>GEMINI_API_KEY</c> in its environment): the sandbox's .env
    /// and Gemini's environment hold a placeholder of the key's shape, the model gets the real key through the model endpoint.
    /// </summary>
    [Fact]
    public async Task Gemini_KeyInItsDotEnv_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey()
    {
        await using var world = await AgentWorld.StartAsync("gemini", (model, home) =>
        {
            var usual = AgentWorld.CommandsOf("gemini", model, home)["gemini"];
            File.WriteAllText(Path.Combine(home, ".gemini", ".env"), $"# the owner's key\nGEMINI_API_KEY=\"{RealDotEnvKey}\"\n");
            var environment = new Dictionary<string, string?>(usual.Environment) { ["GEMINI_API_KEY"] = null };
            return new Dictionary<string, AgentCommand> { ["gemini"] = usual with { Environment = environment } };
        });
        var (session, dump) = await DumpAsync(world, "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:");

        AssertNothingReal(world, dump, "DOTENVSECRET");
        // A key of the same shape (Google's keys have no lower-case prefix to keep), in Gemini's environment and in the .env copy.
        Assert.Matches("GEMINI_API_KEY=[A-Za-z0-9]{39}\n", dump);
        Assert.Matches(@"GEMINI_API_KEY=""[A-Za-z0-9]{39}""", dump);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal(RealDotEnvKey, request.Credential));
        Assert.Equal([$"GEMINI_API_KEY → {world.Model.BaseUrl.Authority}"], await CredentialLinesAsync(world, session));
    }

    private const string RealPiKey = "sk-PISECRETm4N9b3V8c2X7z1L6k0J5h9G4f8D3s7A2PISECRETq9W8e7R6t5Y4";

    /// <summary>
    /// pi with a provider of the owner's <c>models.json</c> whose <c>apiKey</c> is the key itself, or names a variable holding it
    /// (pi reads both): the sandbox's models.json (the server's, read-only) and that variable hold a placeholder, the provider's
    /// <c>baseUrl</c> is the model endpoint, the model gets the real key; the owner's models.json is left as it was.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pi_KeyOfAProviderInItsModelsJson_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey_AcrossThreeResumes(bool inAVariable)
    {
        var modelsJson = "";
        await using var world = await AgentWorld.StartAsync("pi", (model, home) =>
        {
            var usual = AgentClis.Pi(model, home)["pi"];
            modelsJson = Path.Combine(home, ".pi", "agent", "models.json");
            File.WriteAllText(modelsJson, File.ReadAllText(modelsJson).Replace(@"""apiKey"":""fake-key""",
                $@"""apiKey"":""{(inAVariable ? "FAKE_PI_KEY" : RealPiKey)}""", StringComparison.Ordinal));
            var environment = new Dictionary<string, string?>(usual.Environment) { ["FAKE_PI_KEY"] = inAVariable ? RealPiKey : null };
            return new Dictionary<string, AgentCommand> { ["pi"] = usual with { Environment = environment } };
        });
        var (session, dump) = await DumpAsync(world, "PI_CODING_AGENT_DIR=");

        AssertNothingReal(world, dump, "PISECRET");
        Assert.Contains(@"""baseUrl"":""http://127.0.0.1:", dump, StringComparison.Ordinal);
        Assert.Matches(inAVariable ? "FAKE_PI_KEY=sk-[A-Za-z0-9]{20,}" : @"""apiKey"":""sk-[A-Za-z0-9]{20,}""", dump);
        Assert.Contains(inAVariable ? @"""apiKey"":""FAKE_PI_KEY""" : RealPiKey, await File.ReadAllTextAsync(modelsJson), StringComparison.Ordinal);
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal($"Bearer {RealPiKey}", request.Credential));
        Assert.Equal([$"{(inAVariable ? "FAKE_PI_KEY" : "fake.apiKey (models.json)")} → {world.Model.BaseUrl.Authority}"],
            await CredentialLinesAsync(world, session));
        for (var restart = 1; restart <= 3; restart++)
        {
            await world.RestartServerAsync();
            await AskAsync(world, session, restart, $"Bearer {RealPiKey}");
        }
    }

    private const string RealPiAnthropicKey = "sk-ant-api03-PIBUILTINSECRETk5Lm9Nb3Vc7Xz1Qw8Er4Ty6Ui2Op0PIBUILTINSECRETa8S7d6F5g4H3-JkLmNoAA";

    /// <summary>
    /// pi on its built-in Anthropic provider (the owner's models.json moves only its base URL, here to the fake model), keyed as an
    /// owner keys it: in pi's own <c>auth.json</c> (what <c>/login</c> with a key writes), or in <c>ANTHROPIC_API_KEY</c>, which pi
    /// reads for that provider. The agent's copy of auth.json and the variable hold a placeholder of the key's shape, the provider's
    /// base URL inside is the model endpoint, the model gets the real key; the owner's auth.json is left as it was.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Pi_KeyOfABuiltInProvider_InItsAuthJsonOrItsVariable_SandboxHoldsOnlyAPlaceholder_TheModelGetsTheRealKey(bool inAuthJson)
    {
        var authJson = "";
        await using var world = await AgentWorld.StartAsync("pi", (model, home) =>
        {
            var usual = AgentClis.Pi(model, home)["pi"];
            var folder = Path.Combine(home, ".pi", "agent");
            var models = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "models.json")))!;
            models["providers"]!["anthropic"] = new System.Text.Json.Nodes.JsonObject { ["baseUrl"] = model.BaseUrl.ToString().TrimEnd('/') };
            File.WriteAllText(Path.Combine(folder, "models.json"), models.ToJsonString());
            File.WriteAllText(Path.Combine(folder, "settings.json"),
                """{"defaultProvider":"anthropic","defaultModel":"claude-sonnet-4-5","enableInstallTelemetry":false}""");
            authJson = Path.Combine(folder, "auth.json");
            if (inAuthJson)
            {
                File.WriteAllText(authJson, JsonSerializer.Serialize(new Dictionary<string, object> { ["anthropic"] = new { type = "api_key", key = RealPiAnthropicKey } }));
            }

            var environment = new Dictionary<string, string?>(usual.Environment) { ["ANTHROPIC_API_KEY"] = inAuthJson ? null : RealPiAnthropicKey };
            return new Dictionary<string, AgentCommand> { ["pi"] = usual with { Environment = environment } };
        });
        var (session, dump) = await DumpAsync(world, "PI_CODING_AGENT_DIR=");

        AssertNothingReal(world, dump, "PIBUILTINSECRET");
        Assert.Contains(@"""anthropic"":{""baseUrl"":""http://127.0.0.1:", dump, StringComparison.Ordinal);
        Assert.Matches(inAuthJson ? @"""key"":""sk-ant-api03-[A-Za-z0-9]{20,}" : "ANTHROPIC_API_KEY=sk-ant-api03-[A-Za-z0-9]{20,}", dump);
        Assert.Equal(inAuthJson, File.Exists(authJson) && (await File.ReadAllTextAsync(authJson)).Contains(RealPiAnthropicKey, StringComparison.Ordinal));
        Assert.NotEmpty(world.Model.Requests);
        Assert.All(world.Model.Requests, request => Assert.Equal(RealPiAnthropicKey, request.Credential));
        Assert.Equal([$"{(inAuthJson ? "anthropic (auth.json)" : "ANTHROPIC_API_KEY")} → {world.Model.BaseUrl.Authority}"],
            await CredentialLinesAsync(world, session));
        for (var restart = 1; restart <= (inAuthJson ? 3 : 1); restart++)
        {
            await world.RestartServerAsync();
            await AskAsync(world, session, restart, RealPiAnthropicKey);
        }
    }

    /// <summary>The command an allowed call runs: everything it can read, written into the project for the test to read.</summary>
    private const string Dump =
        "mkdir -p seen; { env; for f in /proc/[0-9]*/environ; do echo \"== $f\"; tr '\\0' '\\n' < \"$f\"; done; " +
        "{ find ~ \"${CLAUDE_CONFIG_DIR:-$HOME/.claude}\" \"${CODEX_HOME:-$HOME/.codex}\" -type f -size -4M; " +
        // /tmp as the sandbox sees it, near its top and lately written: in the full suite it holds every other test's folders,
        // and reading them all took long enough for Claude to send the command to the background (a turn that never ended).
        "find /tmp -maxdepth 3 -type f -size -4M -mmin -15; } 2>/dev/null | while read -r f; do echo \"== $f\"; cat \"$f\"; done; } " +
        "> seen/dump.txt 2>&1; true";

    /// <summary>A session whose first turn runs <see cref="Dump"/> (allowed), and what it wrote.</summary>
    private static async Task<(string Session, string Dump)> DumpAsync(AgentWorld world, string folderVariable = "CLAUDE_CONFIG_DIR=")
    {
        world.Model.Enqueue(world.ShellCall(Dump), ScriptedReply.Text("Dumped."));
        var session = await world.StartSessionAsync("Show me everything you can read.", mode: "trusted");
        await using var events = await world.EventsAsync(session);
        long seen = 0;
        // The dump reads every file it can (on a loaded machine, with other tests' folders in /tmp, that took over 90 s for Kilo).
        while (await events.WaitForAsync(e => e.Id > seen && e.Event is "approval.requested" or "turn.completed", TimeSpan.FromMinutes(4)) is { Event: "approval.requested" } asked)
        {
            seen = asked.Id;
            await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        }

        var path = Path.Combine(world.Repository, "seen", "dump.txt");
        Assert.True(File.Exists(path), "the command wrote nothing: " + string.Join(" | ", events.Received.Where(e => e.Event is "tool.result" or "session.error").Select(e => e.Event + ": " + (e.Str("content") ?? e.Str("message"))))
            + " | unrouted: " + string.Join(", ", world.Model.UnroutedRequests) + " | requests: " + world.Model.Requests.Count);
        var dump = await File.ReadAllTextAsync(path);
        // The dump reached what matters: the agent's own environment, and its config folder.
        Assert.Contains(folderVariable, dump, StringComparison.Ordinal);
        Assert.Contains("/environ", dump, StringComparison.Ordinal);
        return (session, dump);
    }

    /// <summary>Neither the dump nor any file of the agent's home (outside, on disk) holds the real value's recognisable middle.</summary>
    private static void AssertNothingReal(AgentWorld world, string dump, string mark)
    {
        Assert.DoesNotContain(mark, dump, StringComparison.Ordinal);
        var copied = Directory.EnumerateFiles(world.AgentHomePath(), "*", SearchOption.AllDirectories)
            .Where(file => ReadShared(file).Contains(mark, StringComparison.Ordinal)).ToList();
        Assert.True(copied.Count == 0, $"the real credential is in the agent's home: {string.Join(", ", copied)}");
    }

    /// <summary>
    /// A file as it is now. An empty one is not opened: .NET refuses to open a file another process holds an exclusive lock on,
    /// as the running Codex does its empty thread-writer locks.
    /// </summary>
    private static string ReadShared(string file)
    {
        if (new FileInfo(file).Length == 0)
        {
            return "";
        }

        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>One more turn after a restart: the conversation goes on, and its model request carried the real key.</summary>
    private static async Task AskAsync(AgentWorld world, string session, int turn, string credential = RealKey)
    {
        var lastSeq = (await world.SessionAsync(session)).GetProperty("lastSeq").GetInt64();
        await using var events = await world.EventsAsync(session);
        world.Model.Enqueue(ScriptedReply.Text($"Answer {turn}."));
        await world.SendAsync(session, $"Question {turn}: what did you dump?");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > lastSeq);
        var errors = events.Received.Where(e => e.Id > lastSeq && e.Event == "session.error").Select(e => e.Str("message")).ToList();
        Assert.True(errors.Count == 0, $"turn {turn}: {string.Join(" | ", errors)}");
        var asked = world.Model.Requests.Last(r => r.ConsumedScript);
        Assert.Contains("Dumped.", asked.Body.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(credential, asked.Credential);
    }

    private static async Task<List<string>> CredentialLinesAsync(AgentWorld world, string session) =>
        [.. (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("action").GetString() == "credential.used" && e.GetProperty("subject").GetString() == session)
            .Select(e => $"{e.GetProperty("detail").GetProperty("credential").GetString()} → {e.GetProperty("detail").GetProperty("host").GetString()}")];

    /// <summary>The tests' Claude Code with the variables given set (or removed) over its usual set-up.</summary>
    private static Dictionary<string, AgentCommand> Claude(FakeModelServer model, string home, params (string Name, string? Value)[] set)
    {
        var usual = ClaudeCli.Against(model, home)["claude-code"];
        var environment = new Dictionary<string, string?>(usual.Environment);
        foreach (var (name, value) in set)
        {
            environment[name] = value;
        }

        return new Dictionary<string, AgentCommand> { ["claude-code"] = usual with { Environment = environment } };
    }
}
