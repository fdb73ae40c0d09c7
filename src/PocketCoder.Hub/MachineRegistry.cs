using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace PocketCoder.Hub;

/// <summary>
/// The machines a hub serves: a name (its subdomain) and the hash of the token it joins with. Tokens are shown once
/// when issued and stored only as SHA-256: a copy of the database lets nobody join as a machine.
/// </summary>
public sealed partial class MachineRegistry
{
    private readonly string _connectionString;

    public MachineRegistry(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, "hub.db");
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path }.ToString();
        using var connection = Open();
        Execute(connection, "CREATE TABLE IF NOT EXISTS machines (name TEXT PRIMARY KEY, token_hash BLOB NOT NULL, created_at TEXT NOT NULL)");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
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

        var token = $"{name}.{Base64Url(RandomNumberGenerator.GetBytes(32))}";
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO machines (name, token_hash, created_at) VALUES ($name, $hash, $at)
            ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at
            """;
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$hash", Hash(token));
        command.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
        command.ExecuteNonQuery();
        return token;
    }

    public bool Remove(string name)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM machines WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        return command.ExecuteNonQuery() > 0;
    }

    public IReadOnlyList<string> Names()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM machines ORDER BY name";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>The machine a token belongs to, or null. The name is read from the token, the hash compared in constant time.</summary>
    public string? Authenticate(string? token)
    {
        if (token is not { Length: > 0 and < 200 } || token.IndexOf('.', StringComparison.Ordinal) is not (> 0 and var dot))
        {
            return null;
        }

        var name = token[..dot];
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT token_hash FROM machines WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        return command.ExecuteScalar() is byte[] stored && CryptographicOperations.FixedTimeEquals(stored, Hash(token)) ? name : null;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
