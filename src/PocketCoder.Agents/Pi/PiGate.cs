using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Agents.Pi;

/// <summary>
/// pi's gate. pi asks about nothing itself ("no permission popups"): every tool call runs unless an extension's
/// <c>tool_call</c> handler blocks it, and in RPC mode an extension's dialogs come to the client. So PocketCoder loads one
/// extension of its own (<see cref="Extension"/>, written to the data folder at every start, read-only in the sandbox) and no
/// other (<c>--no-extensions</c>: neither the owner's nor a repository's <c>.pi/extensions</c>, which are programs pi would run
/// in its own process): before each call runs, it puts the call to PocketCoder as an editor dialog and blocks it unless the
/// answer allows it, running the owner's edited input where there is one. <c>--offline</c> keeps pi from installing the
/// packages settings name at start (an npm install runs their scripts). What is left of the settings that changes what
/// runs is refused before start (<see cref="Refusal"/>). Verified against the real CLI in <c>Gate/PiBypassTests</c>.
/// </summary>
public static class PiGate
{
    /// <summary>The title of the gate's dialog: a dialog with any other title is not a question about a call.</summary>
    internal const string Title = "pocketcoder:gate";

    /// <summary>
    /// The extension (TypeScript, which pi loads as it is). A dialog that does not come back with an allow blocks the call: a
    /// dismissed one, a withdrawn one, one pi could not show. pi blocks a call whose handler throws.
    /// </summary>
    public const string Extension = """
        // PocketCoder's gate for pi, written by PocketCoder at every start (docs/agents-pi.md): every tool call waits for the
        // owner's decision, asked as an editor dialog over pi's RPC mode and answered with the decision as JSON.
        export default function (pi) {
          pi.on("tool_call", async (event, ctx) => {
            const question = JSON.stringify({ toolCallId: event.toolCallId, toolName: event.toolName, input: event.input });
            const answer = await ctx.ui.editor("pocketcoder:gate", question);
            let decision;
            try {
              decision = typeof answer === "string" ? JSON.parse(answer) : undefined;
            } catch {
              decision = undefined;
            }
            if (!decision || decision.allow !== true) {
              const reason = decision && typeof decision.reason === "string" && decision.reason ? decision.reason : "The owner did not allow this call.";
              return { block: true, reason };
            }
            if (decision.input && typeof decision.input === "object") {
              for (const key of Object.keys(event.input)) delete event.input[key];
              Object.assign(event.input, decision.input);
            }
            return undefined;
          });
        }

        """;

    /// <summary>Where the extension is written: the data folder's <c>agents/pi</c>.</summary>
    public static string ExtensionPath(string folder) => Path.Combine(folder, "gate.ts");

    /// <summary>Writes the extension afresh (what an earlier version or anyone else left there does not count).</summary>
    public static void Write(string folder) => Processes.AgentHome.WritePrivate(ExtensionPath(folder), Extension);

    /// <summary>
    /// Why pi is not started here, or null. Settings that change what an allowed command runs: <c>shellPath</c> (another program
    /// runs each command) and <c>shellCommandPrefix</c> (text run before each one), the owner's or the project's; and a project's
    /// <c>npmCommand</c> (the program pi runs to find installed packages). The owner is asked about the command, not about what
    /// these would make of it.
    /// </summary>
    /// <param name="agentFolder">pi's own folder (<c>PI_CODING_AGENT_DIR</c>, else <c>~/.pi/agent</c>).</param>
    public static string? Refusal(string project, string agentFolder)
    {
        var owners = Path.Combine(agentFolder, "settings.json");
        var projects = Path.Combine(project, ".pi", "settings.json");
        foreach (var (file, keys) in new[] { (owners, new[] { "shellPath", "shellCommandPrefix" }), (projects, new[] { "shellPath", "shellCommandPrefix", "npmCommand" }) })
        {
            if (Settings(file) is { } settings && keys.FirstOrDefault(settings.ContainsKey) is { } key)
            {
                return $"pi would apply {file}'s \"{key}\" to every command it is allowed, without asking: what runs would not be what the " +
                    "owner allowed. Remove that setting to use pi with PocketCoder, or use another agent.";
            }
        }

        return null;
    }

    /// <summary>A settings file as pi reads one (JSON); null when there is none or pi could not read it either.</summary>
    private static JsonObject? Settings(string file)
    {
        try
        {
            return File.Exists(file) && new FileInfo(file).Length < 4 * 1024 * 1024 ? JsonNode.Parse(File.ReadAllText(file)) as JsonObject : null;
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
