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
}
