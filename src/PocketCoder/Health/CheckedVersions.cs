using System.Text.Json;

namespace PocketCoder.Health;

/// <summary>
/// The newest version of each agent CLI that PocketCoder's agent matrix and bypass tests passed with (checked-agents.json,
/// written by scripts/check-newest-agents.sh). An owner who updates an agent past it is told, by <c>doctor</c> and the phone:
/// a newer CLI may read settings or speak a protocol the gatekeeper has not been checked against.
/// </summary>
public static class CheckedVersions
{
    private static readonly Lazy<(IReadOnlyDictionary<string, string> Agents, string Date)> Record = new(Load);

    /// <summary>The newest version checked for <paramref name="agentId"/>, or null when it was never checked (an owner's own ACP agent).</summary>
    public static string? For(string agentId) => Record.Value.Agents.GetValueOrDefault(agentId);

    /// <summary>When the record was last written (yyyy-MM-dd).</summary>
    public static string Date => Record.Value.Date;

    /// <summary>
    /// Words for an installed version newer than the newest checked ("2.1.340, 8 patch releases newer than 2.1.332, the newest
    /// checked on 2026-11-25"), or null when it is not newer, either is unknown, or either is not a version.
    /// </summary>
    public static string? Newer(string agentId, string? installed)
    {
        if (For(agentId) is not { } checkedVersion || installed is null
            || Parse(installed) is not { } have || Parse(checkedVersion) is not { } known || Compare(have, known) <= 0)
        {
            return null;
        }

        var by = have.Major != known.Major ? Count(have.Major - known.Major, "major version")
            : have.Minor != known.Minor ? Count(have.Minor - known.Minor, "minor version")
            : Count(have.Patch - known.Patch, "patch release");
        return $"{installed} is {by} newer than {checkedVersion}, the newest PocketCoder was checked with (on {Date})";
    }

    private static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";

    private static int Compare((int Major, int Minor, int Patch) a, (int Major, int Minor, int Patch) b) =>
        a.Major != b.Major ? a.Major.CompareTo(b.Major) : a.Minor != b.Minor ? a.Minor.CompareTo(b.Minor) : a.Patch.CompareTo(b.Patch);

    /// <summary>"2.1.332", "v0.24.4", "1.0.102-beta.1" (a pre-release counts as its release): major, minor, patch.</summary>
    internal static (int Major, int Minor, int Patch)? Parse(string version)
    {
        var parts = version.Trim().TrimStart('v').Split('-', '+')[0].Split('.');
        return parts.Length == 3 && int.TryParse(parts[0], out var major) && int.TryParse(parts[1], out var minor) && int.TryParse(parts[2], out var patch)
            ? (major, minor, patch)
            : null;
    }

    private static (IReadOnlyDictionary<string, string>, string) Load()
    {
        using var stream = typeof(CheckedVersions).Assembly.GetManifestResourceStream("checked-agents.json")
            ?? throw new InvalidOperationException("checked-agents.json is not embedded in the build.");
        using var document = JsonDocument.Parse(stream);
        var agents = document.RootElement.GetProperty("agents").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        return (agents, document.RootElement.GetProperty("checked").GetString()!);
    }
}
