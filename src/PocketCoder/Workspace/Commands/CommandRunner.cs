using System.Collections.Concurrent;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PocketCoder.Agents.Processes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Workspace.Commands;

public sealed record RunCommandRequest(
    [property: Required(ErrorMessage = "'command' is required.")]
    [property: NoNulText(CommandRunner.MaxCommandLength, ErrorMessage = "'command' must be text of at most 10000 characters.")]
    string? Command,
    [property: Range(1, CommandRunner.MaxTimeoutSeconds, ErrorMessage = "'timeoutSeconds' must be between {1} and {2}.")]
    int? TimeoutSeconds);

public sealed record CommandStarted(string Id, string ProjectId, string Status);

public sealed record CommandResponse(
    string Id,
    string ProjectId,
    string Command,
    string Status,
    int? ExitCode,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    long? DurationMs,
    bool TimedOut,
    bool Cancelled,
    bool Truncated,
    long OutputBytes,
    string? ErrorCode,
    string? OutputTail,
    string StartedBy);

/// <summary>
/// Runs one-shot shell commands (<c>bash -c</c>, the user's own command by design) in a project, each in its
/// own process group: output streamed live and kept up to 300 KB, cancel and timeout stop the whole group,
/// and the run is recorded in SQLite (7 days or 10,000 runs) and in the ledger.
/// </summary>
public sealed class CommandRunner(
    Projects.ProjectStore projects,
    WorkspaceRoots roots,
    Database database,
    Ledger.LedgerStore ledger,
    TimeProvider clock,
    ILogger<CommandRunner> logger) : IHostedService
{
    public const int DefaultTimeoutSeconds = 120;
    public const int MaxTimeoutSeconds = 24 * 60 * 60;
    public const int MaxCommandLength = 10_000;
    public const int HistoryLimit = 10_000;
    public static readonly TimeSpan HistoryAge = TimeSpan.FromDays(7);
    private const int TailChars = 8 * 1024;
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);
    private const string Columns = "id, project_id, command, status, exit_code, started_at, finished_at, duration_ms, timed_out, cancelled, truncated, output_bytes, started_by";

    private static readonly Dictionary<string, string?> Environment = new(StringComparer.Ordinal)
    {
        // No terminal is attached: tools must not wait for a pager or a password prompt.
        ["PAGER"] = "cat",
        ["GIT_PAGER"] = "cat",
        ["GIT_TERMINAL_PROMPT"] = "0",
    };

    private readonly ConcurrentDictionary<string, LiveCommand> _live = new(StringComparer.Ordinal);

    /// <summary>A command ended (exited, cancelled or timed out): notifications listen here.</summary>
    public event Action<CommandRun, CommandExitEvent>? Finished;

    /// <param name="session">Runs in that session's worktree (see <see cref="WorkspaceRoots"/>); null: in the project's folder.</param>
    /// <param name="confine">Wraps the command's process (a goal's check: in the session's sandbox); null runs it as the owner's
    /// own command, as the phone's Run does.</param>
    public CommandStarted Start(string projectId, string? session, RunCommandRequest request, Actor actor, Func<ProcessSpec, ProcessSpec>? confine = null)
    {
        var project = roots.Get(projectId, session);
        var timeoutSeconds = request.TimeoutSeconds ?? DefaultTimeoutSeconds;
        var run = new CommandRun(Guid.NewGuid().ToString("N"), project.Id, request.Command!);
        var now = clock.GetUtcNow();
        database.Write(write =>
        {
            write.Execute(
                "INSERT INTO commands (id, project_id, command, status, started_by, started_at) VALUES ($id, $project, $command, 'running', $by, $at)",
                ("$id", run.Id), ("$project", project.Id), ("$command", run.Command), ("$by", actor.Name), ("$at", now.ToDb()));
            write.Execute(
                "DELETE FROM commands WHERE status <> 'running' AND (started_at < $cutoff OR id NOT IN (SELECT id FROM commands ORDER BY started_at DESC LIMIT $limit))",
                ("$cutoff", (now - HistoryAge).ToDb()), ("$limit", HistoryLimit));
            ledger.Append(write, actor.Name, "command.run", project.Id, new JsonObject
            {
                ["commandId"] = run.Id,
                ["command"] = run.Command,
                ["timeoutSeconds"] = timeoutSeconds,
                ["sessionId"] = session,
                ["deviceId"] = actor.Id,
            });
        });

        var live = new LiveCommand(run);
        _live[run.Id] = live;
        var plain = new ProcessSpec("bash", ["-c", run.Command], project.Path, Environment, StderrLogPath: null, Logger: logger);
        var spec = confine?.Invoke(plain) ?? plain;
        try
        {
            live.Process = ChildProcess.StartStreaming(spec, chunk =>
            {
                run.Append(chunk.Stream == OutputStream.Stdout ? "stdout" : "stderr", chunk.Text);
                return Task.CompletedTask;
            });
        }
        catch (Exception exception) when (exception is Win32Exception or InvalidOperationException)
        {
            run.Append("stderr", $"[pocketcoder] could not start bash: {exception.Message}\n");
            Complete(live, new CommandExitEvent(null, 0, false, false, false, "failed", null));
            return new CommandStarted(run.Id, project.Id, "failed");
        }

        live.Supervision = Task.Run(() => SuperviseAsync(live, TimeSpan.FromSeconds(timeoutSeconds)));
        return new CommandStarted(run.Id, project.Id, "running");
    }

    /// <summary>The live run, if it is still going; finished runs are read from the database.</summary>
    public CommandRun? Live(string id) => _live.TryGetValue(id, out var live) ? live.Run : null;

    public CommandResponse Get(string id) =>
        database.Read(connection => connection.Query($"SELECT {Columns}, output FROM commands WHERE id = $id", r => Map(r, withTail: true), ("$id", id))
            .FirstOrDefault()) is { } stored
            ? WithLiveTail(stored)
            : throw ApiProblem.NotFound(ErrorCodes.CommandNotFound, $"No command with id '{id}'.");

    public IReadOnlyList<CommandResponse> History(string projectId, int limit)
    {
        var project = projects.Get(projectId);
        return database.Read(connection => connection.Query(
            $"SELECT {Columns} FROM commands WHERE project_id = $project ORDER BY started_at DESC LIMIT $limit",
            r => Map(r, withTail: false), ("$project", project.Id), ("$limit", limit)));
    }

    /// <summary>A finished run's chunks and exit, as stored.</summary>
    public (IReadOnlyList<CommandChunk> Chunks, CommandExitEvent Exit) Stored(string id)
    {
        var (run, output) = database.Read(connection => connection.Query($"SELECT {Columns}, output FROM commands WHERE id = $id",
            r => (Map(r, withTail: false), r.GetString(13)), ("$id", id)).FirstOrDefault());
        if (run is null)
        {
            throw ApiProblem.NotFound(ErrorCodes.CommandNotFound, $"No command with id '{id}'.");
        }

        return (ParseChunks(output), new CommandExitEvent(run.ExitCode, run.DurationMs ?? 0, run.TimedOut, run.Cancelled, run.Truncated, run.Status,
            run.ErrorCode));
    }

    public async Task CancelAsync(string id, Actor actor, CancellationToken cancellationToken)
    {
        if (!_live.TryGetValue(id, out var live))
        {
            var stored = Get(id);
            throw ApiProblem.Conflict(ErrorCodes.CommandNotRunning, $"Command {id} is not running (it is {stored.Status}).");
        }

        live.Run.CancelRequested = true;
        database.Write(write => ledger.Append(write, actor.Name, "command.cancelled", live.Run.ProjectId,
            new JsonObject { ["commandId"] = id, ["deviceId"] = actor.Id }));
        if (live.Process is { } process)
        {
            await process.StopAsync(StopGrace, cancellationToken);
        }
    }

    /// <summary>Stops every running command (a lockdown: whoever started one may no longer be who the owner thinks).</summary>
    /// <returns>How many were running.</returns>
    public async Task<int> CancelAllAsync(Actor actor, CancellationToken cancellationToken)
    {
        var running = _live.Keys.ToList();
        foreach (var id in running)
        {
            try
            {
                await CancelAsync(id, actor, cancellationToken);
            }
            catch (ApiProblem problem) when (problem.Code == ErrorCodes.CommandNotRunning)
            {
                // It ended on its own meanwhile.
            }
        }

        return running.Count;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Runs the last server left going were stopped with it (their group went with the server or was orphaned).
        database.Write(write => write.Execute(
            "UPDATE commands SET status = 'interrupted', finished_at = $at WHERE status = 'running'", ("$at", clock.GetUtcNow().ToDb())));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var running = _live.Values.ToList();
        foreach (var live in running)
        {
            live.Run.CancelRequested = true;
        }

        await Task.WhenAll(running.Select(async live =>
        {
            if (live.Process is { } process)
            {
                await process.StopAsync(StopGrace, CancellationToken.None);
            }

            if (live.Supervision is { } supervision)
            {
                await supervision;
            }
        }));
    }

    private async Task SuperviseAsync(LiveCommand live, TimeSpan timeout)
    {
        var process = live.Process!;
        var watch = Stopwatch.StartNew();
        var timedOut = false;
        int exitCode;
        try
        {
            exitCode = await process.Exited.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            timedOut = true;
            await process.StopAsync(StopGrace);
            exitCode = await process.Exited;
        }

        watch.Stop();
        var cancelled = live.Run.CancelRequested && !timedOut;
        var status = timedOut ? "timed_out" : cancelled ? "cancelled" : "exited";
        Complete(live, new CommandExitEvent(exitCode, watch.ElapsedMilliseconds, timedOut, cancelled, live.Run.Truncated, status,
            timedOut ? ErrorCodes.CommandTimeout : null));
        await process.DisposeAsync();
    }

    private void Complete(LiveCommand live, CommandExitEvent exit)
    {
        var run = live.Run;
        var chunks = run.Snapshot();
        var output = new JsonArray([.. chunks.Select(c => (JsonNode)new JsonObject { ["stream"] = c.Stream, ["text"] = c.Text })]);
        var kept = chunks.Sum(c => (long)System.Text.Encoding.UTF8.GetByteCount(c.Text));
        try
        {
            database.Write(write => write.Execute(
                """
                UPDATE commands SET status = $status, exit_code = $exit, finished_at = $at, duration_ms = $duration, timed_out = $timedOut,
                    cancelled = $cancelled, truncated = $truncated, output_bytes = $bytes, output = $output WHERE id = $id
                """,
                ("$status", exit.Status), ("$exit", exit.ExitCode), ("$at", clock.GetUtcNow().ToDb()), ("$duration", exit.DurationMs),
                ("$timedOut", exit.TimedOut ? 1 : 0), ("$cancelled", exit.Cancelled ? 1 : 0), ("$truncated", exit.Truncated ? 1 : 0),
                ("$bytes", kept + run.DroppedBytes), ("$output", output.ToJsonString()), ("$id", run.Id)));
        }
        catch (SqliteException exception)
        {
            // The project was removed while its command ran (the row went with it); the live stream still ends properly.
            logger.LogWarning(exception, "Could not record the end of command {CommandId}", run.Id);
        }

        // Told before the run's own stream ends, so whoever sees the end also sees its notification decided.
        Finished?.Invoke(run, exit);
        run.Finish(exit);
        _live.TryRemove(run.Id, out _);
    }

    private CommandResponse WithLiveTail(CommandResponse stored)
    {
        if (Live(stored.Id) is not { } run)
        {
            return stored;
        }

        var text = string.Concat(run.Snapshot().Select(c => c.Text));
        return stored with { OutputTail = Tail(text), Truncated = run.Truncated };
    }

    private static CommandResponse Map(SqliteDataReader r, bool withTail)
    {
        var timedOut = r.GetInt64(8) == 1;
        return new CommandResponse(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetInt32(4),
            r.Time(5), r.NullableTime(6), r.IsDBNull(7) ? null : r.GetInt64(7), timedOut, r.GetInt64(9) == 1, r.GetInt64(10) == 1,
            r.GetInt64(11), timedOut ? ErrorCodes.CommandTimeout : null,
            withTail ? Tail(string.Concat(ParseChunks(r.GetString(13)).Select(c => c.Text))) : null, r.GetString(12));
    }

    private static List<CommandChunk> ParseChunks(string output) => JsonNode.Parse(output) is JsonArray array
        ? [.. array.Select((node, i) => new CommandChunk(i + 1, (string?)node?["stream"] ?? "stdout", (string?)node?["text"] ?? ""))]
        : [];

    private static string Tail(string text) => text.Length > TailChars ? text[^TailChars..] : text;

    private sealed class LiveCommand(CommandRun run)
    {
        public CommandRun Run { get; } = run;

        public ChildProcess? Process { get; set; }

        public Task? Supervision { get; set; }
    }
}
