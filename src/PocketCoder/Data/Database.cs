using System.Reflection;
using Microsoft.Data.Sqlite;

namespace PocketCoder.Data;

/// <summary>
/// The embedded SQLite store. Reads open pooled connections; every write goes through <see cref="Write{T}"/>,
/// which serializes writers in this process, runs the work in one transaction, and then runs the work's
/// after-commit actions (event fan-out) in commit order while still holding the lock.
/// </summary>
public sealed class Database : IDisposable
{
    public const string FileName = "pocketcoder.db";

    private readonly string _connectionString;
    private readonly Lock _writeLock = new();
    private SqliteConnection? _writer;

    public Database(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        DataDirectory = dataDirectory;
        FilePath = Path.Combine(dataDirectory, FileName);
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

    public string FilePath { get; }

    /// <summary>Opens a connection with the PRAGMAs every connection needs (they are per connection in SQLite).</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // busy_timeout lets a second process (the `pocketcoder pair` CLI) write while the server runs.
        connection.Execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
        return connection;
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
            _writer ??= Open();
            using var transaction = _writer.BeginTransaction();
            var write = new DbWrite(_writer, transaction);
            var result = work(write);
            transaction.Commit();
            write.RunAfterCommit();
            return result;
        }
    }

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
        lock (_writeLock)
        {
            _writer?.Dispose();
            _writer = null;
        }

        SqliteConnection.ClearAllPools();
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
public sealed class DbWrite(SqliteConnection connection, SqliteTransaction transaction)
{
    private List<Action>? _afterCommit;

    public SqliteConnection Connection { get; } = connection;

    public SqliteTransaction Transaction { get; } = transaction;

    public int Execute(string sql, params (string Name, object? Value)[] parameters) =>
        Connection.Execute(sql, Transaction, parameters);

    public T? Scalar<T>(string sql, params (string Name, object? Value)[] parameters) =>
        Connection.Scalar<T>(sql, Transaction, parameters);

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] parameters) =>
        Connection.Query(sql, map, Transaction, parameters);

    /// <summary>Runs once the transaction has committed, before the next writer starts.</summary>
    public void AfterCommit(Action action) => (_afterCommit ??= []).Add(action);

    internal void RunAfterCommit()
    {
        if (_afterCommit is null)
        {
            return;
        }

        foreach (var action in _afterCommit)
        {
            action();
        }
    }
}
