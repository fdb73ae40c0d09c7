using CsCheck;
using PocketCoder.Agents;
using PocketCoder.Approvals;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// What "Always allow" proposes (#51): wider than the exact command where the arguments do not matter (<c>git status *</c>),
/// never a wildcard that would let a chained or substituted command through, never wider for a call read as risky.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AlwaysPatternsTests
{
    private const string Root = "/srv/projects/app";

    private static string Propose(string command) => AlwaysPatterns.ForCommand(command, [.. RiskSigns.OfCommand(command, Root)]);

    /// <summary>Whether the proposal, saved as an allow rule, lets <paramref name="command"/> through: as the gatekeeper matches rules.</summary>
    private static bool Allows(string pattern, string command) => Policy.RuleMatches(
        new Rule("r", "p", "Bash", pattern, RuleActions.Allow, DateTimeOffset.UnixEpoch, null),
        new PermissionRequest("c", "Bash", ToolKind.Execute, command, default, command, null, null), null);

    [Theory]
    [InlineData("git status --short", "git status *")]
    [InlineData("git status", "git status")]
    [InlineData("git ls-files -m src", "git ls-files *")]
    [InlineData("git rev-parse --abbrev-ref HEAD", "git rev-parse *")]
    [InlineData("npm test", "npm test")]
    public void PlainToolRun_TheToolAndSubcommand_AnyArguments(string command, string expected) => Assert.Equal(expected, Propose(command));

    /// <summary>
    /// Tools with an option that runs another program, or writes or reads a file anywhere: widened, the next call could be
    /// any command (<c>git grep -Osh</c>, <c>npm test --script-shell=./x</c>, <c>make check SHELL=./x</c>): the exact call.
    /// </summary>
    [Theory]
    [InlineData("git log --oneline -5")]
    [InlineData("git diff --stat")]
    [InlineData("git grep -n TODO")]
    [InlineData("git blame src/app.ts")]
    [InlineData("npm test -- --watch=false")]
    [InlineData("npm run build -- --mode=production")]
    [InlineData("dotnet test tests/App.Tests -c Release")]
    [InlineData("make check V=1")]
    [InlineData("go test ./...")]
    [InlineData("python3 -m pytest -x tests/unit")]
    [InlineData("pytest -k login")]
    public void AToolWithAnOptionThatRunsOrWritesAnything_TheExactCall(string command) => Assert.Equal(Glob.Escape(command), Propose(command));

    [Theory]
    // Risky by the server's reading: the exact call, whatever the tool.
    [InlineData("git push --force origin main")]
    [InlineData("npm test -- --config=/etc/app.json")]
    [InlineData("rm -rf src")]
    [InlineData("npm install left-pad")]
    // Shell syntax, quotes and globs in the call itself: not a plain run of the tool.
    [InlineData("git status && rm -rf .")]
    [InlineData("git log | head -5")]
    [InlineData("git diff $(cat list)")]
    [InlineData("git grep 'a b'")]
    [InlineData("git diff src/*.ts")]
    [InlineData("git  status --short")]
    // Unknown programs, options before the subcommand, a script word that is an option, a subcommand that is not harmless.
    [InlineData("ls -la")]
    [InlineData("git -C /tmp status")]
    [InlineData("npm run --silent build")]
    [InlineData("git checkout main")]
    [InlineData("npm exec foo")]
    public void AnythingElse_TheExactCall(string command) => Assert.Equal(Glob.Escape(command.Trim()), Propose(command));

    [Fact]
    public void AProtectedCall_IsProposedAsItself()
    {
        var approval = new Approval("a", "s", "p", "t", "Bash", ApprovalKind.Of(ToolKind.Execute), "git ls-files .github/workflows/ci.yml", "{}", null,
            Glob.Escape("git ls-files .github/workflows/ci.yml"), ApprovalStatus.Pending, DateTimeOffset.UnixEpoch, null, null, null, null, null,
            false, RiskClasses.Protected);
        Assert.Equal("git ls-files .github/workflows/ci.yml", AlwaysPatterns.For(approval));
        Assert.Equal("git ls-files *", AlwaysPatterns.For(approval with { Risk = RiskClasses.Shell }));
    }

    [Fact]
    public void APathOrATool_IsProposedAsItsRulePattern()
    {
        var edit = new Approval("a", "s", "p", "t", "Edit", ApprovalKind.Of(ToolKind.Edit), "src/a.ts", "{}", null, "src/a.ts", ApprovalStatus.Pending,
            DateTimeOffset.UnixEpoch, null, null, null, null, null, false, RiskClasses.Edit);
        Assert.Equal("src/a.ts", AlwaysPatterns.For(edit));
        Assert.Equal("*", AlwaysPatterns.For(edit with { Kind = ApprovalKind.Of(ToolKind.Execute), RulePattern = "*" }));
    }

    private static readonly Gen<string> Word = Gen.OneOf(
        Gen.OneOf("git", "npm", "run", "test", "status", "build", "make", "-m", "pytest", "python3", "--short", "-x", "src/a.ts", "V=1", "dotnet", "log"),
        Gen.String[Gen.Char["a-z0-9-=./*'\"$|;&`()\\ "], 1, 8]);

    private static readonly Gen<string> Commands = Word.Array[1, 6].Select(words => string.Join(' ', words)).Where(c => c.Trim().Length > 0);

    private static readonly string[] Operators = ["; ", " && ", " || ", " | ", " & ", " $(", " `", "\n", ";", "|"];

    /// <summary>Plain words are read as the regex they replaced read them (that regex had a time limit a busy machine exceeded).</summary>
    [Fact]
    public void PlainWords_AsTheRegexItReplaced()
    {
        var old = new System.Text.RegularExpressions.Regex(@"\A[A-Za-z0-9_./:=@%+,-]+(?: [A-Za-z0-9_./:=@%+,-]+)*\z");
        Gen.String[Gen.Char["aZ9_./:=@%+,- \t'\"*$é"], 0, 10].Sample(
            command => AlwaysPatterns.IsPlainWords(command) == old.IsMatch(command), iter: 50_000);
    }

    [Fact]
    public void Property_TheProposalAllowsTheCallItCameFrom() =>
        Commands.Sample(command => Allows(Propose(command), command), iter: 20_000);

    [Fact]
    public void Property_TheProposalNeverAllowsAShellOperatorAppended() =>
        Gen.Select(Commands, Gen.OneOf(Operators), Commands).Sample((command, op, tail) =>
            !Allows(Propose(command), command.TrimEnd() + op + tail), iter: 20_000);

    [Fact]
    public void Property_ARiskyCall_IsNeverWidened() =>
        Gen.Select(Commands, Gen.OneOf([.. RiskSigns.All])).Sample((command, sign) =>
            AlwaysPatterns.ForCommand(command, [sign]) == Glob.Escape(command.Trim()), iter: 5_000);
}
