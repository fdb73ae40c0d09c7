using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace PocketCoder.Data;

/// <summary>
/// The embedded SQLite store. Reads open pooled connections; every write goes through <see cref="Write{T}"/>,
/// which serializes writers in this process, runs the work in one transaction, and then runs the work's
/// after-commit actions (event fan-out) in commit order while still holding the lock.
/// <para>
/// High-rate writes whose caller needs no answer (agent events) go through <see cref="Enqueue"/> instead:
/// a flusher commits everything queued in one transaction (group commit) and then runs the after-commit
/// actions, so nothing is published before it is durable. Every <see cref="Write{T}"/> first commits what
/// is queued, so the order of all writes is the order they were asked for.
/// </para>
/// </summary>
public sealed class Database : IDisposable
{
    public const string FileName = "pocketcoder.db";

    private readonly string _connectionString;
    /// <summary>Past this many queued writes, the caller commits them itself: the queue cannot grow without bound.</summary>
    public const int MaxQueued = 4096;

    /// <summary>The most queued writes one transaction takes, so one commit never holds the lock for long.</summary>
    private const int MaxBatch = 1024;

    private readonly Lock _writeLock = new();
    private readonly ConcurrentQueue<Action<DbWrite>> _queued = new();
    private readonly SemaphoreSlim _flushSignal = new(0);
    private readonly CancellationTokenSource _closing = new();
    private int _queuedCount;
    private int _uncheckpointed;
    private Task? _flusher;
    private Task? _checkpointer;
    private SqliteConnection? _writer;
    private StatementCache? _statements;

    public Database(string dataDirectory)
    {
        // Every entry point (serve, pair, ledger verify, the approval verbs) opens the database: the one place to keep
        // the folder private. SQLite gives its -wal and -shm files the database file's own mode, so 0600 spreads.
        PermissionFixes = DataFolder.Secure(dataDirectory);
        DataDirectory = dataDirectory;
        FilePath = Path.Combine(dataDirectory, FileName);
        DataFolder.CreatePrivateFile(FilePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string DataDirectory { get; }

    /// <summary>What had to be narrowed to make the data folder private when it was opened (reported at start).</summary>
    public IReadOnlyList<string> PermissionFixes { get; }

    public string FilePath { get; }

    /// <summary>
    /// Opens a connection with the PRAGMAs every connection needs. They are per connection in SQLite, and a closed
    /// <see cref="SqliteConnection"/> goes back to the pool with its native connection and their settings: so they run once
    /// per native connection, not at every open (three statements prepared and run, ~1 KB of garbage, for each of the two or
    /// three reads of every authenticated request).
    /// </summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        if (connection.Handle is { } native && !Configured.TryGetValue(native, out _))
        {
            // busy_timeout lets a second process (the `pocketcoder pair` CLI) write while the server runs.
            connection.Execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
            Configured.AddOrUpdate(native, Configured);
        }

        return connection;
    }

    /// <summary>The native connections given their PRAGMAs; an entry goes with its connection when the pool closes it.</summary>
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();

    /// <summary>The version of the SQLite library this process runs (the native binary's is linked in at build time).</summary>
    public static string SqliteVersion()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        return connection.Scalar<string>("SELECT sqlite_version();") ?? "unknown";
    }

    /// <summary>Applies the numbered scripts in Data/Migrations that this database has not seen yet.</summary>
    public void Migrate()
    {
        using var connection = Open();
        // WAL is persistent in the file: readers never block the writer, and a crash loses no committed row.
        connection.Execute("PRAGMA journal_mode = WAL;");
        var applied = connection.Scalar<long>("PRAGMA user_version;");
        var assembly = typeof(Database).Assembly;
        var scripts = assembly.GetManifestResourceNames()
            .Where(name => name.Contains(".Data.Migrations.", StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name => (Name: name, Number: MigrationNumber(name)))
            .OrderBy(script => script.Number);
        foreach (var (name, number) in scripts)
        {
            if (number <= applied)
            {
                continue;
            }

            using var transaction = connection.BeginTransaction();
            connection.Execute(ReadResource(assembly, name), transaction);
            connection.Execute($"PRAGMA user_version = {number};", transaction);
            transaction.Commit();
        }
    }

    /// <summary>Runs <paramref name="work"/> in a transaction as the only writer of this process.</summary>
    public T Write<T>(Func<DbWrite, T> work)
    {
        lock (_writeLock)
        {
            // What was queued before this call commits before it: writes keep the order they were asked in.
            CommitQueued();
            var result = default(T)!;
            Commit([write => result = work(write)]);
            return result;
        }
    }

    /// <summary>
    /// Queues a write to be committed with others in one transaction, soon. Its after-commit actions run
    /// only once it is committed. For writes nobody waits on; a failing one is dropped alone (and reported
    /// through <see cref="OnQueuedWriteFailed"/>), never the batch it rode in.
    /// </summary>
    public void Enqueue(Action<DbWrite> work)
    {
        _queued.Enqueue(work);
        if (Interlocked.Increment(ref _queuedCount) >= MaxQueued)
        {
            // Backpressure: a producer faster than the disk pays for its own commits.
            Flush();
            return;
        }

        if (_flusher is null)
        {
            lock (_writeLock)
            {
                _flusher ??= Task.Run(FlushLoopAsync);
            }
        }

        _flushSignal.Release();
    }

    /// <summary>Commits everything queued so far, now.</summary>
    public void Flush()
    {
        lock (_writeLock)
        {
            CommitQueued();
        }
    }

    /// <summary>Invoked with any queued write that failed (it is dropped; the others commit).</summary>
    public Action<Exception>? OnQueuedWriteFailed { get; set; }

    public void Write(Action<DbWrite> work) => Write(write =>
    {
        work(write);
        return true;
    });

    public T Read<T>(Func<SqliteConnection, T> query)
    {
        using var connection = Open();
        return query(connection);
    }

    public void Dispose()
    {
        _closing.Cancel();
        try
        {
            _flusher?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation; what it left is committed below.
        }

        lock (_writeLock)
        {
            CommitQueued();
            _statements?.Dispose();
            _writer?.Dispose();
            _writer = null;
        }

        try
        {
            _checkpointer?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // As the flusher's; the last connection's close checkpoints what is left.
        }

        _flushSignal.Dispose();
        _closing.Dispose();

        SqliteConnection.ClearAllPools();
    }

    /// <summary>The one connection writes go through (under the write lock), with its prepared statements.</summary>
    private SqliteConnection Writer()
    {
        if (_writer is null)
        {
            _writer = Open();
            // Commits leave checkpoints to CheckpointLoop; this is only the backstop should it fall far behind.
            // Under steady writes the WAL starts over only after the backstop's checkpoint; the file is then cut back to 16 MB.
            _writer.Execute($"PRAGMA wal_autocheckpoint = {BackstopCheckpointPages}; PRAGMA journal_size_limit = {16 << 20};");
            _statements = new StatementCache(_writer);
            if (!_closing.IsCancellationRequested)
            {
                // A thread of its own: a checkpoint's sync can block for 100 ms or more, and on a 2-core machine a pool thread
                // blocked that long is half the threads the event streams' sends run on.
                _checkpointer ??= Task.Factory.StartNew(CheckpointLoop, CancellationToken.None, TaskCreationOptions.LongRunning,
                    TaskScheduler.Default);
            }
        }

        return _writer;
    }

    /// <summary>How often committed pages are copied from the WAL into the database file, off the commit path.</summary>
    public static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    /// <summary>SQLite's own checkpoint in the commit, 40 MB of WAL in: only if the loop below could not keep up.</summary>
    private const int BackstopCheckpointPages = 10_000;

    /// <summary>
    /// Checkpoints, once a second when anything was committed, on a connection of their own. SQLite's automatic checkpoint
    /// runs inside the commit that crosses its threshold (1,000 pages) and syncs the database file there, under the write
    /// lock: on a slow disk that sync held the commit, and with it the fan-out of every event queued behind it, for 40–170 ms
    /// (docs/performance.md, "Fan-out again"). A passive checkpoint here blocks neither the writer nor readers; what it
    /// leaves (frames a reader still needs) is taken at the next.
    /// </summary>
    private void CheckpointLoop()
    {
        var closing = _closing.Token;
        while (!closing.WaitHandle.WaitOne(CheckpointEvery))
        {
            if (Interlocked.Exchange(ref _uncheckpointed, 0) == 0)
            {
                continue;
            }

            if (!CheckpointOnce())
            {
                // Busy (another process checkpointing), or frames a reader still needs: the next tick takes the rest.
                Volatile.Write(ref _uncheckpointed, 1);
            }
        }

        // Closing: the last connection's close checkpoints what is left.
    }

    /// <summary>One passive checkpoint; whether it copied every frame of the WAL.</summary>
    private bool CheckpointOnce()
    {
        try
        {
            using var connection = Open();
            // One row: busy (another checkpoint ran), the WAL's frames, the frames now in the database file.
            var (busy, frames, copied) = connection.Query("PRAGMA wal_checkpoint(PASSIVE);",
                row => (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2))).Single();
            return busy == 0 && copied >= frames;
        }
        catch (Exception exception) when (exception is SqliteException or IOException or InvalidOperationException)
        {
            // Locked by another process (the CLI), or the folder gone: the loop goes on, and the writer's backstop holds.
            return false;
        }
    }

    private async Task FlushLoopAsync()
    {
        try
        {
            while (true)
            {
                await _flushSignal.WaitAsync(_closing.Token).ConfigureAwait(false);
                // Everything that arrived meanwhile rides in the same transaction; the extra signals are spent idle.
                Flush();
            }
        }
        catch (OperationCanceledException)
        {
            // Closing: Dispose commits what is left.
        }
    }

    /// <summary>Under the write lock: commits every queued write, in batches, in order.</summary>
    private void CommitQueued()
    {
        while (!_queued.IsEmpty)
        {
            var batch = new List<Action<DbWrite>>(Math.Min(Volatile.Read(ref _queuedCount), MaxBatch));
            while (batch.Count < MaxBatch && _queued.TryDequeue(out var work))
            {
                batch.Add(work);
            }

            Interlocked.Add(ref _queuedCount, -batch.Count);
            try
            {
                Commit(batch);
            }
            catch (Exception exception) when (exception is SqliteException or InvalidOperationException)
            {
                // One bad write (an event for a session deleted meanwhile) must not take the others with it:
                // the batch rolled back, so commit them one by one, dropping only the bad one.
                foreach (var work in batch)
                {
                    try
                    {
                        Commit([work]);
                    }
                    catch (Exception single) when (single is SqliteException or InvalidOperationException)
                    {
                        OnQueuedWriteFailed?.Invoke(single);
                    }
                }
            }
        }
    }

    private void Commit(List<Action<DbWrite>> batch)
    {
        var writer = Writer();
        using var transaction = writer.BeginTransaction();
        var write = new DbWrite(transaction, _statements!);
        foreach (var work in batch)
        {
            work(write);
        }

        transaction.Commit();
        Volatile.Write(ref _uncheckpointed, 1);
        write.RunAfterCommit();
    }

    private static int MigrationNumber(string resourceName)
    {
        // Resource names end in "...Data.Migrations.001_initial.sql".
        var file = resourceName[(resourceName.IndexOf(".Data.Migrations.", StringComparison.Ordinal) + ".Data.Migrations.".Length)..];
        var digits = new string([.. file.TakeWhile(char.IsAsciiDigit)]);
        return int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>The connection and transaction of one <see cref="Database.Write{T}"/> call.</summary>
public sealed class DbWrite(SqliteTransaction transaction, StatementCache statements)
{
    private List<Action>? _afterCommit;

    public int Execute(string sql, params (string Name, object? Value)[] parameters) =>
        statements.Bind(sql, transaction, parameters).ExecuteNonQuery();

    public T? Scalar<T>(string sql, params (string Name, object? Value)[] parameters) =>
        SqliteExtensions.Convert<T>(statements.Bind(sql, transaction, parameters).ExecuteScalar());

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] parameters) =>
        statements.Bind(sql, transaction, parameters).MapRows(map);

    /// <summary>Runs once the transaction has committed, before the next writer starts.</summary>
    public void AfterCommit(Action action) => (_afterCommit ??= []).Add(action);

    internal void RunAfterCommit() => _afterCommit?.ForEach(action => action());
}

/// <summary>
/// Prepared statements of the writer connection, kept across transactions: the SQL of a write is constant text,
/// and preparing it again for every event cost as much as running it. Used only under the write lock.
/// </summary>
public sealed class StatementCache(SqliteConnection connection) : IDisposable
{
    private const int MaxStatements = 256;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteCommand Bind(string sql, SqliteTransaction transaction, (string Name, object? Value)[] parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            if (_commands.Count < MaxStatements)
            {
                _commands[sql] = command;
            }
        }

        command.Transaction = transaction;
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}
