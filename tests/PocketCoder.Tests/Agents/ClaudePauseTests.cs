using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using FakeLlm;
using PocketCoder.Agents.Claude;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// What a paused Claude Code does when it resumes, with the REAL CLI and nothing of PocketCoder between: it runs the
/// deferred call first, before it has read a single line of its input, so not even the gate hook sent over stdin is
/// there yet (seen with this CLI: its permission request came before its answer to initialize). The resumed run sends no
/// initialize at all, the worst case, and the owner's own settings allow every Bash command: only the hook that every
/// Claude start gets in its settings (<see cref="ClaudeCodeAdapter.AskFirstSettings"/>) puts the call to the host.
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
    public async Task ResumedDeferredCall_IsPutToTheHost_BeforeAnyGateHook_ThoughTheOwnerAllowsEveryBash()
    {
        var (sessionId, callId) = await PauseOnACommandAsync();

        var asked = new List<string>();
        await RunAsync(["--resume", sessionId, "--settings", ClaudeCodeAdapter.AskFirstSettings], initialize: false, prompt: null, async (line, claude) =>
        {
            if (Str(line, "type") == "control_request" && line["request"]?["subtype"]?.GetValue<string>() == "can_use_tool")
            {
                asked.Add(line["request"]?["tool_use_id"]?.GetValue<string>() ?? "");
                await RespondAsync(claude, line, new JsonObject { ["behavior"] = "deny", ["message"] = "Not while the build runs." });
            }

            return Str(line, "type") == "result";
        });

        Assert.Equal([callId], asked);
        Assert.False(File.Exists(Path.Combine(_project, "out.txt")), "the deferred call ran when Claude resumed, unasked");
        var result = Assert.Single(_model.Requests.Last(r => r.ConsumedScript).LastToolResults());
        Assert.True(result.IsError);
        Assert.Contains("Not while the build runs.", result.Content, StringComparison.Ordinal);
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
