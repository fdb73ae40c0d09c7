using System.Text.Json;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// What in a project would make OpenCode run code of the repository's choosing. OPENCODE_DISABLE_PROJECT_CONFIG keeps
/// the project's config out of OpenCode's main config, but 1.18's newer loader still imports
/// <c>.opencode/plugin/*.ts</c> (found while writing OpenCodeGateTests) once the first message is processed, and a
/// plugin is arbitrary code that can also answer permission questions itself. So we refuse to start, naming the file.
/// </summary>
internal static class OpenCodeProjectCheck
{
    private static readonly string[] CodeFolders = ["plugin", "plugins", "tool", "tools"];
    private static readonly string[] CodeSettings = ["plugin", "plugins", "mcp"];

    /// <summary>The first thing found, as a sentence for the owner; null when the project is safe to open.</summary>
    public static string? FindRepositoryCode(string directory, OpenCodeFlavor flavor)
    {
        // OpenCode looks from the working directory up to the repository's root.
        for (var current = new DirectoryInfo(directory); current is not null; current = current.Parent)
        {
            var folders = flavor.ProjectFolders.Select(name => Path.Combine(current.FullName, name)).ToList();
            foreach (var path in folders.SelectMany(dot => CodeFolders.Select(folder => Path.Combine(dot, folder))))
            {
                if (Directory.Exists(path) && Directory.EnumerateFiles(path).FirstOrDefault(IsScript) is { } script)
                {
                    return $"The project contains {flavor.Name} code that would run inside {flavor.Name} ({script}). PocketCoder does not start " +
                           $"{flavor.Name} on a project that brings its own plugins or tools: remove or move that file, or use another agent.";
                }
            }

            foreach (var file in flavor.ConfigFiles.SelectMany(name => folders.Prepend(current.FullName).Select(folder => Path.Combine(folder, name))))
            {
                if (CodeSetting(file) is { } setting)
                {
                    return $"The project's {file} sets \"{setting}\", which makes {flavor.Name} run programs of the repository's choosing. " +
                           $"PocketCoder does not start {flavor.Name} on it: remove that setting (put it in your own ~/.config/{flavor.Folder} config), or use another agent.";
                }
            }

            if (Directory.Exists(Path.Combine(current.FullName, ".git")) || File.Exists(Path.Combine(current.FullName, ".git")))
            {
                break;
            }
        }

        return null;
    }

    private static bool IsScript(string path) =>
        path.EndsWith(".ts", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".js", StringComparison.OrdinalIgnoreCase)
        || path.EndsWith(".mjs", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".mts", StringComparison.OrdinalIgnoreCase);

    private static string? CodeSetting(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file),
                new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? CodeSettings.FirstOrDefault(name => document.RootElement.TryGetProperty(name, out var value)
                                                      && value.ValueKind is JsonValueKind.Array or JsonValueKind.Object
                                                      && (value.ValueKind == JsonValueKind.Array ? value.GetArrayLength() > 0 : value.EnumerateObject().Any()))
                : null;
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            // OpenCode skips a file it cannot parse as well.
            return null;
        }
    }
}
