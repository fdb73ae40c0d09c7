using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The agents PocketCoder refuses by name (<c>RefusedAgents</c>): each says why in health and when a session is asked of it, and
/// each reason is shown on the real CLI, pinned in tests/agents, against the fake model: Grok CLI, run by a program, runs a
/// command nobody was asked about; Amp and Auggie ask their vendors' own services, not a model wire, for every turn. (Crush's npm
/// package cannot be installed offline: its reason is the one thing not shown here.)
/// </summary>
public sealed class RefusedAgentTests
{
    [Fact]
    public async Task Grok_RunByAProgram_RunsACommandNobodyWasAskedAbout()
    {
        await using var model = await FakeModelServer.StartAsync();
        var folder = TempPaths.NewDirectory("pc-grok");
        try
        {
            model.Enqueue(ScriptedReply.ToolUse("bash", new { command = "touch grok-ran.txt" }), ScriptedReply.Text("Done."));
            var output = await RunAsync("grok", folder, new() { ["GROK_API_KEY"] = "fake-key", ["GROK_BASE_URL"] = $"{model.BaseUrl}v1" },
                "-p", "touch a file", "-m", "fake-model");

            Assert.True(File.Exists(Path.Combine(folder, "grok-ran.txt")), $"grok did not run the command: {output}");
            Assert.Equal(2, model.Requests.Count(r => r.ConsumedScript));
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    /// <summary>
    /// Factory Droid over ACP at its most careful autonomy level ("normal": auto-approves only read operations), with a model of
    /// the owner's own: a command it deems read-only runs with no permission request, and its output reaches the model.
    /// </summary>
    [Fact]
    public async Task Droid_OverAcpAtItsMostCarefulLevel_RunsACommandItDeemsReadOnlyWithoutAsking()
    {
        await using var model = await FakeModelServer.StartAsync();
        var folder = TempPaths.NewDirectory("pc-droid");
        try
        {
            File.WriteAllText(Path.Combine(folder, "listed-by-droid.txt"), "");
            var factory = Directory.CreateDirectory(Path.Combine(folder, ".home", ".factory")).FullName;
            File.WriteAllText(Path.Combine(factory, "settings.json"), JsonSerializer.Serialize(new
            {
                customModels = new[] { new { model = "fake-model", displayName = "Fake", baseUrl = $"{model.BaseUrl}v1", apiKey = "fake-key",
                    provider = "generic-chat-completion-api", maxOutputTokens = 1000 } },
            }));
            model.Enqueue(ScriptedReply.ToolUse("Execute", new { command = "ls -la", riskLevel = "low", riskLevelReason = "look" }), ScriptedReply.Text("Listed."));

            var asked = await DroidOverAcpAsync(folder, "list the files");

            Assert.False(asked, "droid asked for permission");
            Assert.Contains(model.Requests, r => r.ConsumedScript && r.Body.GetRawText().Contains("listed-by-droid.txt", StringComparison.Ordinal));
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    [Theory]
    // Amp asks its own server (getUserInfo, its internal API) before any turn; Auggie streams each turn from Augment's chat-stream.
    [InlineData("amp", "/api/internal")]
    [InlineData("auggie", "/chat-stream")]
    public async Task VendorServiceAgent_PointedAtAModelServer_AsksForItsVendorsApiNotAModel(string agent, string vendorPath)
    {
        await using var model = await FakeModelServer.StartAsync();
        var folder = TempPaths.NewDirectory($"pc-{agent}");
        try
        {
            model.Enqueue(ScriptedReply.Text("Never asked for."));
            var url = model.BaseUrl.ToString();
            Dictionary<string, string?> environment = agent == "amp"
                ? new() { ["AMP_URL"] = url, ["AMP_API_KEY"] = "fake-key" }
                : new() { ["AUGMENT_SESSION_AUTH"] = JsonSerializer.Serialize(new { accessToken = "fake-key", tenantURL = url, scopes = new[] { "email" } }) };
            string[] arguments = agent == "amp" ? ["-x", "say hi"] : ["--print", "say hi"];

            var output = await RunAsync(agent, folder, environment, arguments);

            Assert.Contains(model.UnroutedRequests, request => request.Contains(vendorPath, StringComparison.Ordinal));
            Assert.DoesNotContain(model.Requests, request => request.ConsumedScript);
            Assert.DoesNotContain("Never asked for.", output, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    [Fact]
    public async Task RefusedByName_HealthSaysWhy_AndASessionAskedOfItIsRefusedWithTheSameWords()
    {
        await using var server = await TestServer.StartAsync(agents: new Dictionary<string, AgentCommand>
        {
            ["grok"] = new(AgentPackages.File(".bin", "grok"), new Dictionary<string, string?>()),
            ["crush"] = new("/nonexistent/crush", new Dictionary<string, string?>()),
        });
        var phone = await server.PairAsync();
        var repository = TempPaths.NewGitRepository();
        try
        {
            var agents = (await phone.Http.GetOkAsync("/api/health")).GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("id").GetString()!);
            Assert.False(agents["grok"].GetProperty("available").GetBoolean());
            Assert.Contains("PocketCoder does not start Grok CLI: it asks before a command", agents["grok"].GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Contains("Crush is not installed, and PocketCoder would not start it: its npm package downloads",
                agents["crush"].GetProperty("detail").GetString(), StringComparison.Ordinal);

            var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository });
            var refused = await phone.Http.PostAsJsonAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions", new { agent = "grok", prompt = "go" });
            var problem = await ApiAssert.StartFailsAsync(phone.Http, refused, "AGENT_UNAVAILABLE");
            Assert.Contains("PocketCoder does not start Grok CLI: it asks before a command", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain((await phone.Http.GetOkAsync("/api/sessions")).EnumerateArray(), s => s.GetProperty("status").GetString() != "failed");
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    /// <summary>
    /// A refused agent is never executed, not even with <c>--version</c> to fill health (or doctor, which probes the same adapters):
    /// each stand-in here records any run of it. An npm install's version is read from its package instead.
    /// </summary>
    [Fact]
    public async Task RefusedByName_HealthNeverRunsTheExecutable_ItsVersionIsReadFromItsPackage()
    {
        var folder = TempPaths.NewDirectory("pc-refused");
        try
        {
            var ran = Path.Combine(folder, "ran");
            var agents = new Dictionary<string, AgentCommand>();
            foreach (var id in (string[])["grok", "amp", "auggie", "crush", "droid"])
            {
                agents[id] = new AgentCommand(NpmStandIn(folder, $"@vendor/{id}", "9.1.2", $"touch '{ran}-{id}'; echo 9.1.2"), new Dictionary<string, string?>());
            }

            // One not installed by npm: its version is unknown, and it is not run to learn it either.
            var plain = Path.Combine(folder, "bin", "droid");
            Directory.CreateDirectory(Path.GetDirectoryName(plain)!);
            File.WriteAllText(plain, $"#!/bin/sh\ntouch '{ran}-plain'\necho 9.1.2\n");
            File.SetUnixFileMode(plain, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            agents["droid"] = new AgentCommand(plain, new Dictionary<string, string?>());
            await using var server = await TestServer.StartAsync(agents: agents);
            var phone = await server.PairAsync();

            var health = (await phone.Http.GetOkAsync("/api/health")).GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("id").GetString()!);

            Assert.Empty(Directory.EnumerateFiles(folder, "ran-*"));
            foreach (var id in (string[])["grok", "amp", "auggie", "crush"])
            {
                Assert.False(health[id].GetProperty("available").GetBoolean());
                Assert.Equal("9.1.2", health[id].GetProperty("version").GetString());
                Assert.StartsWith("PocketCoder does not start ", health[id].GetProperty("detail").GetString(), StringComparison.Ordinal);
            }

            Assert.True(health["droid"].GetProperty("version").ValueKind == JsonValueKind.Null, health["droid"].GetRawText());
            Assert.StartsWith("PocketCoder does not start Factory Droid:", health["droid"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(folder);
        }
    }

    /// <summary>
    /// An npm install of <paramref name="package"/> under <paramref name="folder"/> (<c>node_modules/PACKAGE</c>, its executable
    /// linked from <c>node_modules/.bin</c>) whose executable runs <paramref name="script"/>; the link's path.
    /// </summary>
    internal static string NpmStandIn(string folder, string package, string version, string script)
    {
        var root = Path.Combine(folder, "node_modules", package);
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        File.WriteAllText(Path.Combine(root, "package.json"), JsonSerializer.Serialize(new { name = package, version }));
        var executable = Path.Combine(root, "bin", "cli.js");
        File.WriteAllText(executable, $"#!/bin/sh\n{script}\n");
        File.SetUnixFileMode(executable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var link = Path.Combine(folder, "node_modules", ".bin", package.Replace('/', '-'));
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        File.CreateSymbolicLink(link, Path.Combine("..", package, "bin", "cli.js"));
        return link;
    }

    /// <summary>
    /// <c>droid exec --output-format acp</c> in <paramref name="folder"/> (its home there): initialize, a session on the owner's own
    /// model, one prompt to its end. Whether it asked for permission (it would be refused: nothing allowed it).
    /// </summary>
    private static async Task<bool> DroidOverAcpAsync(string folder, string prompt)
    {
        var info = new System.Diagnostics.ProcessStartInfo(AgentPackages.File(".bin", "droid"), ["exec", "--output-format", "acp"])
        {
            WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        info.Environment["HOME"] = Path.Combine(folder, ".home");
        info.Environment["FACTORY_API_KEY"] = "fake-key";
        using var process = System.Diagnostics.Process.Start(info)!;
        _ = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var asked = false;
        try
        {
            async Task<JsonElement> CallAsync(int id, string method, object parameters)
            {
                await process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(new { jsonrpc = "2.0", id, method, @params = parameters }));
                await process.StandardInput.FlushAsync();
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    var message = JsonElement.Parse(line);
                    if (message.TryGetProperty("method", out var asking) && asking.GetString() == "session/request_permission")
                    {
                        asked = true;
                        var cancel = new { jsonrpc = "2.0", id = message.GetProperty("id"), result = new { outcome = new { outcome = "cancelled" } } };
                        await process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(cancel));
                        await process.StandardInput.FlushAsync();
                    }
                    else if (!message.TryGetProperty("method", out _) && message.TryGetProperty("id", out var answered) && answered.ValueKind == JsonValueKind.Number
                             && answered.GetInt32() == id)
                    {
                        return message;
                    }
                }

                throw new InvalidOperationException($"droid ended before answering {method}");
            }

            await CallAsync(1, "initialize", new { protocolVersion = 1, clientCapabilities = new { fs = new { readTextFile = false, writeTextFile = false }, terminal = false } });
            var session = (await CallAsync(2, "session/new", new { cwd = folder, mcpServers = Array.Empty<object>() })).GetProperty("result").GetProperty("sessionId").GetString();
            var custom = (await CallAsync(3, "session/set_config_option", new { sessionId = session, configId = "model", value = "custom:Fake-0" }));
            Assert.False(custom.TryGetProperty("error", out var error), $"droid took no model of the owner's: {custom.GetRawText()}");
            await CallAsync(4, "session/prompt", new { sessionId = session, prompt = new[] { new { type = "text", text = prompt } } });
            return asked;
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The agent's CLI in <paramref name="folder"/>, with a home of its own there, until it exits (at most a minute); what it printed.</summary>
    private static async Task<string> RunAsync(string agent, string folder, Dictionary<string, string?> environment, params string[] arguments)
    {
        var home = Directory.CreateDirectory(Path.Combine(folder, ".home")).FullName;
        var info = new System.Diagnostics.ProcessStartInfo(AgentPackages.File(".bin", agent))
        {
            WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["HOME"] = home;
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }

        return await output + await error;
    }
}
