using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents;

/// <summary>
/// An MCP server's elicitation form (<c>elicitation/create</c> in form mode, a flat object of fields) as questions for the
/// owner, and the owner's answers back as the content the server asked for. Each field is one question: a choice
/// (<c>enum</c>, <c>oneOf</c> of consts, a boolean) offers its options; text and numbers take the owner's own words. A form
/// with any other field (a multi-select, a nested object) or in URL mode cannot be shown, and is declined.
/// </summary>
public static class McpForm
{
    private const string Yes = "Yes";
    private const string No = "No";

    /// <summary>The form as a question, or null when it cannot be shown.</summary>
    public static PermissionRequest? Questions(JsonElement parameters)
    {
        if ((Text(parameters, "mode") ?? "form") != "form" || Fields(parameters) is not { } fields)
        {
            return null;
        }

        var message = Text(parameters, "message") ?? "A form from an MCP server";
        var server = Text(parameters, "serverName");
        // Without a field to fill in the server only wants a yes.
        IReadOnlyList<QuestionCard> questions = fields.Count == 0
            ? [new QuestionCard(message, "Confirm", [new QuestionOption("OK", "Send the form")], false)]
            : [.. fields.Select(field => new QuestionCard(fields.Count == 1 ? message : $"{message} — {field.Title}", field.Title,
                [.. field.Options.Select(o => new QuestionOption(o.Label, o.Value == o.Label ? null : o.Value))], false))];
        return AgentQuestions.Request(Text(parameters, "turnId") ?? "", $"mcp__{server ?? "server"}__form", new QuestionCards(questions, server, message));
    }

    /// <summary>
    /// The content for the server from the owner's answers (one per field: an option, or their own words — not both), or
    /// null when an answer does not fit its field.
    /// </summary>
    public static JsonObject? Content(JsonElement parameters, IReadOnlyList<OwnerAnswer>? answers)
    {
        var fields = Fields(parameters);
        if (fields is null || answers is null || answers.Count != Math.Max(fields.Count, 1))
        {
            return null;
        }

        var content = new JsonObject();
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            var answer = answers[i] switch
            {
                { Selected.Count: 1, Other: null } chosen => chosen.Selected[0],
                { Selected.Count: 0, Other: { } own } => own,
                _ => null,
            };
            if (answer is null)
            {
                return null;
            }

            JsonNode? value = field.Type switch
            {
                "boolean" => answer == Yes ? true : answer == No ? false : null,
                // NaN and infinities are numbers to .NET but not to JSON: declined, never a reply that cannot be written.
                "number" => double.TryParse(answer, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number) ? number : null,
                "integer" => long.TryParse(answer, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole) ? whole : null,
                _ when field.Options.Count > 0 => field.Options.FirstOrDefault(o => o.Label == answer)?.Value,
                _ => answer,
            };
            if (value is null)
            {
                return null;
            }

            content[field.Name] = value;
        }

        return content;
    }

    private sealed record Option(string Label, string Value);

    private sealed record Field(string Name, string Title, string Type, IReadOnlyList<Option> Options);

    /// <summary>The form's fields in order, or null when one of them cannot be shown as a question.</summary>
    private static List<Field>? Fields(JsonElement parameters)
    {
        if (!parameters.TryGetProperty("requestedSchema", out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var fields = new List<Field>();
        if (!schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return fields;
        }

        foreach (var property in properties.EnumerateObject())
        {
            var field = property.Value;
            if (field.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var title = Text(field, "title") ?? property.Name;
            if (Text(field, "description") is { Length: > 0 } description)
            {
                title = $"{title} ({description})";
            }

            var type = Text(field, "type") ?? "string";
            List<Option> options = [];
            if (field.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array)
            {
                var names = field.TryGetProperty("enumNames", out var given) && given.ValueKind == JsonValueKind.Array ? given.EnumerateArray().ToList() : [];
                options = [.. values.EnumerateArray().Select((v, i) => v.ValueKind == JsonValueKind.String
                    ? new Option(i < names.Count && names[i].ValueKind == JsonValueKind.String ? names[i].GetString()! : v.GetString()!, v.GetString()!)
                    : null).OfType<Option>()];
            }
            else if (field.TryGetProperty("oneOf", out var consts) && consts.ValueKind == JsonValueKind.Array)
            {
                options = [.. consts.EnumerateArray().Where(c => Text(c, "const") is not null).Select(c => new Option(Text(c, "title") ?? Text(c, "const")!, Text(c, "const")!))];
            }
            else if (type == "boolean")
            {
                options = [new Option(Yes, Yes), new Option(No, No)];
            }
            else if (type is not ("string" or "number" or "integer"))
            {
                return null; // A multi-select (array) or anything nested: not something one question can ask.
            }

            if (options.Select(o => o.Label).Distinct(StringComparer.Ordinal).Count() != options.Count)
            {
                return null;
            }

            fields.Add(new Field(property.Name, title, type, options));
        }

        return fields;
    }
}
