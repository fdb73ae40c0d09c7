using System.Text.Json;

namespace FakeLlm;

/// <summary>
/// Reading Gemini requests: <c>contents</c> of <c>{role: user|model, parts:[{text}|{functionCall}|{functionResponse}]}</c>,
/// tools as <c>tools[].functionDeclarations[].name</c>, the model in the path.
/// </summary>
public sealed partial record RecordedRequest
{
    /// <summary>True for a Gemini API request (<c>/v1beta/models/MODEL:METHOD</c>).</summary>
    public bool IsGemini => Path.StartsWith("/v1beta/models/", StringComparison.Ordinal);

    private string? GeminiModel
    {
        get
        {
            var rest = Path["/v1beta/models/".Length..];
            var end = rest.IndexOfAny([':', '?']);
            return end < 0 ? rest : rest[..end];
        }
    }

    internal static IReadOnlyList<string> GeminiToolNames(JsonElement body) =>
        body.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array
            ? [.. tools.EnumerateArray()
                .Where(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("functionDeclarations", out var d) && d.ValueKind == JsonValueKind.Array)
                .SelectMany(t => t.GetProperty("functionDeclarations").EnumerateArray())
                .Select(f => f.ValueKind == JsonValueKind.Object && f.TryGetProperty("name", out var n) ? n.GetString() : null)
                .OfType<string>()]
            : [];

    private IReadOnlyList<JsonElement> GeminiLastUserParts()
    {
        if (!Body.TryGetProperty("contents", out var contents) || contents.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var last = contents.EnumerateArray()
            .LastOrDefault(c => c.ValueKind == JsonValueKind.Object && c.TryGetProperty("role", out var r) && r.GetString() == "user");
        return last.ValueKind == JsonValueKind.Object && last.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array
            ? [.. parts.EnumerateArray()]
            : [];
    }

    private string GeminiLastUserText() =>
        string.Join('\n', GeminiLastUserParts()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out _)
                && !(p.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True))
            .Select(p => p.GetProperty("text").GetString() ?? ""));

    /// <summary>
    /// A <c>functionResponse</c> carries <c>{name, id?, response:{output}|{error}}</c>; Gemini CLI puts a refused or
    /// failed call's reason in <c>error</c>. The id is Gemini CLI's own call id, else the function name.
    /// </summary>
    private List<ToolResult> GeminiLastToolResults() =>
        [.. GeminiLastUserParts()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("functionResponse", out var r) && r.ValueKind == JsonValueKind.Object)
            .Select(p =>
            {
                var result = p.GetProperty("functionResponse");
                var id = Text(result, "id") ?? Text(result, "name") ?? "";
                var response = result.TryGetProperty("response", out var r) ? r : default;
                var error = response.ValueKind == JsonValueKind.Object && response.TryGetProperty("error", out var e) ? e : default;
                var content = error.ValueKind != JsonValueKind.Undefined
                    ? (error.ValueKind == JsonValueKind.String ? error.GetString() ?? "" : error.GetRawText())
                    : response.ValueKind == JsonValueKind.Object && response.TryGetProperty("output", out var o)
                        ? (o.ValueKind == JsonValueKind.String ? o.GetString() ?? "" : o.GetRawText())
                        : response.ValueKind == JsonValueKind.Undefined ? "" : response.GetRawText();
                return new ToolResult(id, content, error.ValueKind != JsonValueKind.Undefined);
            })];

    private static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
