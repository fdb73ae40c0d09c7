using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using FakeLlm;
using PocketCoder.Agents;
using PocketCoder.Agents.Claude;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// What a paused Claude Code does when it resumes, with the REAL CLI and nothing of PocketCoder between: it runs the
/// deferred call first, before it has read a single line of its input, so not even the gate hook sent over stdin is
/// there yet (seen with this CLI: its permission request came before its answer to initialize). These runs send no
/// initialize at all, the worst case, and the owner's own settings allow every Bash command: only the hook that
/// <see cref="ClaudePause.ResumeSettings"/> puts in the resumed process's settings stands between the call and a run.
/// </summary>
public sealed class ClaudePauseTests : IAsyncLifetime
{
    private const string Command = "echo ran >> out.txt";
    private readonly string _home = TempPaths.NewDirectory("pause-home");
    private readonly string _project = TempPaths.NewDirectory("pause-project");
    private FakeModelServer _model = null!;

    public async Task InitializeAsync()
    {
        _model = await FakeModelServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(_home, ".claude"));
        await File.WriteAllTextAsync(Path.Combine(_home, ".claude", "settings.json"), """{"permissions":{"allow":["Bash(*)"]}}""");
    }

    public async Task DisposeAsync()
    {
        await _model.DisposeAsync();
        TempPaths.Delete(_home);
        TempPaths.Delete(_project);
    }

    [Fact]
    public async Task Denied_WhileClaudeWasPaused_TheResumedCallIsDenied_WithTheOwnersReason()
    {
        var (sessionId, callId) = await PauseOnACommandAsync();

        var results = await ResumeAsync(sessionId, new PausedCall(callId, PermissionDecision.Deny("Not while the build runs.")));

        Assert.False(File.Exists(Path.Combine(_project, "out.txt")), "the denied call ran when Claude resumed");
        var result = Assert.Single(results);
        Assert.True(result.IsError);
        Assert.Contains("Not while the build runs.", result.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowedEdited_WhileClaudeWasPaused_TheOwnersVersionRuns_NotTheAgents()
    {
        var (sessionId, callId) = await PauseOnACommandAsync();
        var edited = JsonSerializer.SerializeToElement(new { command = "echo edited >> out.txt", description = "The owner's version" });

        var results = await ResumeAsync(sessionId, new PausedCall(callId, new PermissionDecision(true, UpdatedInput: edited)));

        Assert.Equal("edited\n", await File.ReadAllTextAsync(Path.Combine(_project, "out.txt")));
        Assert.False(Assert.Single(results).IsError);
    }

    [Fact]
    public void ResumeSettings_OnlyForIdsSafeInTheHooksShellCommand()
    {
        Assert.True(ClaudePause.CanResumeOn("toolu_01AbC-9"));
        Assert.False(ClaudePause.CanResumeOn("x'; touch /tmp/pwned; '"));
        Assert.False(ClaudePause.CanResumeOn(""));
        Assert.Throws<ArgumentException>(() => ClaudePause.ResumeSettings(new PausedCall("a b", PermissionDecision.Deny("no"))));
    }

    /// <summary>A session whose one call the gate hook deferred: Claude ends the turn (tool_deferred) and exits on end of input.</summary>
    private async Task<(string SessionId, string CallId)> PauseOnACommandAsync()
    {
        _model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = Command, description = "Write the file" }), ScriptedReply.Text("Carried on."));
        var sessionId = Guid.NewGuid().ToString();
        string? deferred = null;
        await RunAsync(["--session-id", sessionId], initialize: true, prompt: "Write out.txt", async (line, claude) =>
        {
            if (Str(line, "type") == "control_request" && line["request"]?["subtype"]?.GetValue<string>() == "hook_callback")
            {
                await RespondAsync(claude, line, new JsonObject
                {
                    ["hookSpecificOutput"] = new JsonObject { ["hookEventName"] = "PreToolUse", ["permissionDecision"] = "defer" },
                });
            }

            if (Str(line, "type") == "result")
            {
                Assert.Equal("tool_deferred", Str(line, "stop_reason"));
                deferred = line["deferred_tool_use"]?["id"]?.GetValue<string>();
                return true;
            }

            return false;
        });
        Assert.False(File.Exists(Path.Combine(_project, "out.txt")));
        return (sessionId, deferred ?? throw new InvalidOperationException("Claude did not say which call it deferred."));
    }

    /// <summary>Resumes with the pause's settings and no gate hook; answers any permission request with an allow, as a
    /// careless host would. Returns the tool results the model was sent.</summary>
    private async Task<IReadOnlyList<FakeLlm.ToolResult>> ResumeAsync(string sessionId, PausedCall paused)
    {
        await RunAsync(["--resume", sessionId, "--settings", ClaudePause.ResumeSettings(paused)], initialize: false, prompt: null, async (line, claude) =>
        {
            if (Str(line, "type") == "control_request" && line["request"]?["subtype"]?.GetValue<string>() == "can_use_tool")
            {
                await RespondAsync(claude, line, new JsonObject { ["behavior"] = "allow", ["updatedInput"] = line["request"]!["input"]!.DeepClone() });
            }

            return Str(line, "type") == "result";
        });
        return _model.Requests.Last(r => r.ConsumedScript).LastToolResults();
    }

    private async Task RunAsync(string[] arguments, bool initialize, string? prompt, Func<JsonObject, Process, Task<bool>> onLine)
    {
        var start = new ProcessStartInfo(ClaudeCli.Executable)
        {
            WorkingDirectory = _project, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var argument in (string[])["-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
                     "--permission-prompt-tool", "stdio", "--setting-sources=user", "--strict-mcp-config", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in ClaudeCli.Against(_model, _home)["claude-code"].Environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var claude = Process.Start(start)!;
        var stderr = claude.StandardError.ReadToEndAsync();
        if (initialize)
        {
            await WriteAsync(claude, new JsonObject
            {
                ["type"] = "control_request", ["request_id"] = "init",
                ["request"] = new JsonObject
                {
                    ["subtype"] = "initialize",
                    ["hooks"] = new JsonObject { ["PreToolUse"] = new JsonArray(new JsonObject { ["hookCallbackIds"] = new JsonArray("gate") }) },
                },
            });
        }

        if (prompt is not null)
        {
            await WriteAsync(claude, new JsonObject
            {
                ["type"] = "user", ["message"] = new JsonObject { ["role"] = "user", ["content"] = prompt }, ["parent_tool_use_id"] = null,
            });
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            while (await claude.StandardOutput.ReadLineAsync(timeout.Token) is { } text)
            {
                if (JsonNode.Parse(text) is JsonObject line && await onLine(line, claude))
                {
                    // No more input: Claude writes what it keeps and exits.
                    claude.StandardInput.Close();
                }
            }

            await claude.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!claude.HasExited)
            {
                claude.Kill(entireProcessTree: true);
            }
        }

        Assert.True(claude.ExitCode == 0, $"claude exited with {claude.ExitCode}: {await stderr}");
    }

    private static Task RespondAsync(Process claude, JsonObject request, JsonObject response) => WriteAsync(claude, new JsonObject
    {
        ["type"] = "control_response",
        ["response"] = new JsonObject { ["subtype"] = "success", ["request_id"] = Str(request, "request_id"), ["response"] = response },
    });

    private static async Task WriteAsync(Process claude, JsonObject line)
    {
        await claude.StandardInput.WriteLineAsync(line.ToJsonString());
        await claude.StandardInput.FlushAsync();
    }

    private static string? Str(JsonObject line, string property) => line[property] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
