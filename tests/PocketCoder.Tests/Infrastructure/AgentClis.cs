using FakeLlm;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The REAL agent CLIs other than Claude Code, installed (pinned) in tests/agents by the test command, each
/// pointed at a <see cref="FakeModelServer"/> with a private HOME so nothing of the machine's own set-up leaks in.
/// </summary>
public static class AgentClis
{
    /// <summary>
    /// Codex with <c>CODEX_HOME</c> in the test's home: config.toml points a "fake" provider at the fake model
    /// on the Responses wire (the only wire Codex 0.169 accepts).
    /// </summary>
    public static IReadOnlyDictionary<string, AgentCommand> Codex(FakeModelServer model, string home)
    {
        var codexHome = CodexHome(home);
        File.WriteAllText(Path.Combine(codexHome, "config.toml"), $"""
            model = "fake-model"
            model_provider = "fake"

            [model_providers.fake]
            name = "Fake"
            base_url = "{model.BaseUrl.ToString().TrimEnd('/')}/v1"
            env_key = "FAKE_API_KEY"
            wire_api = "responses"
            """);
        return new Dictionary<string, AgentCommand>
        {
            ["codex"] = new AgentCommand(Locate("POCKETCODER_TEST_CODEX", Path.Combine(".bin", "codex")), new Dictionary<string, string?>
            {
                ["HOME"] = home,
                ["CODEX_HOME"] = codexHome,
                ["FAKE_API_KEY"] = "fake-key",
                ["OPENAI_API_KEY"] = null,
                ["OPENAI_BASE_URL"] = null,
            }),
        };
    }

    /// <summary>
    /// Where a test's Codex keeps its state. Not in the test's home under the temp folder: Codex refuses to put its helper
    /// aliases on PATH (<c>codex-linux-sandbox</c>, <c>apply_patch</c>) when CODEX_HOME is under the temp folder, and its
    /// sandbox then fails now and then with "bwrap: execvp codex-linux-sandbox: No such file or directory" (seen in
    /// clean-clone runs as an allowed command that never ran). A real ~/.codex is never under /tmp, so the tests keep it
    /// where a real one would be: a folder of this test run under /var/tmp, reached from the home as <c>.codex</c>, and
    /// deleted when the run ends.
    /// </summary>
    public static string CodexHome(string home)
    {
        var link = new DirectoryInfo(Path.Combine(home, ".codex"));
        if (link.LinkTarget is { } existing)
        {
            return existing; // The same home again (a restart, a terminal beside the server): the same Codex state.
        }

        var codexHome = Path.Combine(CodexHomes.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(codexHome);
        Directory.CreateSymbolicLink(Path.Combine(home, ".codex"), codexHome);
        return codexHome;
    }

    /// <summary>
    /// The folder of this test run's Codex homes: the one ./scripts/test.sh names (and deletes at the end), else one per
    /// test process under /var/tmp; those of test processes no longer running are deleted first.
    /// </summary>
    private static readonly Lazy<string> CodexHomes = new(() =>
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_TEST_CODEX_HOMES") is { Length: > 0 } named)
        {
            Directory.CreateDirectory(named);
            return named;
        }

        const string prefix = "pocketcoder-test-codex-";
        foreach (var stale in Directory.EnumerateDirectories("/var/tmp", prefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(stale)[prefix.Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Directory.Delete(stale, recursive: true);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                }
            }
        }

        var root = Path.Combine("/var/tmp", prefix + Environment.ProcessId);
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return root;
    });

    /// <summary>
    /// OpenCode with its whole world in the test's home (HOME and the XDG folders) and its config in a file named by
    /// OPENCODE_CONFIG, so nothing is written into the project: a "fake" OpenAI-compatible provider on the Chat
    /// Completions wire. What it must ask about comes from the adapter itself (OPENCODE_PERMISSION), not from here.
    /// </summary>
    public static IReadOnlyDictionary<string, AgentCommand> OpenCode(FakeModelServer model, string home)
    {
        var config = Path.Combine(home, "opencode-test.json");
        File.WriteAllText(config, $$"""
            {
              "provider": {
                "fake": {
                  "npm": "@ai-sdk/openai-compatible",
                  "name": "Fake",
                  "options": { "baseURL": "{{model.BaseUrl.ToString().TrimEnd('/')}}/v1", "apiKey": "fake-key" },
                  "models": { "fake-model": { "name": "Fake model", "tool_call": true, "attachment": true, "modalities": { "input": ["text", "image"], "output": ["text"] } } }
                }
              },
              "model": "fake/fake-model",
              "small_model": "fake/fake-model",
              "autoupdate": false,
              "share": "disabled"
            }
            """);
        return new Dictionary<string, AgentCommand>
        {
            ["opencode"] = new AgentCommand(Locate("POCKETCODER_TEST_OPENCODE", Path.Combine(".bin", "opencode")), new Dictionary<string, string?>
            {
                ["HOME"] = home,
                ["XDG_CONFIG_HOME"] = Path.Combine(home, ".config"),
                ["XDG_DATA_HOME"] = Path.Combine(home, ".local", "share"),
                ["XDG_STATE_HOME"] = Path.Combine(home, ".local", "state"),
                ["XDG_CACHE_HOME"] = Path.Combine(home, ".cache"),
                ["OPENCODE_CONFIG"] = config,
                ["OPENCODE_DISABLE_MODELS_FETCH"] = "1",
                ["OPENAI_API_KEY"] = null,
                ["ANTHROPIC_API_KEY"] = null,
            }),
        };
    }

    /// <summary>
    /// Kilo Code set up as OpenCode is (its config in a file named by KILO_CONFIG in the test's home, every folder there), against
    /// the fake model's Chat Completions wire.
    /// </summary>
    public static IReadOnlyDictionary<string, AgentCommand> Kilo(FakeModelServer model, string home)
    {
        var openCode = OpenCode(model, home)["opencode"];
        var config = Path.Combine(home, "kilo-test.json");
        File.Copy(Path.Combine(home, "opencode-test.json"), config, overwrite: true);
        var environment = openCode.Environment.ToDictionary(
            variable => variable.Key.StartsWith("OPENCODE_", StringComparison.Ordinal) ? "KILO_" + variable.Key["OPENCODE_".Length..] : variable.Key,
            variable => variable.Key == "OPENCODE_CONFIG" ? config : variable.Value);
        environment["KILO_API_KEY"] = null;
        return new Dictionary<string, AgentCommand> { ["kilo"] = new AgentCommand(Locate("POCKETCODER_TEST_KILO", Path.Combine(".bin", "kilo")), environment) };
    }

    /// <summary>
    /// GitHub Copilot CLI with its bring-your-own-key provider on the fake model's Chat Completions wire, offline (no GitHub
    /// sign-in, telemetry or update check), its state in the test's home.
    /// </summary>
    public static IReadOnlyDictionary<string, AgentCommand> Copilot(FakeModelServer model, string home) => new Dictionary<string, AgentCommand>
    {
        ["copilot"] = new AgentCommand(Locate("POCKETCODER_TEST_COPILOT", Path.Combine(".bin", "copilot")), new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["COPILOT_PROVIDER_BASE_URL"] = $"{model.BaseUrl.ToString().TrimEnd('/')}/v1",
            ["COPILOT_PROVIDER_API_KEY"] = "fake-key",
            ["COPILOT_MODEL"] = "fake-model",
            ["COPILOT_OFFLINE"] = "true",
            // Settings of the machine running the tests must not change what the agent does.
            ["COPILOT_HOME"] = null,
            ["COPILOT_CACHE_HOME"] = null,
            ["XDG_CACHE_HOME"] = null,
            ["XDG_CONFIG_HOME"] = null,
            ["COPILOT_GITHUB_TOKEN"] = null,
            ["GH_TOKEN"] = null,
            ["GITHUB_TOKEN"] = null,
        }),
    };

    /// <summary>Qwen Code signed in with an OpenAI-compatible key (its user settings), pointed at the fake model's Chat Completions wire.</summary>
    public static IReadOnlyDictionary<string, AgentCommand> Qwen(FakeModelServer model, string home)
    {
        var settings = Path.Combine(home, ".qwen", "settings.json");
        if (!File.Exists(settings))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(settings)!);
            // Without selectedType Qwen Code asks how to sign in.
            File.WriteAllText(settings, """
                {"security":{"auth":{"selectedType":"openai"}},"privacy":{"usageStatisticsEnabled":false}}
                """);
        }

        return new Dictionary<string, AgentCommand>
        {
            ["qwen"] = new AgentCommand(Locate("POCKETCODER_TEST_QWEN", Path.Combine(".bin", "qwen")), new Dictionary<string, string?>
            {
                ["HOME"] = home,
                ["OPENAI_BASE_URL"] = $"{model.BaseUrl.ToString().TrimEnd('/')}/v1",
                ["OPENAI_API_KEY"] = "fake-key",
                ["OPENAI_MODEL"] = "fake-model",
                ["QWEN_HOME"] = null,
                ["QWEN_MODEL"] = null,
                ["QWEN_CODE_SYSTEM_SETTINGS_PATH"] = null,
                ["QWEN_CODE_SYSTEM_DEFAULTS_PATH"] = null,
                ["QWEN_CODE_TRUSTED_FOLDERS_PATH"] = null,
                ["DASHSCOPE_API_KEY"] = null,
            }),
        };
    }

    /// <summary>
    /// pi with a provider of the owner's own (<c>~/.pi/agent/models.json</c>: the fake model on the Chat Completions wire) as its
    /// default (<c>settings.json</c>), offline, its state in the test's home.
    /// </summary>
    /// <summary>pi's settings in the test's home: the fake provider is its default.</summary>
    public const string PiSettings = """{"defaultProvider":"fake","defaultModel":"fake-model","enableInstallTelemetry":false}""";

    public static IReadOnlyDictionary<string, AgentCommand> Pi(FakeModelServer model, string home)
    {
        var folder = Path.Combine(home, ".pi", "agent");
        Directory.CreateDirectory(folder);
        var provider = new System.Text.Json.Nodes.JsonObject
        {
            ["baseUrl"] = $"{model.BaseUrl.ToString().TrimEnd('/')}/v1",
            ["api"] = "openai-completions",
            ["apiKey"] = "fake-key",
            ["compat"] = new System.Text.Json.Nodes.JsonObject { ["supportsDeveloperRole"] = false, ["supportsReasoningEffort"] = false },
            ["models"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
            {
                ["id"] = "fake-model", ["name"] = "Fake model", ["input"] = new System.Text.Json.Nodes.JsonArray("text", "image"),
            }),
        };
        File.WriteAllText(Path.Combine(folder, "models.json"),
            new System.Text.Json.Nodes.JsonObject { ["providers"] = new System.Text.Json.Nodes.JsonObject { ["fake"] = provider } }.ToJsonString());
        if (!File.Exists(Path.Combine(folder, "settings.json")))
        {
            File.WriteAllText(Path.Combine(folder, "settings.json"), PiSettings);
        }

        return new Dictionary<string, AgentCommand>
        {
            ["pi"] = new AgentCommand(Locate("POCKETCODER_TEST_PI", Path.Combine(".bin", "pi")), new Dictionary<string, string?>
            {
                ["HOME"] = home,
                // Settings of the machine running the tests must not change what the agent does.
                ["PI_CODING_AGENT_DIR"] = null,
                ["PI_CODING_AGENT_SESSION_DIR"] = null,
                ["OPENAI_API_KEY"] = null,
                ["ANTHROPIC_API_KEY"] = null,
                ["GEMINI_API_KEY"] = null,
            }),
        };
    }

    /// <summary>Runs the agent's CLI as a person would in a terminal (its environment as the server has it); returns what it printed.</summary>
    public static async Task<string> RunInTerminalAsync(AgentCommand command, string directory, params string[] arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo(command.Command)
        {
            WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in command.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        // A shell sets PWD to where it is; some CLIs (OpenCode) take their folder from it rather than from getcwd.
        info.Environment["PWD"] = directory;
        using var process = System.Diagnostics.Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{Path.GetFileName(command.Command)} {string.Join(' ', arguments)} failed: {await output}{await error}");
        return await output;
    }

    private static string Locate(string variable, string relative)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } configured)
        {
            return configured;
        }

        var path = AgentPackages.File(relative);
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"{path} is not installed for the tests. Run the README's test command (scripts/test.sh), which installs tests/agents.");
    }
}
