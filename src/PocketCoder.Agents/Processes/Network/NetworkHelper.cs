using System.Runtime.CompilerServices;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// How a sandbox runs PocketCoder's own executable as its network helper (<see cref="SandboxNetworkEntry"/>): the native binary
/// itself; in the JIT build, the app host beside <c>pocketcoder.dll</c>, else the .NET host with the dll (a .NET tool's
/// install has no app host). Always there wherever PocketCoder runs, since it is PocketCoder.
/// </summary>
public static class NetworkHelper
{
    private static readonly Lazy<IReadOnlyList<string>?> Located = new(Locate);

    /// <summary>The helper's command (its arguments follow), or null when this process cannot find its own executable.</summary>
    public static IReadOnlyList<string>? Command => Located.Value;

    /// <summary>What the helper needs to read: its files, and for the JIT build its app folder and the .NET install.</summary>
    public static IEnumerable<string> Needs() => Command is not { } command ? []
        : RuntimeFeature.IsDynamicCodeSupported ? [.. command, AppContext.BaseDirectory.TrimEnd('/'), .. DotnetRoot() is { } root ? [root] : Array.Empty<string>()]
        : command;

    private static IReadOnlyList<string>? Locate()
    {
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            // The native binary: one file, this process's own.
            return Environment.ProcessPath is { } self && File.Exists(self) ? [self] : null;
        }

        var folder = AppContext.BaseDirectory;
        var dll = Path.Combine(folder, "pocketcoder.dll");
        if (!File.Exists(dll))
        {
            return null;
        }

        var apphost = Path.Combine(folder, "pocketcoder");
        if (File.Exists(apphost))
        {
            return [apphost];
        }

        return DotnetHost() is { } host ? [host, dll] : null;
    }

    /// <summary>The .NET host running this process, or the one the SDK names, or <c>dotnet</c> on PATH.</summary>
    private static string? DotnetHost()
    {
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } named && File.Exists(named))
        {
            return named;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "dotnet")).FirstOrDefault(File.Exists);
    }

    /// <summary>The .NET install the JIT build runs on: three levels above the shared runtime's folder (<c>shared/Microsoft.NETCore.App/10.0.x</c>).</summary>
    private static string? DotnetRoot() =>
        AppContext.GetData("FX_DEPS_FILE") is string deps && Path.GetDirectoryName(deps) is { } runtime
            ? Path.GetFullPath(Path.Combine(runtime, "..", "..", ".."))
            : null;
}
