using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The owner's own Gemini CLI configuration (0.61, the real CLI over ACP) cannot run a tool call that PocketCoder's gatekeeper
/// did not see: user settings, policy files wherever they point, and Gemini's own allow-lists and "safe command" heuristic,
/// sandboxed and not. On the code before the gate policy (GeminiGate) every case but the approval mode ran its call unasked, in
/// both sandbox modes.
/// </summary>
public sealed class GeminiBypassTests
{
    private const string Touched = "gem.txt";

    /// <param name="Arrange">The owner's configuration.</param>
    /// <param name="Call">What the model asks to run.</param>
    /// <param name="Effect">A file in the project the call would make.</param>
    /// <param name="RefusedByGemini">Gemini refuses the call itself instead of asking (a subagent: over ACP, 0.61 can only ask about
    /// a tool of its registry, which a subagent is not).</param>
    private sealed record Variant(Action<AgentWorld> Arrange, ScriptedReply Call, string? Effect = Touched, bool RefusedByGemini = false);

    private static ScriptedReply Shell(string command) => ScriptedReply.ToolUse("run_shell_command", new { command, description = "run it" });

    private static readonly ScriptedReply Touch = Shell($"touch {Touched}");

    private const string AllowEverything = "toolName = \"*\"\ndecision = \"allow\"\npriority = 999";

    private static readonly Dictionary<string, Variant> Variants = new(StringComparer.Ordinal)
    {
        // Gemini turns its own "ask" into "allow" for commands it deems safe (echo, ls, cat, grep…), whatever the settings.
        ["nothing configured, a command Gemini deems safe"] = new(_ => { }, Shell("echo hi"), Effect: null),
        // Without a redirection: Gemini asks about one even when a rule allows the command.
        ["tools.allowed run_shell_command"] = new(w => Tools(w, "allowed", "run_shell_command"), Touch),
        ["tools.allowed with an argument pattern"] = new(w => Tools(w, "allowed", "run_shell_command(touch)"), Touch),
        ["tools.core run_shell_command"] = new(w => Tools(w, "core", "run_shell_command"), Touch),
        // Would skip the policy for edits altogether; the untrusted workspace forces the default mode.
        ["general.defaultApprovalMode auto_edit"] = new(w => Settings(w, s => s["general"] = new JsonObject { ["defaultApprovalMode"] = "auto_edit" }),
            ScriptedReply.ToolUse("write_file", new { file_path = Touched, content = "x" })),
        ["a user policy allowing everything"] = new(w => Policy(w, ".gemini/policies", AllowEverything), Touch),
        ["policyPaths naming allowing policies"] = new(w =>
        {
            Policy(w, "gemini-policies", AllowEverything);
            Settings(w, s => s["policyPaths"] = new JsonArray(Path.Combine(w.Home, "gemini-policies")));
        }, Touch),
        // The admin tier, as high as PocketCoder's own: replaced by it (--admin-policy wins over the setting).
        ["adminPolicyPaths naming allowing policies"] = new(w =>
        {
            Policy(w, "gemini-admin", AllowEverything);
            Settings(w, s => s["adminPolicyPaths"] = new JsonArray(Path.Combine(w.Home, "gemini-admin")));
        }, Touch),
        // Gemini's default policy allows its subagents, which then run their own tools.
        ["a subagent"] = new(_ => { }, ScriptedReply.ToolUse("invoke_agent", new { agent_name = "codebase_investigator", prompt = "look around" }),
            Effect: null, RefusedByGemini: true),
    };

    public static TheoryData<string> Cases() => [.. Variants.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task OwnersConfiguration_CallPutToTheGatekeeperAndNothingRunsBeforeTheDecision_SandboxedOrNot(string variant)
    {
        var (arrange, call, effect, refusedByGemini) = Variants[variant];
        await using var world = await AgentWorld.GeminiAsync();
        arrange(world);
        foreach (var sandbox in (string[])["sandboxed", "none"])
        {
            Assert.True((await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { sandbox })).IsSuccessStatusCode);
            var what = $"{variant}, sandbox {sandbox}";
            world.Model.Enqueue(call, ScriptedReply.Text("Done."));
            var sessionId = await world.StartSessionAsync("go");
            await using (var events = await world.EventsAsync(sessionId))
            {
                var first = await events.WaitForAsync(e => e.Event is "approval.requested" or "tool.result" or "turn.completed");
                if (refusedByGemini)
                {
                    Assert.True(first.Event == "tool.result" && first.Json.GetProperty("isError").GetBoolean(), $"{what}: not refused ({first.Event} {first.Data}).");
                }
                else
                {
                    Assert.True(first.Event == "approval.requested", $"{what}: the call was not put to the gatekeeper ({first.Event} {first.Data}).");
                    Assert.True(effect is null || !File.Exists(Path.Combine(world.Repository, effect)), $"{what}: the call ran while its approval was pending.");
                    Assert.Equal(200, (int)(await world.DecideAsync(first.Str("approvalId")!, "deny", "no")).StatusCode);
                }

                await events.WaitForAsync("turn.completed");
            }

            Assert.True(effect is null || !File.Exists(Path.Combine(world.Repository, effect)), $"{what}: a denied call ran.");
            // Its process ends before the next mode's starts.
            Assert.True((await world.Http.DeleteAsync($"/api/sessions/{sessionId}")).IsSuccessStatusCode);
        }
    }

    [Fact]
    public async Task ReadsSearchesAndTheToDoList_GeminiWouldRunThemUnasked_EachPutToTheGatekeeperAndLedgered()
    {
        // Gemini's default policy allows these without asking. PocketCoder's own policy allows reads inside the project and the
        // agent's to-do list, as it does for Claude; a web search is a fetch, which the owner decides.
        await using var world = await AgentWorld.GeminiAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("read_file", new { file_path = "README.md" }),
            ScriptedReply.ToolUse("list_directory", new { dir_path = "." }),
            ScriptedReply.ToolUse("glob", new { pattern = "*.md" }),
            ScriptedReply.ToolUse("grep_search", new { pattern = "test" }),
            ScriptedReply.ToolUse("write_todos", new { todos = new[] { new { description = "look around", status = "pending" } } }),
            ScriptedReply.ToolUse("google_web_search", new { query = "pocketcoder" }),
            ScriptedReply.Text("Done."));

        var sessionId = await world.StartSessionAsync("look around");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync(e => e.Event is "approval.requested" or "turn.completed");
        Assert.Equal("approval.requested", asked.Event);
        Assert.Equal("google_web_search", asked.Str("tool"));
        Assert.Equal("fetch", asked.Str("kind"));
        Assert.Equal(200, (int)(await world.DecideAsync(asked.Str("approvalId")!, "deny", "no")).StatusCode);
        await events.WaitForAsync("turn.completed");

        var allowed = (await LedgerAsync(world))
            .Where(e => e.GetProperty("action").GetString() == "approval.auto_allowed")
            .Select(e => e.GetProperty("detail").GetProperty("tool").GetString())
            .ToList();
        Assert.Equal(["read_file", "list_directory", "glob", "grep_search", "write_todos"], allowed);
    }

    private static void Tools(AgentWorld world, string list, string entry) =>
        Settings(world, s => s["tools"] = new JsonObject { [list] = new JsonArray(entry) });

    private static void Settings(AgentWorld world, Action<JsonObject> edit)
    {
        var path = Path.Combine(world.Home, ".gemini", "settings.json");
        var settings = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(settings);
        File.WriteAllText(path, settings.ToJsonString());
    }

    private static void Policy(AgentWorld world, string folder, string rule)
    {
        var path = Directory.CreateDirectory(Path.Combine(world.Home, folder)).FullName;
        File.WriteAllText(Path.Combine(path, "allow.toml"), $"[[rule]]\n{rule}\n");
    }

    private static async Task<List<JsonElement>> LedgerAsync(AgentWorld world) =>
        [.. (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()];
}
