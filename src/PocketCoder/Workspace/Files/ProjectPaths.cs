using PocketCoder.Errors;
using PocketCoder.Projects;

namespace PocketCoder.Workspace.Files;

/// <param name="Relative">The clean project-relative path ("" for the root), always with '/' separators.</param>
/// <param name="Real">The absolute path with every symlink resolved; always the root or below it.</param>
public sealed record ConfinedPath(string Relative, string Real, bool Exists);

/// <summary>
/// Turns a path a client sent into one that is certainly inside the project. Lexical checks first (no
/// absolute paths, no <c>..</c>, no encoded or look-alike separators), then the real path is resolved
/// by the kernel (<c>realpath</c>) and must be the root or below it, so a symlink that points out is refused too.
/// </summary>
public static class ProjectPaths
{
    public const int MaxPathLength = 1024;
    public const int MaxDepth = 20;

    // Characters that render as, or are normalized by some tools to, '.', '/' or '\'.
    private static readonly char[] LookAlikeDots = ['\uFF0E', '\u2024', '\uFE52', '\u3002', '\uFF61'];
    private static readonly char[] LookAlikeSeparators = ['\\', '\u2215', '\u2044', '\uFF0F', '\uFF3C', '\u29F8', '\u29F9'];

    /// <summary>An existing file or directory.</summary>
    public static ConfinedPath Existing(Project project, string? path)
    {
        var relative = Clean(path);
        var lexical = Lexical(project, relative);
        var real = RealPath(lexical);
        if (real is null)
        {
            // Missing inside the project is "not found"; missing beyond a symlink that leads out is still "outside".
            Confine(project, NearestExisting(project, lexical), relative);
            throw ApiProblem.NotFound(ErrorCodes.FileNotFound, $"Nothing at '{Display(relative)}'.");
        }

        Confine(project, real, relative);
        return new ConfinedPath(relative, real, Exists: true);
    }

    /// <summary>A file to create or replace: its parent must exist, and the file (if it exists) must resolve inside too.</summary>
    public static ConfinedPath ForWrite(Project project, string? path)
    {
        var relative = Clean(path);
        if (relative.Length == 0)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, "'path' must name a file.");
        }

        var lexical = Lexical(project, relative);
        var info = new FileInfo(lexical);
        if (info.Exists || info.LinkTarget is not null || Directory.Exists(lexical))
        {
            // A dangling symlink would let a write create a file wherever it points: refuse it outright.
            var existing = RealPath(lexical) ?? throw ApiProblem.BadRequest(ErrorCodes.OutsideProjectRoot,
                $"'{Display(relative)}' is a symlink to nothing; refusing to write through it.");
            Confine(project, existing, relative);
            return new ConfinedPath(relative, existing, Exists: true);
        }

        var parent = RealPath(Path.GetDirectoryName(lexical)!) ?? throw ApiProblem.NotFound(ErrorCodes.FileNotFound,
            $"The folder of '{Display(relative)}' does not exist; create it first.");
        Confine(project, parent, relative);
        if (!Directory.Exists(parent))
        {
            throw ApiProblem.BadRequest(ErrorCodes.NotADirectory, $"The parent of '{Display(relative)}' is not a directory.");
        }

        return new ConfinedPath(relative, Path.Combine(parent, Path.GetFileName(lexical)), Exists: false);
    }

    /// <summary>Validates a path for git (which resolves it itself) and returns it relative to the root.</summary>
    public static string RelativeForGit(Project project, string? path)
    {
        var relative = Clean(path);
        // The nearest existing ancestor must resolve inside: a deleted file is fine, a path through a symlink out is not.
        Confine(project, NearestExisting(project, Lexical(project, relative)), relative);
        return relative;
    }

    private static string NearestExisting(Project project, string lexical)
    {
        var probe = lexical;
        string? real;
        while ((real = RealPath(probe)) is null)
        {
            probe = Path.GetDirectoryName(probe) ?? project.Path;
        }

        return real;
    }

    /// <summary>Lexical validation: a clean relative path, or a 400 with a stable code.</summary>
    public static string Clean(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "";
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, "The path contains a NUL character.");
        }

        if (path.Length > MaxPathLength)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, $"The path is longer than {MaxPathLength} characters.");
        }

        if (path.StartsWith('/') || path.IndexOfAny(LookAlikeSeparators) >= 0)
        {
            throw Outside(path);
        }

        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == ".." || IsDisguisedTraversal(segment))
            {
                throw Outside(path);
            }

            segments.Add(segment);
        }

        if (segments.Count > MaxDepth)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, $"The path is deeper than {MaxDepth} levels.");
        }

        return string.Join('/', segments);
    }

    /// <summary>A segment that decodes (percent-encoding, look-alike dots) to a traversal or a separator.</summary>
    private static bool IsDisguisedTraversal(string segment)
    {
        // "...." and friends are legal names, but only ever sent to probe for traversal bugs.
        if (segment.Length > 1 && segment.All(c => c == '.'))
        {
            return true;
        }

        // Percent escapes that do not decode to valid UTF-8 (overlong "%c0%ae" is a '.') are an attack, not a name.
        if (segment.Contains('%', StringComparison.Ordinal) && !IsValidUtf8AfterUnescaping(segment))
        {
            return true;
        }

        var decoded = segment;
        for (var round = 0; round < 3 && decoded.Contains('%', StringComparison.Ordinal); round++)
        {
            decoded = Uri.UnescapeDataString(decoded);
        }

        if (decoded.Contains('/', StringComparison.Ordinal) || decoded.Contains('\\', StringComparison.Ordinal) || decoded.Contains('\0', StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var dot in LookAlikeDots)
        {
            decoded = decoded.Replace(dot, '.');
        }

        return decoded is ".." or "." && segment != ".";
    }

    // Only %XX escapes are undone ('+' also becomes a space, which cannot make bytes valid or invalid UTF-8).
    private static bool IsValidUtf8AfterUnescaping(string segment)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(segment);
        return System.Text.Unicode.Utf8.IsValid(System.Net.WebUtility.UrlDecodeToBytes(bytes, 0, bytes.Length));
    }

    private static string Lexical(Project project, string relative) =>
        relative.Length == 0 ? project.Path : project.Path + "/" + relative;

    private static void Confine(Project project, string real, string relative)
    {
        if (!Agents.FileSystem.RealPath.IsWithin(real, project.Path))
        {
            throw ApiProblem.BadRequest(ErrorCodes.OutsideProjectRoot, $"'{Display(relative)}' resolves outside the project root.");
        }
    }

    private static ApiProblem Outside(string path) =>
        ApiProblem.BadRequest(ErrorCodes.OutsideProjectRoot, $"'{Display(path)}' is not a path inside the project root.");

    private static string Display(string path) => path.Length > 120 ? path[..120] + "…" : path;

    private static string? RealPath(string path) => Agents.FileSystem.RealPath.Resolve(path);
}
