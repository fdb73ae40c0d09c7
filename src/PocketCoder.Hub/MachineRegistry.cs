using System.Data;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace PocketCoder.Hub;

/// <summary>
/// The machines a hub serves: a name (its subdomain) and the hash of the token it joins with. Tokens are shown once
/// when issued and stored only as SHA-256: a copy of the database lets nobody join as a machine. One hub keeps them in
/// SQLite in its data folder; hub instances that share a PostgreSQL database (see <see cref="HubCluster"/>) keep them there.
/// </summary>
public sealed partial class MachineRegistry
{
    private readonly Func<DbConnection> _open;

    /// <summary>The registry of a hub on its own: <c>hub.db</c> in its data folder, readable by its owner only.</summary>
    public MachineRegistry(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, "hub.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path }.ToString();
        _open = () => new SqliteConnection(connectionString);
        Execute(CreateTable("BLOB"));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>The registry hub instances share, in PostgreSQL.</summary>
    public MachineRegistry(NpgsqlDataSource database)
    {
        _open = database.CreateConnection;
        Execute(HubCluster.Serialized(CreateTable("BYTEA")));
    }

    /// <summary>A DNS label: what can stand before the hub's domain.</summary>
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")]
    public static partial Regex MachineName();

    /// <summary>Adds a machine (or replaces its token) and returns the token, which is not kept.</summary>
    public string Issue(string name)
    {
        if (!MachineName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a machine name: 1 to 32 lower-case letters, digits or inner hyphens.", nameof(name));
        }

        var token = $"{name}.{System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32))}";
        Execute("""
            INSERT INTO machines (name, token_hash, created_at) VALUES (@name, @hash, @at)
            ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at
            """, ("name", name), ("hash", Hash(token)), ("at", DateTimeOffset.UtcNow.ToString("O")));
        return token;
    }

    public bool Remove(string name) => Execute("DELETE FROM machines WHERE name = @name", ("name", name)) > 0;

    public IReadOnlyList<string> Names()
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT name FROM machines ORDER BY name");
        using var reader = command.ExecuteReader();
        return [.. reader.Cast<IDataRecord>().Select(row => row.GetString(0))];
    }

    /// <summary>The machine a token belongs to, or null. The name is read from the token, the hash compared in constant time.</summary>
    public string? Authenticate(string? token)
    {
        if (token is not { Length: > 0 and < 200 } || token.IndexOf('.', StringComparison.Ordinal) is not (> 0 and var dot))
        {
            return null;
        }

        using var connection = Open();
        using var command = Command(connection, "SELECT token_hash FROM machines WHERE name = @name", ("name", token[..dot]));
        return command.ExecuteScalar() is byte[] stored && CryptographicOperations.FixedTimeEquals(stored, Hash(token)) ? token[..dot] : null;
    }

    private static string CreateTable(string bytesType) =>
        $"CREATE TABLE IF NOT EXISTS machines (name TEXT PRIMARY KEY, token_hash {bytesType} NOT NULL, created_at TEXT NOT NULL)";

    private int Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var command = Command(connection, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private DbConnection Open()
    {
        var connection = _open();
        connection.Open();
        return connection;
    }

    private static DbCommand Command(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>What is stored of a token (and what a machine's link is remembered by).</summary>
    internal static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
