using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Pi;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Network;

/// <summary>
/// The keys of Gemini CLI, pi and claude-agent-acp held outside the sandbox (docs/security.md, "Secrets"): which set-ups are held,
/// where each is pointed, and what is left as it is (HeldSecretsTests runs the real CLIs).
/// </summary>
[Trait("Category", "Unit")]
public sealed class HeldAgentKeysPartsTests
{
    private const string GeminiKey = "AIzaSyREAL0123456789abcdefghijklmnopqrs";

    [Theory]
    [InlineData("""{"security":{"auth":{"selectedType":"gemini-api-key"}}}""", null, true)]
    [InlineData("{}", null, true)]
    [InlineData("""{"security":{"auth":{"selectedType":"vertex-ai"}}}""", null, false)]
    [InlineData("""{"security":{"auth":{"selectedType":"oauth-personal"}}}""", null, false)]
    [InlineData("""{"security":{"auth":{"selectedType":"gemini-api-key"}}}""", "true", false)]
    public void Gemini_AGeminiApiKey_IsAPlaceholder_UnlessItLogsInToVertexOrGoogle(string settings, string? vertex, bool held)
    {
        var gemini = TempPaths.NewDirectory("pc-gemini");
        try
        {
            File.WriteAllText(Path.Combine(gemini, "settings.json"), settings);
            // The owner's base URL in its .env: where the real key goes.
            File.WriteAllText(Path.Combine(gemini, ".env"), "GOOGLE_GEMINI_BASE_URL=https://gateway.example.org/gemini\n");
            var command = new AgentCommand("gemini", new Dictionary<string, string?>
            {
                ["GEMINI_API_KEY"] = GeminiKey, ["GOOGLE_GEMINI_BASE_URL"] = null, ["GOOGLE_GENAI_USE_VERTEXAI"] = vertex, ["GOOGLE_GENAI_USE_GCA"] = null,
            });
            var environment = new Dictionary<string, string?>();

            var forwards = ModelHosts.GeminiKey(command.Setting, gemini, environment);

            Assert.Equal(held, forwards.Count == 1);
            Assert.Equal(held, environment.ContainsKey("GEMINI_API_KEY"));
            if (held)
            {
                Assert.Equal(("GOOGLE_GEMINI_BASE_URL", new Uri("https://gateway.example.org/gemini")), (forwards[0].Variable, forwards[0].Upstream));
                Assert.NotEqual(GeminiKey, environment["GEMINI_API_KEY"]);
                Assert.Equal(GeminiKey, Assert.Single(forwards[0].Secrets).Real);
            }
        }
        finally
        {
            TempPaths.Delete(gemini);
        }
    }

    /// <summary>
    /// A Gemini API key kept only in <c>~/.gemini/.env</c>: a placeholder in Gemini's environment, the real one at the endpoint, and the
    /// sandbox's <c>.env</c> a copy of the owner's with each key in it a placeholder (the owner's left as it was).
    /// </summary>
    [Fact]
    public void Gemini_AKeyInItsDotEnv_IsAPlaceholderInItsEnvironment_AndInTheSandboxesCopyOfTheFile()
    {
        var home = TempPaths.NewDirectory("pc-gemini");
        var data = TempPaths.NewDirectory("pc-gemini-data");
        try
        {
            var gemini = Path.Combine(home, ".gemini");
            Directory.CreateDirectory(gemini);
            var dotEnv = Path.Combine(gemini, ".env");
            var text = $"# keys\nexport GEMINI_API_KEY='{GeminiKey}'\nGOOGLE_API_KEY = AIzaSyVERTEX0123456789abcdefghijklmnopq # express\nGEMINI_MODEL=gemini-2.5-pro\n";
            File.WriteAllText(dotEnv, text);
            var command = new AgentCommand("gemini", new Dictionary<string, string?>
            {
                ["HOME"] = home, ["GEMINI_CLI_HOME"] = null, ["GEMINI_API_KEY"] = null, ["GOOGLE_GEMINI_BASE_URL"] = null,
                ["GOOGLE_GENAI_USE_VERTEXAI"] = null, ["GOOGLE_GENAI_USE_GCA"] = null,
            });
            var agent = AcpAgentDefinition.Gemini(command, Path.Combine(data, "gate-policy.toml"));
            var environment = new Dictionary<string, string?>();

            var state = agent.HoldSecrets!(agent.Command, environment, agent.State);

            var forward = Assert.Single(state.Forwards);
            Assert.Equal(GeminiKey, Assert.Single(forward.Secrets).Real);
            Assert.Equal(new Uri("https://generativelanguage.googleapis.com"), forward.Upstream);
            var placeholder = environment["GEMINI_API_KEY"];
            Assert.Equal(forward.Secrets[0].Placeholder, placeholder);
            var copy = Assert.Single(state.Config, c => c.Path == dotEnv).Source!;
            Assert.Equal($"# keys\nexport GEMINI_API_KEY='{placeholder}'\nGOOGLE_API_KEY = {Placeholders.For("AIzaSyVERTEX0123456789abcdefghijklmnopq")} # express\nGEMINI_MODEL=gemini-2.5-pro\n",
                File.ReadAllText(copy));
            Assert.StartsWith(data, copy, StringComparison.Ordinal);
            Assert.Equal(text, File.ReadAllText(dotEnv));
        }
        finally
        {
            TempPaths.Delete(home);
            TempPaths.Delete(data);
        }
    }

    [Fact]
    public void Pi_ProvidersKeys_ArePlaceholdersInTheSandboxesModelsJson_TheOwnersIsLeft_CommandsAndModelsOfTheirOwnUrlStayAsTheyAre()
    {
        var home = TempPaths.NewDirectory("pc-pi");
        var data = TempPaths.NewDirectory("pc-pi-data");
        try
        {
            var owners = Path.Combine(home, "models.json");
            var text = """
                {"providers":{
                  "literal":{"baseUrl":"https://one.example.org/v1","api":"openai-completions","apiKey":"sk-literal0123456789abcdefghij","models":[{"id":"m"}]},
                  "variable":{"baseUrl":"https://two.example.org/v1","api":"anthropic-messages","apiKey":"TWO_KEY","models":[{"id":"m"}]},
                  "command":{"baseUrl":"https://three.example.org/v1","apiKey":"!pass show key","models":[{"id":"m"}]},
                  "loggedin":{"baseUrl":"https://four.example.org/v1","apiKey":"sk-loggedin0123456789abcdefgh","models":[{"id":"m"}]},
                  "ownurl":{"baseUrl":"https://five.example.org/v1","apiKey":"sk-ownurl0123456789abcdefghij","models":[{"id":"m","baseUrl":"https://six.example.org"}]}
                }}
                """;
            File.WriteAllText(owners, text);
            File.WriteAllText(Path.Combine(home, "auth.json"), """{"loggedin":{"type":"api_key","key":"sk-other"}}""");
            var command = new AgentCommand("pi", new Dictionary<string, string?> { ["TWO_KEY"] = "sk-variable0123456789abcdefghij" });
            var environment = new Dictionary<string, string?>();

            var (forwards, config) = PiSecrets.Hold(command, home, data, new AgentHome(Path.Combine(data, "home"), home), [], environment);

            // auth.json's key outranks models.json's for its provider: both held, so neither is inside whichever pi sends.
            Assert.Equal(["https://four.example.org/v1", "https://one.example.org/v1", "https://two.example.org/v1"], forwards.Select(f => f.Upstream.ToString()));
            Assert.Equal(["loggedin (auth.json), loggedin.apiKey (models.json)", "literal.apiKey (models.json)", "TWO_KEY"],
                forwards.Select(f => string.Join(", ", f.Secrets.Select(s => s.Name))));
            Assert.Equal(owners, config!.Path);
            Assert.Equal(text, File.ReadAllText(owners));
            var sandboxes = JsonNode.Parse(File.ReadAllText(config.Source!))!["providers"]!;
            Assert.Equal(forwards[1].Secrets[0].Placeholder, sandboxes["literal"]!["apiKey"]!.GetValue<string>());
            Assert.Equal(EgressLayout.ForwardUrl([], forwards, 1), sandboxes["literal"]!["baseUrl"]!.GetValue<string>());
            Assert.Equal(EgressLayout.ForwardUrl([], forwards, 2), sandboxes["variable"]!["baseUrl"]!.GetValue<string>());
            Assert.Equal(EgressLayout.ForwardUrl([], forwards, 0), sandboxes["loggedin"]!["baseUrl"]!.GetValue<string>());
            Assert.Equal("TWO_KEY", sandboxes["variable"]!["apiKey"]!.GetValue<string>());
            Assert.Equal(forwards[2].Secrets[0].Placeholder, environment["TWO_KEY"]);
            Assert.Single(environment);
            foreach (var kept in new[] { "command", "ownurl" })
            {
                Assert.Equal(JsonNode.Parse(text)!["providers"]![kept]!.ToJsonString(), sandboxes[kept]!.ToJsonString());
            }
        }
        finally
        {
            TempPaths.Delete(home);
            TempPaths.Delete(data);
        }
    }

    /// <summary>
    /// pi's own logins and the variables it reads for its built-in providers: a key in auth.json (itself, or a variable it names) and
    /// <c>GEMINI_API_KEY</c> are placeholders, each provider's base URL (its built-in API) overridden to its endpoint in the
    /// sandbox's models.json; an OAuth login, a key made by a command and a provider of no known base URL keep what they have.
    /// </summary>
    [Fact]
    public void Pi_KeysOfItsAuthJsonAndBuiltInProvidersVariables_ArePlaceholders_TheProvidersPointedAtTheirEndpoints()
    {
        var home = TempPaths.NewDirectory("pc-pi");
        var data = TempPaths.NewDirectory("pc-pi-data");
        try
        {
            var folder = Path.Combine(home, ".pi", "agent");
            Directory.CreateDirectory(folder);
            const string anthropic = "sk-ant-api03-realAUTHJSON0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-AbCdEfAA";
            const string openAi = "sk-proj-realVARIABLE0123456789abcdefghijklmnop";
            const string gemini = "AIzaSyREALGEMINI0123456789abcdefghijklmn";
            var logins = $$"""
                {"anthropic":{"type":"api_key","key":"{{anthropic}}"},"openai":{"type":"api_key","key":"MY_OPENAI"},
                 "github-copilot":{"type":"oauth","refresh":"ghr_real","access":"tid=real","expires":1},
                 "azure-openai-responses":{"type":"api_key","key":"azure-real-key"},"groq":{"type":"api_key","key":"!pass show groq"} }
                """;
            File.WriteAllText(Path.Combine(folder, "auth.json"), logins);
            var command = new AgentCommand("pi", new Dictionary<string, string?>
            {
                ["HOME"] = home, ["MY_OPENAI"] = openAi, ["GEMINI_API_KEY"] = gemini, ["ANTHROPIC_API_KEY"] = null, ["OPENAI_API_KEY"] = null,
            });
            var environment = new Dictionary<string, string?>();
            var agentHome = new AgentHome(Path.Combine(data, "home"), home);

            var (forwards, config) = PiSecrets.Hold(command, folder, data, agentHome, [], environment);

            Assert.Equal(["anthropic: https://api.anthropic.com/ anthropic (auth.json)", "openai: https://api.openai.com/v1 MY_OPENAI",
                "google: https://generativelanguage.googleapis.com/v1beta GEMINI_API_KEY"],
                forwards.Select((f, i) => $"{new[] { "anthropic", "openai", "google" }[i]}: {f.Upstream} {Assert.Single(f.Secrets).Name}"));
            Assert.Equal([anthropic, openAi, gemini], forwards.Select(f => f.Secrets[0].Real));
            var sandboxes = JsonNode.Parse(File.ReadAllText(config!.Source!))!["providers"]!.AsObject();
            Assert.Equal(["anthropic", "openai", "google"], sandboxes.Select(p => p.Key));
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal("{\"baseUrl\":\"" + EgressLayout.ForwardUrl([], forwards, i) + "\"}", sandboxes[i]!.ToJsonString());
            }

            Assert.Equal(forwards[1].Secrets[0].Placeholder, environment["MY_OPENAI"]);
            Assert.Equal(forwards[2].Secrets[0].Placeholder, environment["GEMINI_API_KEY"]);
            Assert.Equal(2, environment.Count);
            var copy = JsonNode.Parse(agentHome.Read(Path.Combine(folder, "auth.json"), 1 << 20)!)!;
            Assert.Equal(forwards[0].Secrets[0].Placeholder, copy["anthropic"]!["key"]!.GetValue<string>());
            Assert.StartsWith("sk-ant-api03-", forwards[0].Secrets[0].Placeholder, StringComparison.Ordinal);
            Assert.Equal("MY_OPENAI", copy["openai"]!["key"]!.GetValue<string>());
            foreach (var kept in new[] { "github-copilot", "azure-openai-responses", "groq" })
            {
                Assert.Equal(JsonNode.Parse(logins)![kept]!.ToJsonString(), copy[kept]!.ToJsonString());
            }

            Assert.Equal(logins, File.ReadAllText(Path.Combine(folder, "auth.json")));
        }
        finally
        {
            TempPaths.Delete(home);
            TempPaths.Delete(data);
        }
    }

    [Theory]
    [InlineData("sk-ant-api03-real0123456789abcdefghijklmnop", true)]
    [InlineData(null, false)]
    public void ClaudeAgentAcp_AKeyInTheServersEnvironment_IsHeldAsClaudeCodes_AndTheSubscriptionLoginStaysOut(string? key, bool held)
    {
        var home = TempPaths.NewDirectory("pc-acp");
        try
        {
            var environment = new Dictionary<string, string?>
            {
                ["HOME"] = home, ["ANTHROPIC_API_KEY"] = key, ["ANTHROPIC_AUTH_TOKEN"] = null, ["CLAUDE_CODE_OAUTH_TOKEN"] = null,
                ["ANTHROPIC_BASE_URL"] = "https://gateway.example.org/anthropic", ["CLAUDE_CONFIG_DIR"] = null,
            };
            var entry = JsonElement.Parse("""[{"id":"claude-acp","command":"claude-agent-acp"}]""");
            var agent = Assert.Single(AcpAgentsFile.Parse(entry, "agents.json", [], environment));
            var agentEnvironment = new Dictionary<string, string?>();

            var forwards = agent.HoldSecrets!(agent.Command, agentEnvironment, agent.State).Forwards;

            Assert.Equal(held, forwards.Count == 1);
            Assert.Equal(held, agentEnvironment.ContainsKey("ANTHROPIC_API_KEY"));
            // Logged in by its key, it needs no copy of the owner's subscription login (a refresh token).
            Assert.Equal(held, agent.State.Logins.Count == 0);
            if (held)
            {
                Assert.Equal(("ANTHROPIC_BASE_URL", new Uri("https://gateway.example.org/anthropic")), (forwards[0].Variable, forwards[0].Upstream));
                Assert.NotEqual(key, agentEnvironment["ANTHROPIC_API_KEY"]);
            }
        }
        finally
        {
            TempPaths.Delete(home);
        }
    }
}
