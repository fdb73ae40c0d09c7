using System.Text.RegularExpressions;
using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>
/// What in a call deserves a second look, read by the server from the call itself (never by the agent): a download piped
/// into a shell, a deletion outside build folders, network use, paths outside the project, credentials, package installs,
/// force pushes, privilege. Beside its <see cref="RiskClasses">risk class</see> (which team routing decides by), each
/// approval carries these signs, and the phone shows them on the card in words, so <c>curl … | sh</c> never looks like <c>ls</c>.
/// </summary>
public static class RiskSigns
{
    public const string PipedToShell = "piped-to-shell";
    public const string Deletes = "deletes";
    public const string Network = "network";
    public const string OutsideProject = "outside-project";
    public const string Credentials = "credentials";
    public const string InstallsPackages = "installs-packages";
    public const string ForcePush = "force-push";
    public const string Privilege = "privilege";

    /// <summary>The signs in this order, each once: the card lists them as read.</summary>
    public static readonly IReadOnlyList<string> All = [PipedToShell, Deletes, ForcePush, Privilege, Credentials, OutsideProject, InstallsPackages, Network];

    public static IReadOnlyList<string> Read(PermissionRequest request, string projectRoot)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (request.Kind == ToolKind.Fetch)
        {
            found.Add(Network);
        }

        var paths = request.Kind == ToolKind.Edit ? Policy.EditPaths(request) : request.Path is { Length: > 0 } path ? [path] : [];
        if (paths.Any(p => Policy.RelativeToProject(p, projectRoot) is null))
        {
            found.Add(OutsideProject);
        }

        if (paths.Any(p => CredentialPath.IsMatch(p)))
        {
            found.Add(Credentials);
        }

        if (request.Kind == ToolKind.Execute && request.Command is { Length: > 0 } command)
        {
            found.UnionWith(OfCommand(command, projectRoot));
        }

        return [.. All.Where(found.Contains)];
    }

    /// <summary>Longer commands are not read: each sign is then said (see <see cref="OfCommand"/>).</summary>
    public const int LongestRead = 8 * 1024;

    /// <summary>
    /// The signs in a shell command. A reading, not a parser: it errs towards saying more (a sign too many costs a glance).
    /// Team routing holds a call to what its signs need, so a command longer than <see cref="LongestRead"/> has every sign:
    /// padding a force-push must not make it a plain shell call. Below that every command is read whole, in time linear in
    /// its length (<see cref="RegexOptions.NonBacktracking"/>): the answer depends on the command alone, never on how busy
    /// the machine is (a time-out that said every sign gave a harmless <c>echo</c> all eight on a loaded machine, #67).
    /// </summary>
    public static IEnumerable<string> OfCommand(string command, string projectRoot) =>
        command.Length > LongestRead ? All : [.. Signs(command, projectRoot)];

    private static IEnumerable<string> Signs(string command, string projectRoot)
    {
        if (PipeToShell.IsMatch(command))
        {
            yield return PipedToShell;
        }

        if (DeletionTargets(command).Any(t => !IsBuildFolder(t, projectRoot)))
        {
            yield return Deletes;
        }

        if (Force.IsMatch(command))
        {
            yield return ForcePush;
        }

        if (Privileged.IsMatch(command))
        {
            yield return Privilege;
        }

        if (CredentialPath.IsMatch(command))
        {
            yield return Credentials;
        }

        if (AbsolutePaths.Matches(command).Select(m => m.Groups["path"].Value)
            .Any(p => !SystemPath(p) && (p.StartsWith('~') || Policy.RelativeToProject(p, projectRoot) is null)))
        {
            yield return OutsideProject;
        }

        if (Install.IsMatch(command))
        {
            yield return InstallsPackages;
        }

        if (NetworkTool.IsMatch(command))
        {
            yield return Network;
        }
    }

    /// <summary>What <c>rm</c> is given, options left out; each word of each rm in the command.</summary>
    private static IEnumerable<string> DeletionTargets(string command) =>
        Remove.Matches(command).SelectMany(m => m.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(word => !word.StartsWith('-'));

    /// <summary>Folders a build makes again (node_modules, bin, obj, dist, build, target, caches), inside the project.</summary>
    private static bool IsBuildFolder(string target, string projectRoot)
    {
        var unquoted = target.Trim('"', '\'');
        if (unquoted.StartsWith('~') || unquoted.Contains('$', StringComparison.Ordinal)
            || Policy.RelativeToProject(unquoted, projectRoot) is not { } inside || inside == ".")
        {
            return false;
        }

        return inside.Split('/').Any(part => part is "node_modules" or "bin" or "obj" or "dist" or "build" or "target" or "out" or ".cache"
            or "__pycache__" or ".pytest_cache" or ".next" or "coverage" or ".turbo");
    }

    /// <summary>Paths every command names without reaching outside the work: devices and the system's programs.</summary>
    private static bool SystemPath(string path) =>
        path.StartsWith("/dev/", StringComparison.Ordinal) || path.StartsWith("/usr/", StringComparison.Ordinal)
        || path.StartsWith("/bin/", StringComparison.Ordinal) || path.StartsWith("/tmp/", StringComparison.Ordinal) || path == "/tmp";

    // Linear in the command's length whatever it holds, so none of them needs a time-out: no lookaround, no backreference.
    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    // A download run as it arrives: piped into a shell or an interpreter (`| sudo -E bash` too), fed to one as a file
    // (`bash <(curl …)`, `source <(curl …)`), or handed to one as its script (`bash -c "$(curl …)"`, Homebrew's install line;
    // `eval "$(curl …)"`).
    private static readonly Regex PipeToShell = new(@"\b(curl|wget|fetch)\b[^;&]*\|\s*(sudo\s+(-\S+\s+)*)?(env\s+(\S+=\S*\s+)*)?(\S*/)?((ba|z|da|k)?sh|python3?|node|perl|ruby)\b"
        + @"|\b((ba|z)?sh|python3?|node|perl|ruby)\s+<\(\s*(curl|wget)\b|(?:^|[;&|(\s])(source|\.)\s+<\(\s*(curl|wget)\b"
        + @"|\b((ba|z|da|k)?sh|python3?|node|perl|ruby)\s+-[ce]\s+[""']?\$\(\s*(curl|wget)\b|\beval\s+[""']?\$\(\s*(curl|wget)\b", Linear);

    private static readonly Regex Remove = new(@"(?:^|[;&|(\s])(?:sudo\s+)?(?:rm|rmdir|shred|unlink)\s+(?<args>[^;&|\n]*)", Linear);

    // git's own options before the verb may take a value (`-C dir`, `-c k=v`); a short flag may be one of several (`-fu`);
    // the option or the `+ref` may be quoted.
    private static readonly Regex Force = new(@"\bgit\s+(?:-[Cc]\s+\S+\s+|-\S+\s+)*push\b[^;&|\n]*\s[""']?(?:-[a-zA-Z]*f[a-zA-Z]*\b|--force\b|--force-with-lease\b|--force-if-includes\b|\+\S)", Linear);

    private static readonly Regex Privileged = new(@"(?:^|[;&|(\s])(?:sudo|su|doas|pkexec)\s|\bchmod\s+(?:-R\s+)?[0-7]*777\b|\bchown\s", Linear);

    private static readonly Regex CredentialPath = new(@"(?:^|[/\s'""=~])(?:\.ssh|\.aws|\.gnupg|\.kube|\.docker/config\.json|\.netrc|\.npmrc|\.pypirc|\.git-credentials|\.env(?:\.[\w-]+)?|id_rsa|id_ed25519|credentials(?:\.json)?|secrets?\.(?:json|ya?ml|toml))(?:$|[/\s'""])", Linear);

    // Absolute, home and climbing (`../`) paths; a climbing one is read from the project's folder, where commands start.
    private static readonly Regex AbsolutePaths = new(@"(?:^|[\s'""=])(?<path>(?:/|~/|\.\./)[^\s'"";|&)]*)", Linear);

    private static readonly Regex Install = new(@"\b(?:npm\s+(?:i|install|add|ci)\b|yarn\s+add\b|pnpm\s+(?:add|install|i)\b|pip3?\s+install\b|python3?\s+-m\s+pip\s+install\b|(?:apt|apt-get|dnf|yum|apk|brew|pacman)\s+(?:install|add|-S)\b|cargo\s+(?:install|add)\b|gem\s+install\b|go\s+(?:install|get)\b|dotnet\s+(?:add\s+\S+\s+)?(?:tool\s+install|package)\b|uv\s+(?:add|pip\s+install)\b)", Linear);

    // A program's name as a command word (".ssh" in a path is not ssh).
    private static readonly Regex NetworkTool = new(@"(?:^|[;&|(\s])(?:sudo\s+)?(?:curl|wget|ssh|scp|sftp|rsync|nc|ncat|netcat|telnet|ftp)(?:\s|$)|\bgit\s+(?:-[Cc]\s+\S+\s+|-\S+\s+)*(?:push|pull|fetch|clone)\b|https?://", Linear);
}
