using System.Text.Json;

namespace PocketCoder.Agents;

/// <summary>Reading the fields of agents' JSON messages, where any field may be missing or of another type.</summary>
internal static class JsonFields
{
    /// <summary>The string at <paramref name="property"/>, or null when the element is no object or the field no string.</summary>
    public static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>Whether <paramref name="property"/> is <c>true</c> (false when the element is no object or the field anything else).</summary>
    public static bool IsTrue(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>Whether a line of a JSON-lines file is one JSON object (anything else is not copied into the owner's files).</summary>
    public static bool IsObjectLine(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The whole number at <paramref name="property"/>, or 0 when the element is no object or the field no such number.</summary>
    public static long Number(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number
        && value.TryGetInt64(out var n) ? n : 0;
}
