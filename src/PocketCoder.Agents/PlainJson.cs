using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PocketCoder.Agents;

/// <summary>
/// Strings, lists of strings and raw JSON written as JSON by build-time generated code, not by reflection (the native
/// binary has none): a TOML value, a list of names kept in a database column, a tool call's input shown as typed.
/// </summary>
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IEnumerable<string>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class PlainJson : JsonSerializerContext
{
    /// <summary>
    /// Letters, <c>+</c> and <c>&lt;</c> as themselves, not as <c>\u…</c> escapes: JSON a person reads, and JSON strings
    /// TOML takes as its own (a <c>\u</c> escape of a surrogate pair is valid JSON, not valid TOML).
    /// </summary>
    public static PlainJson Readable { get; } = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
