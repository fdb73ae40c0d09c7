using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Processes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Server;

namespace PocketCoder.Workspace.Terminal;

public sealed record OpenTerminalRequest(
    [property: Range(Terminals.MinCols, Terminals.MaxCols, ErrorMessage = Terminals.ColsMessage)] int? Cols,
    [property: Range(Terminals.MinRows, Terminals.MaxRows, ErrorMessage = Terminals.RowsMessage)] int? Rows);

/// <param name="Keys">tmux key names (Enter, Tab, Escape, BSpace, Up, C-c, M-x, F5), sent after the text.</param>
public sealed record TerminalInputRequest(
    [property: NoNulText(Terminals.MaxInputChars, ErrorMessage = "'text' must be at most 65536 characters, without NUL.")]
    string? Text,
    [property: ItemCount(100, ErrorMessage = "At most 100 keys per call.")]
    [property: EveryItemMatches(Terminals.KeyNamePattern, ErrorMessage = "Every key must be a name tmux knows (e.g. Enter, Tab, Escape, BSpace, Up, C-c, M-x, F5).")]
    IReadOnlyList<string>? Keys);

public sealed record TerminalResizeRequest(
    [property: Required(ErrorMessage = Terminals.ColsMessage)]
    [property: Range(Terminals.MinCols, Terminals.MaxCols, ErrorMessage = Terminals.ColsMessage)]
    int? Cols,
    [property: Required(ErrorMessage = Terminals.RowsMessage)]
    [property: Range(Terminals.MinRows, Terminals.MaxRows, ErrorMessage = Terminals.RowsMessage)]
    int? Rows);

public sealed record TerminalScreen(string ProjectId, string Text, int Cols, int Rows, int CursorX, int CursorY);

public sealed record TerminalResponse(string ProjectId, string Session, bool Created, TerminalScreen Screen);

/// <summary>
/// A persistent shell per project, held by tmux on a private socket in the data folder. tmux runs as its own
/// daemon, so the shell outlives a dropped phone, but not `serve` (<see cref="TerminalServerLifetime"/>); the server only
/// talks to it with one-shot tmux commands (through <see cref="ChildProcess"/>), never by holding a terminal itself.
/// </summary>
public sealed class Terminals(WorkspaceRoots roots, PocketCoderOptions options, Database database, Ledger.LedgerStore ledger,
    ILogger<Terminals> logger)
{
    public const int DefaultCols = 100;
    public const int DefaultRows = 30;
    public const int MaxInputChars = 64 * 1024;

    internal const int MinCols = 20;
    internal const int MaxCols = 500;
    internal const int MinRows = 5;
    internal const int MaxRows = 200;
    internal const string ColsMessage = "'cols' must be between 20 and 500.";
    internal const string RowsMessage = "'rows' must be between 5 and 200.";

    /// <summary>What tmux's send-keys reads as one key: up to three modifiers, then a character or a named key.</summary>
    internal const string KeyNamePattern =
        "(?:[CMS]-){0,3}(?:[A-Za-z0-9]|Enter|Tab|BTab|Escape|Space|BSpace|Up|Down|Left|Right|Home|End|PageUp|PageDown|PPage|NPage|IC|DC|Insert|Delete|F[1-9]|F1[0-2])";
    private static readonly TimeSpan TmuxTimeout = TimeSpan.FromSeconds(10);

    // Inside the shell the server is not "in tmux"; the variable would only make tmux refuse or warn.
    private readonly Dictionary<string, string?> _environment = new(options.TerminalEnvironment, StringComparer.Ordinal)
    {
        ["TMUX"] = null,
        ["TMUX_PANE"] = null,
    };

    /// <summary>
    /// The tmux socket: in the data folder (itself private), unless that path is too long for a Unix socket
    /// (108 bytes). Then it goes in a directory only this user can enter — $XDG_RUNTIME_DIR/pocketcoder, else
    /// /tmp/pocketcoder-UID — checked for owner and mode, because whoever can reach the socket can type into the shell.
    /// </summary>
    public string SocketPath { get; } = SocketFor(options.DataDirectory);

    public static string SocketFor(string dataDirectory)
    {
        var inData = Path.Combine(dataDirectory, "tmux.sock");
        if (Encoding.UTF8.GetByteCount(inData) < 100)
        {
            return inData;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataDirectory)))[..16];
        return Path.Combine(PrivateRuntimeDirectory(), $"tmux-{hash}.sock");
    }

    internal static string PrivateRuntimeDirectory()
    {
        var runtime = System.Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (runtime is { Length: > 0 } && Path.IsPathRooted(runtime)
            && UnixFiles.Stat(runtime) is { IsDirectory: true, Permissions: 0x1C0 } status && status.Owner == UnixFiles.CurrentUser)
        {
            return UnixFiles.EnsurePrivateDirectory(Path.Combine(runtime, "pocketcoder"));
        }

        return UnixFiles.EnsurePrivateDirectory(Path.Combine("/tmp", $"pocketcoder-{UnixFiles.CurrentUser}"));
    }

    /// <summary>The tmux session: one per project, and one per session worktree (<paramref name="session"/>) beside it.</summary>
    public static string SessionName(string projectId, string? session = null) => session is null ? "pc-" + projectId : $"pc-{projectId}-{session}";

    /// <param name="session">A session with a worktree of its own: the shell starts there (see <see cref="WorkspaceRoots"/>).</param>
    public async Task<TerminalResponse> OpenAsync(string projectId, string? session, OpenTerminalRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var cols = request.Cols ?? DefaultCols;
        var rows = request.Rows ?? DefaultRows;
        var name = SessionName(project.Id, session);
        var created = false;
        if (!await ExistsAsync(name, cancellationToken))
        {
            var result = await TmuxAsync(["new-session", "-d", "-s", name, "-x", Text(cols), "-y", Text(rows), "-c", project.Path], cancellationToken);
            if (result.ExitCode != 0 && !await ExistsAsync(name, cancellationToken))
            {
                throw new ApiProblem(StatusCodes.Status502BadGateway, ErrorCodes.TerminalFailed, $"tmux could not start a shell: {result.Stderr.Trim()}");
            }

            created = result.ExitCode == 0;
        }

        database.Write(write => ledger.Append(write, actor.Name, "terminal.opened", project.Id,
            new JsonObject { ["session"] = name, ["created"] = created, ["deviceId"] = actor.Id }));
        return new TerminalResponse(project.Id, name, created, await ScreenAsync(project.Id, session, cancellationToken));
    }

    public async Task<TerminalScreen> ScreenAsync(string projectId, string? session, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var target = Target(project.Id, session);
        // Two tmux commands in one call (";" as its own argument): the geometry and the screen, consistent with each other.
        var result = await TmuxAsync(
            ["display-message", "-p", "-t", target, "#{pane_width} #{pane_height} #{cursor_x} #{cursor_y}", ";", "capture-pane", "-p", "-t", target],
            cancellationToken);
        EnsureOk(result, project.Id);
        var newline = result.Stdout.IndexOf('\n', StringComparison.Ordinal);
        var geometry = (newline < 0 ? result.Stdout : result.Stdout[..newline]).Split(' ');
        var text = newline < 0 ? "" : result.Stdout[(newline + 1)..];
        return new TerminalScreen(project.Id, text, Number(geometry, 0), Number(geometry, 1), Number(geometry, 2), Number(geometry, 3));
    }

    /// <summary>Literal text first (<c>send-keys -l</c>, so nothing in it is read as a key name), then named keys.</summary>
    public async Task SendAsync(string projectId, string? session, TerminalInputRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var keys = request.Keys ?? [];
        if (string.IsNullOrEmpty(request.Text) && keys.Count == 0)
        {
            throw ApiProblem.Validation("Send 'text', 'keys' or both.");
        }

        var target = Target(project.Id, session);
        if (!string.IsNullOrEmpty(request.Text))
        {
            EnsureOk(await TmuxAsync(["send-keys", "-t", target, "-l", "--", request.Text], cancellationToken), project.Id);
        }

        if (keys.Count > 0)
        {
            EnsureOk(await TmuxAsync(["send-keys", "-t", target, "--", .. keys], cancellationToken), project.Id);
        }

        // Who typed into the owner's shell, when and how much, always; the text itself only where the owner asked for it
        // (it may hold passwords typed at a prompt).
        var detail = new JsonObject
        {
            ["deviceId"] = actor.Id,
            ["bytes"] = Encoding.UTF8.GetByteCount(request.Text ?? ""),
            ["keys"] = keys.Count,
        };
        if (options.LedgerTerminalText)
        {
            detail["text"] = request.Text;
            detail["keyNames"] = new JsonArray([.. keys.Select(k => (JsonNode?)k)]);
        }

        database.Write(write => ledger.Append(write, actor.Name, "terminal.input", project.Id, detail));
    }

    public async Task<TerminalScreen> ResizeAsync(string projectId, string? session, TerminalResizeRequest request, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        EnsureOk(await TmuxAsync(["resize-window", "-t", Target(project.Id, session), "-x", Text(request.Cols!.Value), "-y", Text(request.Rows!.Value)],
            cancellationToken), project.Id);
        return await ScreenAsync(project.Id, session, cancellationToken);
    }

    public async Task CloseAsync(string projectId, string? session, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        EnsureOk(await TmuxAsync(["kill-session", "-t", "=" + SessionName(project.Id, session)], cancellationToken), project.Id);
        database.Write(write => ledger.Append(write, actor.Name, "terminal.closed", project.Id,
            new JsonObject { ["session"] = SessionName(project.Id, session), ["deviceId"] = actor.Id }));
    }

    /// <summary>
    /// When a project is removed its shells go too (a removed project has no API to reach them), its worktrees' as well;
    /// with <paramref name="session"/>, only that session's (its worktree was removed: the shell would sit in a deleted folder).
    /// </summary>
    public async Task CloseQuietlyAsync(string projectId, string? session = null)
    {
        var listed = await TmuxAsync(["list-sessions", "-F", "#{session_name}"], CancellationToken.None);
        var names = listed.ExitCode != 0 ? [] : listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(n => session is not null ? n == SessionName(projectId, session) : n == SessionName(projectId) || n.StartsWith(SessionName(projectId) + "-", StringComparison.Ordinal));
        foreach (var name in names)
        {
            if ((await TmuxAsync(["kill-session", "-t", "=" + name], CancellationToken.None)).ExitCode == 0)
            {
                logger.LogInformation("Closed the terminal {Name} of project {ProjectId}", name, projectId);
            }
        }
    }

    /// <summary>Ends this data folder's tmux server and every shell in it; false when none was running.</summary>
    public async Task<bool> EndServerAsync(CancellationToken cancellationToken) =>
        File.Exists(SocketPath) && (await TmuxAsync(["kill-server"], cancellationToken)).ExitCode == 0;

    public async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken) =>
        (await TmuxAsync(["has-session", "-t", "=" + name], cancellationToken)).ExitCode == 0;

    private async Task<ProcessResult> TmuxAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        // -f /dev/null: the server's shells behave the same whatever ~/.tmux.conf says.
        // The first command starts the tmux server, a daemon meant to outlive this call (TerminalServerLifetime ends it with `serve`).
        var spec = new ProcessSpec("tmux", ["-S", SocketPath, "-f", "/dev/null", .. arguments], options.DataDirectory, _environment, StderrLogPath: null,
            StartsDaemon: true, Logger: logger);
        try
        {
            var result = await ChildProcess.RunAsync(spec, 1024 * 1024, TmuxTimeout, cancellationToken);
            return result.TimedOut
                ? throw new ApiProblem(StatusCodes.Status504GatewayTimeout, ErrorCodes.TerminalFailed, "tmux did not answer in time.")
                : result;
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.TerminalFailed, $"tmux is not installed ({exception.Message}).");
        }
    }

    private static void EnsureOk(ProcessResult result, string projectId)
    {
        if (result.ExitCode == 0)
        {
            return;
        }

        var said = result.Stderr.Trim();
        if (said.Contains("can't find", StringComparison.Ordinal) || said.Contains("no server running", StringComparison.Ordinal)
            || said.Contains("error connecting", StringComparison.Ordinal))
        {
            throw ApiProblem.NotFound(ErrorCodes.TerminalNotFound, $"Project {projectId} has no open terminal; open one with POST .../terminal.");
        }

        throw new ApiProblem(StatusCodes.Status502BadGateway, ErrorCodes.TerminalFailed, $"tmux failed: {said}");
    }

    // "=name:" is exactly that session (no prefix or pattern matching), its current window and pane.
    private static string Target(string projectId, string? session) => "=" + SessionName(projectId, session) + ":";

    private static string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int Number(string[] fields, int index) =>
        index < fields.Length && int.TryParse(fields[index], System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;
}
