using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Server;

/// <summary>Everything that differs between one PocketCoder server and another. Built by the CLI, or by tests.</summary>
public sealed class PocketCoderOptions
{
    public const string DefaultListen = "http://127.0.0.1:7420";

    public required string DataDirectory { get; init; }

    public string Listen { get; init; } = DefaultListen;

    /// <summary>How to launch each agent, by adapter id.</summary>
    public IReadOnlyDictionary<string, AgentCommand> AgentCommands { get; init; } = DefaultAgentCommands();

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Events buffered per live SSE subscriber before it falls back to reading the database.</summary>
    public int SubscriberBuffer { get; init; } = 1024;

    public bool ConsoleLogging { get; init; } = true;

    /// <summary>An agent process idle this long is stopped (its conversation kept) until the next message. Zero: never.</summary>
    public TimeSpan SuspendIdleAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>The data folder: <c>POCKETCODER_DATA</c>, else <c>$XDG_DATA_HOME/pocketcoder</c>, else <c>~/.local/share/pocketcoder</c>.</summary>
    public static string DefaultDataDirectory()
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_DATA") is { Length: > 0 } explicitDirectory)
        {
            return Path.GetFullPath(explicitDirectory);
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "pocketcoder");
    }

    public static Dictionary<string, AgentCommand> DefaultAgentCommands() => new(StringComparer.Ordinal)
    {
        [ClaudeCodeAdapter.AgentId] = new AgentCommand(
            Environment.GetEnvironmentVariable("POCKETCODER_CLAUDE_PATH") is { Length: > 0 } path ? path : "claude",
            new Dictionary<string, string?>()),
    };
}
