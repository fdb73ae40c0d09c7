using System.Text.Json;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// What in a project would make OpenCode run code of the repository's choosing. OPENCODE_DISABLE_PROJECT_CONFIG keeps
/// the project's config out of OpenCode's main config, but 1.18's newer loader still imports
/// <c>.opencode/plugin/*.ts</c> (found while writing OpenCodeGateTests) once the first message is processed, and a
/// plugin is arbitrary code that can also answer permission questions itself. So we refuse to start, naming the file. What is
/// read is what the CLI loads: its config files and folders, and the files its older loaders read past that flag
/// (<see cref="OpenCodeFlavor.LegacyFiles"/>); a setting written twice counts wherever it is (the CLI takes the last).
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

            if (LegacyProblem(current.FullName, flavor) is { } legacy)
            {
                return legacy;
            }

            if (Directory.Exists(Path.Combine(current.FullName, ".git")) || File.Exists(Path.Combine(current.FullName, ".git")))
            {
                break;
            }
        }

        return null;
    }

    /// <summary>A legacy file of the flavor's in <paramref name="folder"/> that would run or allow something, as a sentence; else null.</summary>
    private static string? LegacyProblem(string folder, OpenCodeFlavor flavor)
    {
        foreach (var (name, setting) in flavor.LegacyFiles)
        {
            var file = Path.Combine(folder, name);
            var found = setting is null ? HasContent(file) : Setting(file, [setting], unreadable: setting) is not null;
            if (found)
            {
                return $"The project has {file}{(setting is null ? "" : $", setting \"{setting}\"")}: {flavor.Name}'s older loaders read it whatever " +
                       $"PocketCoder turns off, and it would make {flavor.Name} run or allow what the repository chooses (MCP servers, modes). " +
                       $"PocketCoder does not start {flavor.Name} on it: remove or move that file, or use another agent.";
            }
        }

        return null;
    }

    /// <summary>Whether a file (a link's target too, as the CLI reads it) holds anything but white space; a folder or an unreadable one counts.</summary>
    private static bool HasContent(string file)
    {
        if (Directory.Exists(file))
        {
            return true;
        }

        try
        {
            return File.Exists(file) && File.ReadAllText(file).Any(c => !char.IsWhiteSpace(c));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    private static bool IsScript(string path) =>
        path.EndsWith(".ts", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".js", StringComparison.OrdinalIgnoreCase)
        || path.EndsWith(".mjs", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".mts", StringComparison.OrdinalIgnoreCase);

    private static string? CodeSetting(string file) => Setting(file, CodeSettings, unreadable: null);

    /// <summary>
    /// The first of <paramref name="settings"/> the JSON file sets to a non-empty array or object, looking at every property of that
    /// name (a CLI's parser keeps the last of two); <paramref name="unreadable"/> for a file that is there but is no JSON object.
    /// </summary>
    private static string? Setting(string file, IReadOnlyList<string> settings, string? unreadable)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file),
                new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return unreadable;
            }

            return settings.FirstOrDefault(name => document.RootElement.EnumerateObject().Any(property => property.NameEquals(name)
                && (property.Value.ValueKind == JsonValueKind.Array ? property.Value.GetArrayLength() > 0
                    : property.Value.ValueKind == JsonValueKind.Object && property.Value.EnumerateObject().Any())));
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            // OpenCode skips a config file it cannot parse; a legacy file PocketCoder cannot read is refused rather than guessed at.
            return unreadable;
        }
    }
}
