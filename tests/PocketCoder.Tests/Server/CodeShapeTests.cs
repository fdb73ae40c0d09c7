using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Server;

/// <summary>
/// The shape STYLE.md asks of the server's code, measured rather than hoped for: no file over 600 lines, no method over 80, no
/// service whose constructor takes more than 8 dependencies. What is over today is listed by name with its size, and may only
/// shrink: a new offender, or a listed one grown, fails here.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CodeShapeTests
{
    private const int MaxFileLines = 600, MaxMethodLines = 80, MaxDependencies = 8;

    // Known debts, each at most its size today. Remove a line when its file is taken apart (a test below says so).
    private static readonly Dictionary<string, int> LongFiles = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, int> LongMethods = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, int> WideConstructors = new(StringComparer.Ordinal);

    [Fact]
    public void NoSourceFile_IsOver600Lines_BeyondTheListedDebts()
    {
        var root = ClaudeCli.RepositoryRoot();
        var over = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (Path: Path.GetRelativePath(root, f).Replace('\\', '/'), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxFileLines)
            .ToList();
        Assert.All(over, f => Assert.True(LongFiles.TryGetValue(f.Path, out var allowed) && f.Lines <= allowed,
            $"{f.Path} has {f.Lines} lines (at most {MaxFileLines}): take it apart by what it decides."));
        Assert.All(LongFiles.Keys, listed => Assert.True(over.Any(f => f.Path == listed),
            $"{listed} is no longer over {MaxFileLines} lines: take it off the list."));
    }

    [Fact]
    public void NoMethod_IsOver80Lines_BeyondTheListedDebts()
    {
        var over = MethodLengths(typeof(PocketCoder.Server.PocketCoderOptions).Assembly)
            .Concat(MethodLengths(typeof(PocketCoder.Agents.IAgentAdapter).Assembly))
            .Where(m => m.Lines > MaxMethodLines)
            .ToList();
        Assert.All(over, m => Assert.True(LongMethods.TryGetValue(m.Name, out var allowed) && m.Lines <= allowed,
            $"{m.Name} spans {m.Lines} lines (at most {MaxMethodLines})."));
    }

    [Fact]
    public void NoService_TakesMoreThan8Dependencies_BeyondTheListedDebts()
    {
        var wide = typeof(PocketCoder.Server.PocketCoderOptions).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .Where(t => !IsRecord(t))
            .Select(t => (t.FullName!, Width: t.GetConstructors().Select(c => c.GetParameters().Length).DefaultIfEmpty(0).Max()))
            .Where(t => t.Width > MaxDependencies)
            .ToList();
        Assert.All(wide, t => Assert.True(WideConstructors.TryGetValue(t.Item1, out var allowed) && t.Width <= allowed,
            $"{t.Item1} takes {t.Width} dependencies (at most {MaxDependencies}): split what it does, or pass one record of what it shares."));
    }

    // A record's constructor is its data, not its dependencies.
    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null;

    /// <summary>Each method's span in its source, from the first to the last line of its sequence points (the portable PDB).</summary>
    private static IEnumerable<(string Name, int Lines)> MethodLengths(Assembly assembly)
    {
        var pdb = Path.ChangeExtension(assembly.Location, ".pdb");
        using var stream = File.OpenRead(pdb);
        using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
        var reader = provider.GetMetadataReader();
        using var peStream = File.OpenRead(assembly.Location);
        using var pe = new System.Reflection.PortableExecutable.PEReader(peStream);
        var metadata = pe.GetMetadataReader();
        var spans = new List<(string, int)>();
        foreach (var handle in reader.MethodDebugInformation)
        {
            var points = reader.GetMethodDebugInformation(handle).GetSequencePoints().Where(p => !p.IsHidden).ToList();
            // Only what is written here: generated sources (route handlers, validation, binding) live under obj/ or nowhere.
            if (points.Count == 0 || reader.GetString(reader.GetDocument(points[0].Document).Name) is not { } document
                || document.Contains("/obj/", StringComparison.Ordinal) || !File.Exists(document))
            {
                continue;
            }

            var definition = metadata.GetMethodDefinition(MetadataTokens.MethodDefinitionHandle(MetadataTokens.GetRowNumber(handle)));
            var method = metadata.GetString(definition.Name);
            if (method is ".ctor" or ".cctor")
            {
                // A constructor's points are its class's field initializers, wherever they stand: not one method's length.
                continue;
            }

            var type = metadata.GetTypeDefinition(definition.GetDeclaringType());
            // A state machine or a closure is named by the type it was written in.
            var outer = type.GetDeclaringType().IsNil ? type : metadata.GetTypeDefinition(type.GetDeclaringType());
            var name = outer.Equals(type) ? $"{metadata.GetString(type.Name)}.{method}" : $"{metadata.GetString(outer.Name)}.{metadata.GetString(type.Name)}.{method}";
            // A lambda or an async state machine's body is its own method here, measured apart from its host's.
            name = System.Text.RegularExpressions.Regex.Replace(name, @"<(\w+)>d__\d+\.MoveNext$", "$1");
            spans.Add((name, points.Max(p => p.EndLine) - points.Min(p => p.StartLine) + 1));
        }

        return spans;
    }
}
